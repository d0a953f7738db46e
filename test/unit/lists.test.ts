/**
 * List semantics from the schema (the built-in schema generated from the test bed's v1.34 API
 * server, CRD schemas), zero values, hooks and the Extra rules of Argo CD's annotations.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { diffAll, diffObject, redactSecret } from "../../shared/diff/index.js";
import { objectRole, splitHooks } from "../../shared/sync/annotations.js";
import { BUILTIN_SCHEMA, fromCrd, schemasFor, Schemas } from "../../shared/schema/index.js";
import type { KubeObject } from "../../shared/model.js";

const copy = <T>(o: T): T => structuredClone(o);

/** The usual way to mount several files of one ConfigMap: one volume, two mounts with subPath. */
const TWO_MOUNTS: KubeObject = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default" },
  spec: {
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        containers: [
          {
            name: "app",
            image: "nginx:1.27",
            args: ["--port", "80", "--verbose"],
            ports: [{ containerPort: 80 }, { containerPort: 53, protocol: "UDP" }],
            volumeMounts: [
              { name: "conf", mountPath: "/etc/a.conf", subPath: "a.conf" },
              { name: "conf", mountPath: "/etc/b.conf", subPath: "b.conf" },
            ],
          },
        ],
        volumes: [{ name: "conf", configMap: { name: "conf" } }],
      },
    },
  },
};

type Spec = { template: { spec: { containers: { args: string[]; volumeMounts: { subPath: string }[]; ports: unknown[] }[] } } };
const container = (o: KubeObject) => (o.spec as Spec).template.spec.containers[0]!;

describe("lists follow the schema's list type", () => {
  test("the built-in schema is the generated one, with volumeMounts keyed by mountPath", () => {
    assert.match(BUILTIN_SCHEMA.kubernetesVersion, /^v1\.34\./);
    const s = new Schemas([BUILTIN_SCHEMA]);
    const podSpec = s.child(s.child(s.child(s.kindType("apps/v1", "Deployment"), "spec"), "template"), "spec");
    const c = s.itemsOf(s.child(podSpec, "containers"));
    assert.equal(s.child(c, "volumeMounts")?.listType, "map");
    assert.deepEqual(s.child(c, "volumeMounts")?.keys, ["mountPath"]);
    assert.deepEqual(s.child(c, "ports")?.keys, ["containerPort", "protocol"]);
    assert.equal(s.child(c, "ports")?.keyDefaults?.protocol, "TCP");
  });

  test("one ConfigMap mounted at two paths is in sync with itself, in any order", () => {
    assert.deepEqual(diffObject(TWO_MOUNTS, copy(TWO_MOUNTS)).changes, []);
    const reordered = copy(TWO_MOUNTS);
    container(reordered).volumeMounts.reverse();
    assert.equal(diffObject(TWO_MOUNTS, reordered).state, "Synced");
  });

  test("a changed subPath is reported at the mount's key, once", () => {
    const live = copy(TWO_MOUNTS);
    container(live).volumeMounts[1]!.subPath = "other.conf";
    assert.deepEqual(diffObject(TWO_MOUNTS, live).changes, [{ path: "spec.template.spec.containers[name=app].volumeMounts[mountPath=/etc/b.conf].subPath", desired: "b.conf", live: "other.conf" }]);
  });

  test("an atomic list (container args) reordered live is drift, by position", () => {
    const live = copy(TWO_MOUNTS);
    container(live).args = ["--verbose", "--port", "80"];
    assert.deepEqual(
      diffObject(TWO_MOUNTS, live).changes.map((c) => c.path),
      ["[0]", "[1]", "[2]"].map((i) => `spec.template.spec.containers[name=app].args${i}`),
    );
    const shorter = copy(TWO_MOUNTS);
    container(shorter).args = ["--port", "80"];
    assert.deepEqual(
      diffObject(TWO_MOUNTS, shorter).changes.map((c) => c.path),
      ["spec.template.spec.containers[name=app].args"],
    );
  });

  test("a container port edited live is one path: the desired port's key", () => {
    const live = copy(TWO_MOUNTS);
    container(live).ports = [
      { containerPort: 8080, protocol: "TCP" },
      { containerPort: 53, protocol: "UDP" },
    ];
    assert.deepEqual(diffObject(TWO_MOUNTS, live).changes, [{ path: "spec.template.spec.containers[name=app].ports[containerPort=80,protocol=TCP]", desired: { containerPort: 80 } }]);
  });
});

