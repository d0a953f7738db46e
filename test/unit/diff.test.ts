/**
 * The comparison rules on real data: the guestbook Deployment of the example repository
 * against the object a v1.34.4 API server returned for it (defaults, status, managedFields
 * filled in), and quantities / Secrets as that server stored them.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { diffAll, diffObject, normalizeDesired, normalizeLive, parseQuantity, quantitiesEqual, redactSecret } from "../../shared/diff/index.js";
import { renderDirectory } from "../../shared/render/directory.js";
import type { KubeObject } from "../../shared/model.js";

/** `kubectl get deployment guestbook-ui -o json --show-managed-fields` after `kubectl apply -n default -f guestbook/guestbook-ui-deployment.yaml` (v1.34.4 API server, kwok nodes). */
const LIVE_DEPLOYMENT: KubeObject = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    annotations: {
      "deployment.kubernetes.io/revision": "1",
      "kubectl.kubernetes.io/last-applied-configuration":
        '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"name":"guestbook-ui","namespace":"default"},"spec":{"replicas":1,"revisionHistoryLimit":3,"selector":{"matchLabels":{"app":"guestbook-ui"}},"template":{"metadata":{"labels":{"app":"guestbook-ui"}},"spec":{"containers":[{"image":"gcr.io/google-samples/gb-frontend:v5","name":"guestbook-ui","ports":[{"containerPort":80}]}]}}}}\n',
    },
    creationTimestamp: "2026-11-23T01:52:21Z",
    generation: 1,
    managedFields: [
      {
        apiVersion: "apps/v1",
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:metadata": {
            "f:annotations": {
              "f:deployment.kubernetes.io/revision": {},
            },
          },
          "f:status": {
            "f:availableReplicas": {},
            "f:conditions": {
              ".": {},
              'k:{"type":"Available"}': {
                ".": {},
                "f:lastTransitionTime": {},
                "f:lastUpdateTime": {},
                "f:message": {},
                "f:reason": {},
                "f:status": {},
                "f:type": {},
              },
              'k:{"type":"Progressing"}': {
                ".": {},
                "f:lastTransitionTime": {},
                "f:lastUpdateTime": {},
                "f:message": {},
                "f:reason": {},
                "f:status": {},
                "f:type": {},
              },
            },
            "f:observedGeneration": {},
            "f:readyReplicas": {},
            "f:replicas": {},
            "f:updatedReplicas": {},
          },
        },
        manager: "kube-controller-manager",
        operation: "Update",
        subresource: "status",
        time: "2026-11-23T01:52:21Z",
      },
      {
        apiVersion: "apps/v1",
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:metadata": {
            "f:annotations": {
              ".": {},
              "f:kubectl.kubernetes.io/last-applied-configuration": {},
            },
          },
          "f:spec": {
            "f:progressDeadlineSeconds": {},
            "f:replicas": {},
            "f:revisionHistoryLimit": {},
            "f:selector": {},
            "f:strategy": {
              "f:rollingUpdate": {
                ".": {},
                "f:maxSurge": {},
                "f:maxUnavailable": {},
              },
              "f:type": {},
            },
            "f:template": {
              "f:metadata": {
                "f:labels": {
                  ".": {},
                  "f:app": {},
                },
              },
              "f:spec": {
                "f:containers": {
                  'k:{"name":"guestbook-ui"}': {
                    ".": {},
                    "f:image": {},
                    "f:imagePullPolicy": {},
                    "f:name": {},
                    "f:ports": {
                      ".": {},
                      'k:{"containerPort":80,"protocol":"TCP"}': {
                        ".": {},
                        "f:containerPort": {},
                        "f:protocol": {},
                      },
                    },
                    "f:resources": {},
                    "f:terminationMessagePath": {},
                    "f:terminationMessagePolicy": {},
                  },
                },
                "f:dnsPolicy": {},
                "f:restartPolicy": {},
                "f:schedulerName": {},
                "f:securityContext": {},
                "f:terminationGracePeriodSeconds": {},
              },
            },
          },
        },
        manager: "kubectl-client-side-apply",
        operation: "Update",
        time: "2026-11-23T01:52:21Z",
      },
    ],
    name: "guestbook-ui",
    namespace: "default",
    resourceVersion: "248",
    uid: "d076505d-f93f-4eb1-af00-06d57025ae5e",
  },
  spec: {
    progressDeadlineSeconds: 600,
    replicas: 1,
    revisionHistoryLimit: 3,
    selector: {
      matchLabels: {
        app: "guestbook-ui",
      },
    },
    strategy: {
      rollingUpdate: {
        maxSurge: "25%",
        maxUnavailable: "25%",
      },
      type: "RollingUpdate",
    },
    template: {
      metadata: {
        labels: {
          app: "guestbook-ui",
        },
      },
      spec: {
        containers: [
          {
            image: "gcr.io/google-samples/gb-frontend:v5",
            imagePullPolicy: "IfNotPresent",
            name: "guestbook-ui",
            ports: [
              {
                containerPort: 80,
                protocol: "TCP",
              },
            ],
            resources: {},
            terminationMessagePath: "/dev/termination-log",
            terminationMessagePolicy: "File",
          },
        ],
        dnsPolicy: "ClusterFirst",
        restartPolicy: "Always",
        schedulerName: "default-scheduler",
        securityContext: {},
        terminationGracePeriodSeconds: 30,
      },
    },
  },
  status: {
    availableReplicas: 1,
    conditions: [
      {
        lastTransitionTime: "2026-11-23T01:52:21Z",
        lastUpdateTime: "2026-11-23T01:52:21Z",
        message: "Deployment has minimum availability.",
        reason: "MinimumReplicasAvailable",
        status: "True",
        type: "Available",
      },
      {
        lastTransitionTime: "2026-11-23T01:52:21Z",
        lastUpdateTime: "2026-11-23T01:52:21Z",
        message: 'ReplicaSet "guestbook-ui-84774bdc6f" has successfully progressed.',
        reason: "NewReplicaSetAvailable",
        status: "True",
        type: "Progressing",
      },
    ],
    observedGeneration: 1,
    readyReplicas: 1,
    replicas: 1,
    updatedReplicas: 1,
  },
};

