/**
 * Comparison rules on the guestbook Deployment from the example repository against the live
 * object as a v1.34 API server returns it (defaults, status, managedFields filled in).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "yaml";
import { diffAll, diffObject, normalizeLive, parseQuantity, redactSecret } from "../../shared/diff/index.js";
import type { KubeObject } from "../../shared/model.js";
import { exampleFiles } from "../support/fixture.js";

const desired = parse(exampleFiles("guestbook").find((f) => f.path.endsWith("deployment.yaml"))!.content) as KubeObject;
const image = (desired as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image;

/** What the API server returns for `desired` applied in namespace `default`. */
function liveOf(): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "guestbook-ui",
      namespace: "default",
      uid: "5c3b0c9e-8f6a-4a51-9a52-2f1f0c6d7e11",
      resourceVersion: "1234",
      generation: 1,
      creationTimestamp: "2026-11-23T10:00:00Z",
      annotations: { "deployment.kubernetes.io/revision": "1", "kubectl.kubernetes.io/last-applied-configuration": "{}" },
      managedFields: [{ manager: "kubectl", operation: "Update", apiVersion: "apps/v1", fieldsType: "FieldsV1", fieldsV1: {} }],
    },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 3,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: "guestbook-ui" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      template: {
        metadata: { labels: { app: "guestbook-ui" } },
        spec: {
          containers: [
            { name: "guestbook-ui", image, imagePullPolicy: "IfNotPresent", ports: [{ containerPort: 80, protocol: "TCP" }], resources: {}, terminationMessagePath: "/dev/termination-log", terminationMessagePolicy: "File" },
          ],
          dnsPolicy: "ClusterFirst",
          restartPolicy: "Always",
          schedulerName: "default-scheduler",
          securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
    },
    status: { observedGeneration: 1, replicas: 1, availableReplicas: 1 },
  };
}

type Spec = { spec: { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: { containers: Record<string, unknown>[] } } } };
const edit = (f: (o: KubeObject & Spec) => void): KubeObject => {
  const o = liveOf() as KubeObject & Spec;
  f(o);
  return o;
};

test("the applied Deployment with API-server defaults, status and managedFields is Synced", () => {
  const d = diffObject({ ...desired, metadata: { ...desired.metadata, namespace: "default" } }, liveOf());
  assert.equal(d.state, "Synced", JSON.stringify(d.changes));
});

test("real edits are Modified at exactly their paths", () => {
  const ns = { ...desired, metadata: { ...desired.metadata, namespace: "default" } };
  const cases: [string, (o: KubeObject & Spec) => void, string[]][] = [
    ["image", (o) => (o.spec.template.spec.containers[0]!.image = "nginx:edited"), ["spec.template.spec.containers[name=guestbook-ui].image"]],
    ["replicas", (o) => (o.spec.replicas = 3), ["spec.replicas"]],
    ["a label", (o) => (o.spec.template.metadata.labels.app = "other"), ["spec.template.metadata.labels.app"]],
    ["a removed port", (o) => (o.spec.template.spec.containers[0]!.ports = []), ["spec.template.spec.containers[name=guestbook-ui].ports[containerPort=80,protocol=TCP]"]],
  ];
  for (const [what, f, paths] of cases) {
    const d = diffObject(ns, edit(f));
    assert.equal(d.state, "Modified", what);
    assert.deepEqual(d.changes.map((c) => c.path), paths, what);
  }
  const img = diffObject(ns, edit((o) => (o.spec.template.spec.containers[0]!.image = "nginx:edited")));
  assert.deepEqual(img.changes[0], { path: "spec.template.spec.containers[name=guestbook-ui].image", desired: image, live: "nginx:edited" });
});

test("containers are matched by name, not position", () => {
  const two = (o: KubeObject) => {
    const s = o as KubeObject & Spec;
    s.spec.template.spec.containers.push({ name: "sidecar", image: "busybox" });
    return s;
  };
  const d = two({ ...structuredClone(desired), metadata: { ...desired.metadata, namespace: "default" } });
  const l = two(liveOf()) as KubeObject & Spec;
  l.spec.template.spec.containers.reverse();
  assert.equal(diffObject(d, l).state, "Synced");
});

test("quantities compare by value; env vars by name; labels with dots and slashes are quoted in paths", () => {
  const d: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", labels: { "app.kubernetes.io/name": "web" } }, spec: { containers: [{ name: "c", resources: { limits: { cpu: "0.5", memory: "1Gi" } }, env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] }] } };
  const l: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", labels: { "app.kubernetes.io/name": "api" } }, spec: { containers: [{ name: "c", resources: { limits: { cpu: "500m", memory: "1073741824" } }, env: [{ name: "B", value: "2" }, { name: "A", value: "changed" }] }] } };
  const r = diffObject(d, l);
  assert.deepEqual(r.changes.map((c) => c.path), ['metadata.labels["app.kubernetes.io/name"]', "spec.containers[name=c].env[name=A].value"]);
  assert.equal(parseQuantity("1Gi"), 1073741824);
  assert.equal(parseQuantity("500m"), 0.5);
  assert.equal(parseQuantity("1e3"), 1000);
  assert.equal(parseQuantity("banana"), undefined);
});

test("Secrets: stringData matches base64 data; a changed value shows only digests", () => {
  const d: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "default" }, stringData: { password: "hunter2" } };
  const live = (v: string): KubeObject => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "default", annotations: { "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({ stringData: { password: v } }) } }, data: { password: Buffer.from(v).toString("base64") }, type: "Opaque" });
  assert.equal(diffObject(d, live("hunter2")).state, "Synced");
  const changed = diffObject(d, live("correct horse"));
  assert.equal(changed.state, "Modified");
  assert.equal(changed.changes[0]!.path, "data.password");
  assert.match(String(changed.changes[0]!.desired), /^sha256:[0-9a-f]{64}$/);
  const text = JSON.stringify(changed);
  assert.ok(!text.includes("hunter2") && !text.includes("correct horse") && !text.includes(Buffer.from("correct horse").toString("base64")), "no Secret value in the result");
  const stored = JSON.stringify(redactSecret(live("correct horse")));
  assert.ok(!stored.includes("correct horse") && !stored.includes(Buffer.from("correct horse").toString("base64")), "no Secret value in a redacted object");
});

test("Missing, Extra only when owned, results sorted by key", () => {
  const a: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "n" }, data: { k: "v" } };
  const owned: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "old", namespace: "n", annotations: { mine: "yes" } } };
  const foreign: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kube-root-ca.crt", namespace: "n" } };
  const r = diffAll([a], [owned, foreign], { isOwned: (o) => o.metadata.annotations?.mine === "yes" });
  assert.deepEqual(r.map((x) => `${x.key}=${x.state}`), ["/ConfigMap/n/a=Missing", "/ConfigMap/n/old=Extra"]);
});

test("normalizeLive drops server-populated metadata and status", () => {
  const n = normalizeLive(liveOf());
  assert.equal(n.status, undefined);
  assert.deepEqual(Object.keys(n.metadata).sort(), ["annotations", "name", "namespace"]);
  assert.deepEqual(n.metadata.annotations, {});
});