const CRD: KubeObject = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    names: { kind: "Widget", plural: "widgets" },
    scope: "Namespaced",
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                properties: {
                  tags: { type: "array", items: { type: "string" }, "x-kubernetes-list-type": "set" },
                  steps: { type: "array", items: { type: "string" } },
                  slots: {
                    type: "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["zone", "index"],
                    items: { type: "object", properties: { zone: { type: "string" }, index: { type: "integer" }, size: { type: "integer" } } },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};
const WIDGET: KubeObject = {
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name: "w", namespace: "default" },
  spec: {
    tags: ["a", "b", "c"],
    steps: ["build", "test"],
    slots: [
      { zone: "a", index: 1, size: 3 },
      { zone: "b", index: 1, size: 4 },
    ],
  },
};

describe("custom resources follow their CRD's schema", () => {
  const schemas = schemasFor([], [CRD]);
  const live = (f: (spec: { tags: string[]; steps: string[]; slots: { size: number }[] }) => void) => {
    const l = copy(WIDGET);
    f(l.spec as never);
    return l;
  };

  test("fromCrd reads list types and keys (sorted) from openAPIV3Schema", () => {
    const set = fromCrd(CRD);
    assert.deepEqual(Object.keys(set.kinds), ["example.com/v1/Widget"]);
    const s = new Schemas([BUILTIN_SCHEMA, set]);
    const spec = s.child(s.kindType("example.com/v1", "Widget"), "spec");
    assert.equal(s.child(spec, "tags")?.listType, "set");
    assert.equal(s.child(spec, "steps"), undefined, "an untyped list is atomic: nothing to record");
    assert.deepEqual(s.child(spec, "slots")?.keys, ["index", "zone"]);
  });

  test("a set reordered live is not drift; a member gone is, at its value", () => {
    assert.equal(
      diffObject(
        WIDGET,
        live((s) => s.tags.reverse()),
        schemas,
      ).state,
      "Synced",
    );
    assert.deepEqual(
      diffObject(
        WIDGET,
        live((s) => (s.tags = ["c", "a"])),
        schemas,
      ).changes,
      [{ path: 'spec.tags[value="b"]', desired: "b" }],
    );
  });

  test("an atomic list reordered live is drift; a map list reordered is not", () => {
    assert.deepEqual(
      diffObject(
        WIDGET,
        live((s) => s.steps.reverse()),
        schemas,
      ).changes.map((c) => c.path),
      ["spec.steps[0]", "spec.steps[1]"],
    );
    assert.equal(
      diffObject(
        WIDGET,
        live((s) => s.slots.reverse()),
        schemas,
      ).state,
      "Synced",
    );
    assert.deepEqual(
      diffObject(
        WIDGET,
        live((s) => (s.slots[1]!.size = 5)),
        schemas,
      ).changes.map((c) => c.path),
      ["spec.slots[index=1,zone=b].size"],
    );
  });

  test("without its CRD, every list of a custom resource is atomic", () => {
    assert.deepEqual(
      diffObject(
        WIDGET,
        live((s) => s.tags.reverse()),
      ).changes.map((c) => c.path),
      ["spec.tags[0]", "spec.tags[2]"],
    );
  });
});