/** A Pod applied with `cpu: 0.5`, `ephemeral-storage: 0.9Gi`, `cpu: "0.30000000000000004"`, `ephemeral-storage: 100n`, read back from the same API server. */
const LIVE_POD: KubeObject = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    annotations: {
      "kubectl.kubernetes.io/last-applied-configuration":
        '{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"q","namespace":"default"},"spec":{"containers":[{"image":"nginx","name":"c","resources":{"limits":{"cpu":0.5,"ephemeral-storage":"0.9Gi","memory":"1Gi"},"requests":{"cpu":"0.30000000000000004","ephemeral-storage":"100n","memory":"1073741824"}}}]}}\n',
    },
    creationTimestamp: "2026-11-23T01:52:21Z",
    generation: 1,
    name: "q",
    namespace: "default",
    resourceVersion: "252",
    uid: "19caf943-51cb-444e-93bf-b509e7253f42",
  },
  spec: {
    containers: [
      {
        image: "nginx",
        imagePullPolicy: "Always",
        name: "c",
        resources: {
          limits: {
            cpu: "500m",
            "ephemeral-storage": "966367641600m",
            memory: "1Gi",
          },
          requests: {
            cpu: "301m",
            "ephemeral-storage": "1m",
            memory: "1073741824",
          },
        },
        terminationMessagePath: "/dev/termination-log",
        terminationMessagePolicy: "File",
        volumeMounts: [
          {
            mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
            name: "kube-api-access-vkstz",
            readOnly: true,
          },
        ],
      },
    ],
    dnsPolicy: "ClusterFirst",
    enableServiceLinks: true,
    preemptionPolicy: "PreemptLowerPriority",
    priority: 0,
    restartPolicy: "Always",
    schedulerName: "default-scheduler",
    securityContext: {},
    serviceAccount: "default",
    serviceAccountName: "default",
    terminationGracePeriodSeconds: 30,
    tolerations: [
      {
        effect: "NoExecute",
        key: "node.kubernetes.io/not-ready",
        operator: "Exists",
        tolerationSeconds: 300,
      },
      {
        effect: "NoExecute",
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        tolerationSeconds: 300,
      },
    ],
    volumes: [
      {
        name: "kube-api-access-vkstz",
        projected: {
          defaultMode: 420,
          sources: [
            {
              serviceAccountToken: {
                expirationSeconds: 3607,
                path: "token",
              },
            },
            {
              configMap: {
                items: [
                  {
                    key: "ca.crt",
                    path: "ca.crt",
                  },
                ],
                name: "kube-root-ca.crt",
              },
            },
            {
              downwardAPI: {
                items: [
                  {
                    fieldRef: {
                      apiVersion: "v1",
                      fieldPath: "metadata.namespace",
                    },
                    path: "namespace",
                  },
                ],
              },
            },
          ],
        },
      },
    ],
  },
  status: {
    conditions: [
      {
        lastProbeTime: null,
        lastTransitionTime: "2026-11-23T01:52:21Z",
        message: "0/2 nodes are available: 2 Insufficient ephemeral-storage. no new claims to deallocate, preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
        observedGeneration: 1,
        reason: "Unschedulable",
        status: "False",
        type: "PodScheduled",
      },
    ],
    phase: "Pending",
    qosClass: "Burstable",
  },
};

/** A ResourceQuota applied with `pods: 10`, `requests.cpu: 1.5`, `requests.memory: 1e9`, `limits.memory: 1.5Gi`, read back. */
const LIVE_QUOTA: KubeObject = {
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: {
    annotations: {
      "kubectl.kubernetes.io/last-applied-configuration":
        '{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"annotations":{},"name":"rq","namespace":"quota"},"spec":{"hard":{"limits.memory":"1.5Gi","pods":10,"requests.cpu":1.5,"requests.memory":1000000000}}}\n',
    },
    creationTimestamp: "2026-11-23T01:52:22Z",
    name: "rq",
    namespace: "quota",
    resourceVersion: "255",
    uid: "7a30fcc7-1387-449f-adf9-7d244b43b054",
  },
  spec: {
    hard: {
      "limits.memory": "1536Mi",
      pods: "10",
      "requests.cpu": "1500m",
      "requests.memory": "1G",
    },
  },
  status: {
    hard: {
      "limits.memory": "1536Mi",
      pods: "10",
      "requests.cpu": "1500m",
      "requests.memory": "1G",
    },
    used: {
      "limits.memory": "0",
      pods: "0",
      "requests.cpu": "0",
      "requests.memory": "0",
    },
  },
};

/** A Secret applied with `stringData: {password: hunter2}`, read back. */
const LIVE_SECRET: KubeObject = {
  apiVersion: "v1",
  data: {
    password: "aHVudGVyMg==",
  },
  kind: "Secret",
  metadata: {
    annotations: {
      "kubectl.kubernetes.io/last-applied-configuration": '{"apiVersion":"v1","kind":"Secret","metadata":{"annotations":{},"name":"db","namespace":"default"},"stringData":{"password":"hunter2"}}\n',
    },
    creationTimestamp: "2026-11-23T01:52:21Z",
    name: "db",
    namespace: "default",
    resourceVersion: "249",
    uid: "c1ca5efd-26f9-4533-911f-8e557053de43",
  },
  type: "Opaque",
};

/** The example repository bundle: ../shared/fixtures beside the project, or `$CONVERGE_FIXTURES_DIR` (as tools/testbed). */
const BUNDLE = join(process.env.CONVERGE_FIXTURES_DIR ?? join(fileURLToPath(import.meta.url), "..", "..", "..", "..", "shared", "fixtures"), "argocd-example-apps.bundle");

/** A deep copy to edit. */
const copy = <T>(o: T): T => structuredClone(o);
type Container = { name: string; image?: string; env?: { name: string; value?: string }[]; ports?: { containerPort: number; protocol?: string }[] };
type DeploymentShape = KubeObject & { spec: { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } } } };
const containersOf = (o: KubeObject) => (o as DeploymentShape).spec.template.spec.containers;

let desired: KubeObject; // guestbook-ui as in Git, placed in `default`