describe("zero values and Secrets", () => {
  test("fields Git sets to a zero value that the server omits are not drift, at any depth", () => {
    const desired = copy(TWO_MOUNTS);
    const pod = (desired.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    pod.hostIPC = false;
    pod.securityContext = { runAsNonRoot: false, sysctls: [] };
    Object.assign((pod.containers as Record<string, unknown>[])[0]!, { readinessProbe: { httpGet: { path: "/", port: 80 }, initialDelaySeconds: 0 }, workingDir: "" });
    const live = copy(TWO_MOUNTS);
    Object.assign(container(live), { readinessProbe: { httpGet: { path: "/", port: 80 } } });
    assert.deepEqual(diffObject(desired, live).changes, []);
    container(live).volumeMounts[0]!.subPath = "x";
    assert.deepEqual(
      diffObject(desired, live).changes.map((c) => c.path),
      ["spec.template.spec.containers[name=app].volumeMounts[mountPath=/etc/a.conf].subPath"],
    );
  });

  test("a non-zero value against an absent field is drift", () => {
    const desired = copy(TWO_MOUNTS);
    (desired.spec as Record<string, unknown>).minReadySeconds = 5;
    assert.deepEqual(diffObject(desired, copy(TWO_MOUNTS)).changes, [{ path: "spec.minReadySeconds", desired: 5 }]);
  });

  test('a Secret data value "" and null are equal', () => {
    const secret = (v: unknown): KubeObject => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "default" }, data: { empty: v } });
    assert.equal(diffObject(secret(""), secret(null)).state, "Synced");
    assert.equal(diffObject(secret(null), secret("")).state, "Synced");
    assert.deepEqual(redactSecret(secret(null)).data, redactSecret(secret("")).data);
    assert.equal(diffObject(secret(""), secret("eA==")).state, "Modified");
  });
});

describe("hooks and Argo CD's compare and sync options", () => {
  const obj = (annotations: Record<string, string>, name = "o"): KubeObject => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: "default", annotations } });

  test("hook roles follow Argo CD's mapping of Helm hooks", () => {
    const cases: [Record<string, string>, unknown][] = [
      [{}, { role: "resource" }],
      [{ "helm.sh/hook": "pre-install,pre-upgrade" }, { role: "hook", phases: ["PreSync"] }],
      [{ "helm.sh/hook": "post-install" }, { role: "hook", phases: ["PostSync"] }],
      [{ "helm.sh/hook": "crd-install" }, { role: "resource" }],
      [{ "helm.sh/hook": "test" }, { role: "dropped" }],
      [{ "helm.sh/hook": "test-success" }, { role: "dropped" }],
      [{ "helm.sh/hook": "pre-rollback" }, { role: "dropped" }],
      [{ "argocd.argoproj.io/hook": "PreSync,SyncFail" }, { role: "hook", phases: ["PreSync", "SyncFail"] }],
      [{ "argocd.argoproj.io/hook": "Skip" }, { role: "skip" }],
      [
        { "argocd.argoproj.io/hook": "PostSync", "helm.sh/hook": "pre-install" },
        { role: "hook", phases: ["PostSync"] },
      ],
    ];
    for (const [annotations, want] of cases) assert.deepEqual(objectRole(obj(annotations)), want, JSON.stringify(annotations));
  });

  test("splitHooks keeps hooks and Skip objects apart and drops test hooks", () => {
    const all = [obj({}, "a"), obj({ "helm.sh/hook": "pre-install" }, "b"), obj({ "helm.sh/hook": "test" }, "c"), obj({ "argocd.argoproj.io/hook": "Skip" }, "d")].map((object) => ({ object }));
    const { resources, hooks } = splitHooks(all);
    assert.deepEqual(
      resources.map((r) => r.object.metadata.name),
      ["a"],
    );
    assert.deepEqual(
      hooks.map((r) => r.object.metadata.name),
      ["b", "d"],
    );
  });

  test("a live hook is never Extra; IgnoreExtraneous is not reported; Prune=false is Extra, flagged", () => {
    const tracked = (a: Record<string, string>, name: string) => obj({ "converge.dev/tracking-id": `c1:${name}`, ...a }, name);
    const live = [
      tracked({ "helm.sh/hook": "pre-install" }, "hook"),
      tracked({ "argocd.argoproj.io/compare-options": "IgnoreExtraneous" }, "ignored"),
      tracked({ "argocd.argoproj.io/sync-options": "Prune=false" }, "kept"),
      tracked({}, "gone"),
    ];
    const drift = diffAll([], live, { isOwned: () => true });
    assert.deepEqual(
      drift.map((d) => [d.name, d.state, d.pruneSkipped ?? false]),
      [
        ["gone", "Extra", false],
        ["kept", "Extra", true],
      ],
    );
  });
});