before(() => {
  const dir = mkdtempSync(join(tmpdir(), "converge-diff-test-"));
  try {
    execFileSync("git", ["clone", "-q", BUNDLE, dir]);
    const file = "guestbook/guestbook-ui-deployment.yaml";
    const { objects } = renderDirectory([{ path: file, content: readFileSync(join(dir, file), "utf8") }], { path: "guestbook" });
    assert.equal(objects.length, 1);
    desired = normalizeDesired(objects[0]!.object, "default");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("the guestbook Deployment against the API server's object", () => {
  test("as applied, with defaults, status, managedFields and kubectl's annotations: Synced", () => {
    const d = diffObject(desired, LIVE_DEPLOYMENT);
    assert.deepEqual(d, { key: "apps/Deployment/default/guestbook-ui", apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name: "guestbook-ui", state: "Synced", changes: [] });
  });

  const edits: [string, (live: DeploymentShape) => void, { path: string; desired?: unknown; live?: unknown }[]][] = [
    [
      "image changed",
      (l) => (l.spec.template.spec.containers[0]!.image = "gcr.io/google-samples/gb-frontend:v6"),
      [{ path: "spec.template.spec.containers[name=guestbook-ui].image", desired: "gcr.io/google-samples/gb-frontend:v5", live: "gcr.io/google-samples/gb-frontend:v6" }],
    ],
    ["replicas changed", (l) => (l.spec.replicas = 3), [{ path: "spec.replicas", desired: 1, live: 3 }]],
    ["a pod label changed", (l) => (l.spec.template.metadata.labels.app = "other"), [{ path: "spec.template.metadata.labels.app", desired: "guestbook-ui", live: "other" }]],
    [
      "the port removed live",
      (l) => (l.spec.template.spec.containers[0]!.ports = []),
      [{ path: "spec.template.spec.containers[name=guestbook-ui].ports[containerPort=80,protocol=TCP]", desired: { containerPort: 80 } }],
    ],
    [
      "the container removed live",
      (l) => (l.spec.template.spec.containers = []),
      [{ path: "spec.template.spec.containers[name=guestbook-ui]", desired: { image: "gcr.io/google-samples/gb-frontend:v5", name: "guestbook-ui", ports: [{ containerPort: 80 }] } }],
    ],
  ];
  for (const [what, edit, changes] of edits) {
    test(`${what}: Modified at exactly that path`, () => {
      const live = copy(LIVE_DEPLOYMENT) as DeploymentShape;
      edit(live);
      const d = diffObject(desired, live);
      assert.equal(d.state, "Modified");
      assert.deepEqual(d.changes, changes);
    });
  }

  test("an env var changed is reported by variable name, whatever the order", () => {
    const withEnv = (o: KubeObject, env: { name: string; value: string }[]) => {
      const c = copy(o);
      containersOf(c)[0]!.env = env;
      return c;
    };
    const d = withEnv(desired, [
      { name: "GET_HOSTS_FROM", value: "dns" },
      { name: "TIER", value: "frontend" },
    ]);
    assert.equal(
      diffObject(
        d,
        withEnv(LIVE_DEPLOYMENT, [
          { name: "TIER", value: "frontend" },
          { name: "GET_HOSTS_FROM", value: "dns" },
        ]),
      ).state,
      "Synced",
    );
    const r = diffObject(
      d,
      withEnv(LIVE_DEPLOYMENT, [
        { name: "GET_HOSTS_FROM", value: "env" },
        { name: "TIER", value: "frontend" },
      ]),
    );
    assert.deepEqual(r.changes, [{ path: "spec.template.spec.containers[name=guestbook-ui].env[name=GET_HOSTS_FROM].value", desired: "dns", live: "env" }]);
  });

  test("containers in another order live: still Synced", () => {
    const sidecar = { name: "sidecar", image: "busybox:1.36" };
    const d = copy(desired);
    containersOf(d).push(sidecar);
    const live = copy(LIVE_DEPLOYMENT);
    containersOf(live).unshift({ ...sidecar, imagePullPolicy: "IfNotPresent" } as Container);
    assert.equal(containersOf(live)[0]!.name, "sidecar");
    assert.equal(diffObject(d, live).state, "Synced");
  });

  test("a label with dots and slashes is quoted in the path; a label missing live is reported alone; changes sorted by path", () => {
    const d = copy(desired);
    d.metadata.labels = { "app.kubernetes.io/name": "guestbook", team: "web" };
    const live = copy(LIVE_DEPLOYMENT);
    live.metadata.labels = { "app.kubernetes.io/name": "guestbook-old" };
    assert.deepEqual(diffObject(d, live).changes, [
      { path: "metadata.labels.team", desired: "web" },
      { path: 'metadata.labels["app.kubernetes.io/name"]', desired: "guestbook", live: "guestbook-old" },
    ]);
  });

  test("null in Git requires the field to be absent; empty maps and lists in Git are not drift against absence", () => {
    const d = copy(desired) as DeploymentShape & { spec: Record<string, unknown> };
    d.spec.minReadySeconds = null;
    d.spec.paused = null;
    (d.spec.template.spec as Record<string, unknown>).tolerations = [];
    (d.spec.template.spec as Record<string, unknown>).nodeSelector = {};
    const live = copy(LIVE_DEPLOYMENT) as DeploymentShape & { spec: Record<string, unknown> };
    assert.equal(diffObject(d, live).state, "Synced");
    live.spec.minReadySeconds = 5;
    assert.deepEqual(diffObject(d, live).changes, [{ path: "spec.minReadySeconds", desired: null, live: 5 }]);
  });
});

describe("quantities", () => {
  test("parseQuantity: every suffix, exponents, numbers, rounding up to milli as the API server does", () => {
    const cases: [unknown, bigint | undefined][] = [
      ["500m", 500n],
      ["0.5", 500n],
      [0.5, 500n],
      ["1", 1000n],
      ["1k", 1_000_000n],
      ["1M", 10n ** 9n],
      ["1G", 10n ** 12n],
      ["1T", 10n ** 15n],
      ["1P", 10n ** 18n],
      ["1E", 10n ** 21n],
      ["1Ki", 1024_000n],
      ["1Mi", 2n ** 20n * 1000n],
      ["1Gi", 1073741824000n],
      ["1Ti", 2n ** 40n * 1000n],
      ["1Pi", 2n ** 50n * 1000n],
      ["1Ei", 2n ** 60n * 1000n],
      ["1e3", 1_000_000n],
      ["1E3", 1_000_000n],
      ["1e-3", 1n],
      ["1.5e2", 150_000n],
      [1e9, 10n ** 12n],
      ["+2", 2000n],
      ["-1m", -1n],
      ["100n", 1n],
      ["0.30000000000000004", 301n],
      ["1.", 1000n],
      [".5", 500n],
      ["banana", undefined],
      ["1 Gi", undefined],
      ["1gi", undefined],
      ["", undefined],
      [null, undefined],
      [true, undefined],
      [Infinity, undefined],
      ["1e999999", undefined],
    ];
    for (const [input, want] of cases) assert.equal(parseQuantity(input), want, String(input));
  });

  test("the values the API server stored compare equal to what was applied (a real Pod and ResourceQuota)", () => {
    const { objects } = renderDirectory(
      [
        { path: "q/pod.yaml", content: POD_YAML },
        { path: "q/quota.yaml", content: QUOTA_YAML },
      ],
      { path: "q" },
    );
    const [pod, quota] = objects.map((o) => o.object);
    assert.equal(diffObject(pod!, LIVE_POD).state, "Synced", JSON.stringify(diffObject(pod!, LIVE_POD).changes));
    assert.equal(diffObject(quota!, LIVE_QUOTA).state, "Synced", JSON.stringify(diffObject(quota!, LIVE_QUOTA).changes));
    const smaller = copy(LIVE_POD) as KubeObject & { spec: { containers: { resources: { limits: Record<string, string> } }[] } };
    smaller.spec.containers[0]!.resources.limits.cpu = "400m";
    assert.deepEqual(diffObject(pod!, smaller).changes, [{ path: "spec.containers[name=c].resources.limits.cpu", desired: 0.5, live: "400m" }]);
    assert.ok(quantitiesEqual("1Gi", "1073741824") && quantitiesEqual("1.5Gi", "1536Mi") && quantitiesEqual("1e9", "1G") && !quantitiesEqual("1G", "1Gi"));
  });

  test("outside quantity fields a number never equals a numeric string", () => {
    const d: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "n" }, data: { size: "0.5" } };
    const l: KubeObject = { ...copy(d), data: { size: "500m" } };
    assert.equal(diffObject(d, l).state, "Modified");
    const svc: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "n" }, spec: { ports: [{ port: 80, targetPort: 80 }] } };
    const liveSvc: KubeObject = { ...copy(svc), spec: { ports: [{ port: 80, protocol: "TCP", targetPort: "80" }] } };
    assert.deepEqual(
      diffObject(svc, liveSvc).changes.map((c) => c.path),
      ["spec.ports[port=80,protocol=TCP].targetPort"],
    );
  });
});

describe("Secrets", () => {
  const desiredSecret = (password: string): KubeObject => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "default" }, stringData: { password } });

  test("stringData in Git against base64 data live (the real object, with kubectl's annotation holding the value): Synced", () => {
    assert.equal(diffObject(desiredSecret("hunter2"), LIVE_SECRET).state, "Synced");
  });

  test("a changed value is Modified with sha256 digests only; the value appears nowhere", () => {
    const r = diffObject(desiredSecret("correct horse battery staple"), LIVE_SECRET);
    assert.equal(r.state, "Modified");
    assert.equal(r.changes.length, 1);
    assert.equal(r.changes[0]!.path, "data.password");
    assert.match(String(r.changes[0]!.desired), /^sha256:[0-9a-f]{64}$/);
    assert.equal(r.changes[0]!.live, "sha256:f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7");
    const text = JSON.stringify(r);
    for (const secret of ["hunter2", "aHVudGVyMg==", "correct horse battery staple", Buffer.from("correct horse battery staple").toString("base64")]) {
      assert.ok(!text.includes(secret), `${secret} leaked`);
    }
  });

  test("a key missing live, or data missing altogether, is reported as digests too", () => {
    const d: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "default" }, data: { token: Buffer.from("s3cr3t-token").toString("base64") } };
    const r = diffObject(d, { ...copy(LIVE_SECRET), data: undefined });
    assert.deepEqual(
      r.changes.map((c) => c.path),
      ["data.token"],
    );
    assert.ok(!JSON.stringify(r).includes("s3cr3t") && !JSON.stringify(r).includes(Buffer.from("s3cr3t-token").toString("base64")));
  });

  test("redactSecret: digests, no stringData, no last-applied annotation, idempotent; other kinds untouched", () => {
    const r = redactSecret(LIVE_SECRET);
    assert.deepEqual(r.data, { password: "sha256:f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7" });
    assert.equal(r.metadata.annotations?.["kubectl.kubernetes.io/last-applied-configuration"], undefined);
    assert.ok(!JSON.stringify(r).includes("hunter2") && !JSON.stringify(r).includes("aHVudGVyMg=="));
    assert.deepEqual(redactSecret(r), r);
    assert.deepEqual(redactSecret(desiredSecret("hunter2")).data, r.data);
    assert.equal(redactSecret(LIVE_DEPLOYMENT), LIVE_DEPLOYMENT);
  });
});

describe("diffAll", () => {
  test("Missing for desired objects not live, Extra only for live objects isOwned claims, sorted by key", () => {
    const cm = (name: string, annotations?: Record<string, string>): KubeObject => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "default", ...(annotations ? { annotations } : {}) },
      data: { k: "v" },
    });
    const owned = (o: KubeObject) => o.metadata.annotations?.["converge.dev/tracking"] === "c1";
    const r = diffAll([desired, cm("wanted")], [LIVE_DEPLOYMENT, cm("old", { "converge.dev/tracking": "c1" }), cm("kube-root-ca.crt"), cm("theirs", { "converge.dev/tracking": "c2" })], {
      isOwned: owned,
    });
    assert.deepEqual(
      r.map((x) => `${x.state} ${x.key}`),
      ["Extra /ConfigMap/default/old", "Missing /ConfigMap/default/wanted", "Synced apps/Deployment/default/guestbook-ui"],
    );
  });

  test("normalizeDesired places namespaced objects and strips cluster-scoped ones; a discovery callback overrides the table", () => {
    const ns = normalizeDesired({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } }, "apps");
    assert.equal(ns.metadata.namespace, "apps");
    const cr = normalizeDesired({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "view", namespace: "oops" } }, "apps");
    assert.equal(cr.metadata.namespace, undefined);
    assert.equal(normalizeDesired({ apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: "le" } }, "apps").metadata.namespace, "apps");
    assert.equal(normalizeDesired({ apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: "le" } }, "apps", (_v, k) => !k.startsWith("Cluster")).metadata.namespace, undefined);
    assert.equal(normalizeDesired({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "mine" } }, "apps").metadata.namespace, "mine");
  });

  test("normalizeLive drops what the server populates, keeps what Git may set", () => {
    const n = normalizeLive(LIVE_DEPLOYMENT);
    assert.equal(n.status, undefined);
    assert.deepEqual(Object.keys(n.metadata).sort(), ["name", "namespace"]);
    assert.ok(LIVE_DEPLOYMENT.status, "the input is not modified");
  });
});

const POD_YAML = `apiVersion: v1
kind: Pod
metadata:
  name: q
  namespace: default
spec:
  containers:
  - name: c
    image: nginx
    resources:
      limits:
        cpu: 0.5
        memory: 1Gi
        ephemeral-storage: 0.9Gi
      requests:
        cpu: "0.30000000000000004"
        memory: "1073741824"
        ephemeral-storage: 100n
`;

const QUOTA_YAML = `apiVersion: v1
kind: ResourceQuota
metadata:
  name: rq
  namespace: quota
spec:
  hard:
    pods: 10
    requests.cpu: 1.5
    requests.memory: 1e9
    limits.memory: 1.5Gi
`;
