/**
 * Exact drift on real-world workloads: every entry of the corpus (charts rendered from public
 * repositories, test/fixtures/corpus/README.md) is applied to a real cluster with kubectl as a
 * user would (CRDs, resources, webhook configurations; hooks not applied), registered with
 * Converge from a real Git server and reconciled: every entry is Synced with zero drift. Then
 * real live edits, one at a time, are each found at exactly their path and nothing else, and
 * the entry is Synced again once the edit is reverted.
 *
 * The corpus runs on a cluster of its own (started here): its CRDs and webhook configurations
 * stay out of the clusters the other test files share.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolated, stackEnv, type Isolated, type TestCluster } from "../support/stack.js";
import { corpusDocs, corpusEntries, joinDocs, type CorpusDoc } from "../support/corpus.js";
import { reconcileDeps } from "../../shared/services.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { resourceKey } from "../../shared/model.js";
import { startClusters, type ClusterHandle } from "../../tools/testbed/kube.js";

const entries = corpusEntries();
const docs = new Map(entries.map((e) => [e, corpusDocs(e)]));
let iso: Isolated;
let handle: ClusterHandle;
let cluster: TestCluster;
let work: string;

const kubectl = (args: string[], input?: string) =>
  execFileSync(stackEnv().kubectl, ["--kubeconfig", cluster.kubeconfig, "--context", cluster.context, ...args], { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });

/**
 * Applies documents as a user would: client-side `kubectl apply -n <entry>` (objects naming
 * another namespace with that one), server-side for objects over kubectl's 256 KiB annotation limit.
 */
function apply(entry: string, list: CorpusDoc[]): void {
  for (const ns of new Set(list.map((d) => d.object.metadata.namespace ?? entry))) {
    const group = list.filter((d) => (d.object.metadata.namespace ?? entry) === ns);
    const small = group.filter((d) => d.text.length <= 200_000);
    const big = group.filter((d) => d.text.length > 200_000);
    if (small.length) kubectl(["apply", "-n", ns, "-f", "-"], joinDocs(small));
    if (big.length) kubectl(["apply", "--server-side", "-n", ns, "-f", "-"], joinDocs(big));
  }
}

/** A bare repository on the test bed's Git server holding `files`, and its URL. */
function corpusRepo(files: Record<string, string>): string {
  const { gitRoot, gitBase } = stackEnv();
  const name = `corpus-${Date.now()}`;
  const src = join(work, "src");
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(src, path, ".."), { recursive: true });
    writeFileSync(join(src, path), content);
  }
  const git = (cwd: string, ...args: string[]) => execFileSync("git", ["-C", cwd, "-c", "user.name=Converge Test", "-c", "user.email=test@converge.local", ...args], { encoding: "utf8" });
  git(src, "init", "-q", "-b", "master");
  git(src, "add", ".");
  git(src, "commit", "-q", "-m", "corpus");
  execFileSync("git", ["clone", "-q", "--bare", src, join(gitRoot, `${name}.git`)]);
  return `${gitBase}/${name}.git`;
}

const reconcile = (entry: string) => reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster: `corpus-${entry}`, reason: "tick", enqueuedAt: new Date().toISOString() });

/** What a reconcile reports: one line per resource not Synced, `<key> <state> <paths>`. */
async function driftOf(entry: string): Promise<string[]> {
  const out = await reconcile(entry);
  assert.ok(out, `corpus-${entry} is registered`);
  assert.ok(out.status.sync === "Synced" || out.status.sync === "OutOfSync", `${entry}: ${out.status.sync} ${out.status.message ?? ""}`);
  return out.drift.filter((d) => d.state !== "Synced").map((d) => `${d.key} ${d.state}${d.changes.length ? ` ${d.changes.map((c) => c.path).join(" ")}` : ""}`);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), "converge-corpus-"));
  handle = (await startClusters(["corpus"], { root: join(work, "kwok") }))[0]!;
  cluster = { name: handle.name, kubeconfig: handle.kubeconfig, context: handle.context };
  iso = await isolated("corpus");
  const all = [...docs.values()].flat();
  const namespaces = new Set([...entries, ...all.map((d) => d.object.metadata.namespace).filter((n): n is string => !!n)]);
  const existing = new Set(kubectl(["get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}"]).split(" "));
  for (const ns of namespaces) if (!existing.has(ns)) kubectl(["create", "namespace", ns]);
  kubectl(["apply", "--server-side", "-f", "-"], joinDocs(all.filter((d) => d.stage === "crd")));
  kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
  for (const e of entries)
    apply(
      e,
      docs.get(e)!.filter((d) => d.stage === "resource"),
    );
  for (const e of entries)
    apply(
      e,
      docs.get(e)!.filter((d) => d.stage === "webhook"),
    );
  const repoUrl = corpusRepo(Object.fromEntries(entries.map((e) => [`${e}/manifest.yaml`, joinDocs(docs.get(e)!)])));
  for (const e of entries) {
    await iso.services.clusters.add({
      name: `corpus-${e}`,
      source: { repoUrl, branch: "master", path: e },
      namespace: e,
      access: { type: "kubeconfig", kubeconfig: cluster.kubeconfig, context: cluster.context },
      intervalSeconds: 300,
    });
  }
});

after(async () => {
  await handle?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("the corpus is real-world sized: 12+ entries, 400+ objects, hooks among them", () => {
  const all = [...docs.values()].flat();
  const kinds = new Set(all.map((d) => d.object.kind));
  assert.ok(entries.length >= 12, `${entries.length} entries`);
  assert.ok(all.length >= 400, `${all.length} objects`);
  for (const k of [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "CronJob",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ClusterRole",
    "RoleBinding",
    "CustomResourceDefinition",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
    "Ingress",
  ]) {
    assert.ok(kinds.has(k), `covers ${k}`);
  }
  assert.ok(
    all.some((d) => d.stage === "hook"),
    "has hooks",
  );
  console.log(`corpus: ${entries.length} entries, ${all.length} objects (${all.filter((d) => d.stage === "hook").length} hooks), ${kinds.size} kinds`);
});

test("applied with kubectl and left alone, every entry is Synced with zero drift (hooks neither Missing nor Extra)", async () => {
  let resources = 0;
  for (const e of entries) {
    const out = await reconcile(e);
    assert.ok(out);
    const drifted = out.drift
      .filter((d) => d.state !== "Synced")
      .map((d) => `${d.key} ${d.state} ${d.changes.map((c) => `${c.path}: ${JSON.stringify(c.desired)} -> ${JSON.stringify(c.live)}`).join("; ")}`);
    assert.deepEqual(drifted, [], e);
    assert.equal(out.status.sync, "Synced", `${e}: ${out.status.message ?? ""}`);
    assert.equal(out.drift.length, docs.get(e)!.filter((d) => d.stage !== "hook").length, `${e}: every applied object compared`);
    resources += out.drift.length;
  }
  console.log(`corpus: ${resources} resources Synced across ${entries.length} entries`);
});

/**
 * One live edit: where, what kubectl does, the drift it must produce (exactly). It is reverted
 * by re-applying Git's object with kubectl, or with `revert` where kubectl apply cannot (a
 * changed list key leaves two items of one name).
 */
interface Edit {
  entry: string;
  what: string;
  kubectl: string[];
  expect: string[];
  revert?: string[];
}

const jsonPatch = (ns: string, target: string, ops: unknown[]) => ["-n", ns, "patch", target, "--type=json", "-p", JSON.stringify(ops)];

const EDITS: Edit[] = [
  {
    entry: "external-dns",
    what: "image",
    kubectl: ["-n", "external-dns", "set", "image", "deployment/external-dns", "external-dns=registry.k8s.io/external-dns/external-dns:v0.20.0"],
    expect: ["apps/Deployment/external-dns/external-dns Modified spec.template.spec.containers[name=external-dns].image"],
  },
  {
    entry: "metrics-server",
    what: "replicas",
    kubectl: ["-n", "metrics-server", "scale", "deployment/metrics-server", "--replicas=3"],
    expect: ["apps/Deployment/metrics-server/metrics-server Modified spec.replicas"],
  },
  {
    entry: "external-dns",
    what: "env value",
    kubectl: ["-n", "external-dns", "set", "env", "deployment/external-dns", "AWS_DEFAULT_REGION=us-east-1"],
    expect: ["apps/Deployment/external-dns/external-dns Modified spec.template.spec.containers[name=external-dns].env[name=AWS_DEFAULT_REGION].value"],
  },
  {
    entry: "external-dns",
    what: "container port",
    kubectl: jsonPatch("external-dns", "deployment/external-dns", [{ op: "replace", path: "/spec/template/spec/containers/0/ports/0/containerPort", value: 7980 }]),
    expect: ["apps/Deployment/external-dns/external-dns Modified spec.template.spec.containers[name=external-dns].ports[containerPort=7979,protocol=TCP]"],
    revert: jsonPatch("external-dns", "deployment/external-dns", [{ op: "replace", path: "/spec/template/spec/containers/0/ports/0/containerPort", value: 7979 }]),
  },
  {
    entry: "metrics-server",
    what: "volume mount path",
    kubectl: jsonPatch("metrics-server", "deployment/metrics-server", [{ op: "replace", path: "/spec/template/spec/containers/0/volumeMounts/0/mountPath", value: "/scratch" }]),
    expect: ["apps/Deployment/metrics-server/metrics-server Modified spec.template.spec.containers[name=metrics-server].volumeMounts[mountPath=/tmp]"],
  },
  {
    entry: "metrics-server",
    what: "probe period",
    kubectl: jsonPatch("metrics-server", "deployment/metrics-server", [{ op: "replace", path: "/spec/template/spec/containers/0/readinessProbe/periodSeconds", value: 30 }]),
    expect: ["apps/Deployment/metrics-server/metrics-server Modified spec.template.spec.containers[name=metrics-server].readinessProbe.periodSeconds"],
  },
  {
    entry: "metrics-server",
    what: "probe path (a probe with initialDelaySeconds: 0 in Git)",
    kubectl: jsonPatch("metrics-server", "deployment/metrics-server", [{ op: "replace", path: "/spec/template/spec/containers/0/livenessProbe/httpGet/path", value: "/healthz" }]),
    expect: ["apps/Deployment/metrics-server/metrics-server Modified spec.template.spec.containers[name=metrics-server].livenessProbe.httpGet.path"],
  },
  {
    entry: "metrics-server",
    what: "resource limits of a sidecar",
    kubectl: jsonPatch("metrics-server", "deployment/metrics-server", [{ op: "replace", path: "/spec/template/spec/containers/1/resources/limits/memory", value: "50Mi" }]),
    expect: ["apps/Deployment/metrics-server/metrics-server Modified spec.template.spec.containers[name=metrics-server-nanny].resources.limits.memory"],
  },
  {
    entry: "sealed-secrets",
    what: "RBAC verbs",
    kubectl: jsonPatch("", "clusterrole/secrets-unsealer", [{ op: "remove", path: "/rules/2/verbs/4" }]),
    expect: ["rbac.authorization.k8s.io/ClusterRole//secrets-unsealer Modified rules[2].verbs"],
  },
  {
    entry: "gatekeeper",
    what: "webhook failure policy",
    kubectl: jsonPatch("", "validatingwebhookconfiguration/gatekeeper-validating-webhook-configuration", [{ op: "replace", path: "/webhooks/0/failurePolicy", value: "Fail" }]),
    expect: ["admissionregistration.k8s.io/ValidatingWebhookConfiguration//gatekeeper-validating-webhook-configuration Modified webhooks[name=validation.gatekeeper.sh].failurePolicy"],
  },
  {
    entry: "external-dns",
    what: "label Git sets",
    kubectl: ["-n", "external-dns", "label", "deployment/external-dns", "app.kubernetes.io/version=edited", "--overwrite"],
    expect: ['apps/Deployment/external-dns/external-dns Modified metadata.labels["app.kubernetes.io/version"]'],
  },
  { entry: "descheduler", what: "deleted object", kubectl: ["-n", "descheduler", "delete", "configmap", "descheduler"], expect: ["/ConfigMap/descheduler/descheduler Missing"] },
  {
    entry: "descheduler",
    what: "CronJob schedule",
    kubectl: jsonPatch("descheduler", "cronjob/descheduler", [{ op: "replace", path: "/spec/schedule", value: "0 * * * *" }]),
    expect: ["batch/CronJob/descheduler/descheduler Modified spec.schedule"],
  },
  {
    entry: "traefik",
    what: "custom resource (IngressRoute match)",
    kubectl: jsonPatch("traefik", "ingressroute.traefik.io/traefik-dashboard", [{ op: "replace", path: "/spec/routes/0/match", value: "Host(`edited.example.com`)" }]),
    expect: ["traefik.io/IngressRoute/traefik/traefik-dashboard Modified spec.routes[0].match"],
  },
  { entry: "traefik", what: "deleted Deployment", kubectl: ["-n", "traefik", "delete", "deployment", "traefik"], expect: ["apps/Deployment/traefik/traefik Missing"] },
  {
    entry: "kube-state-metrics",
    what: "StatefulSet image",
    kubectl: ["-n", "kube-state-metrics", "set", "image", "statefulset/kube-state-metrics", "kube-state-metrics=registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.19.0"],
    expect: ["apps/StatefulSet/kube-state-metrics/kube-state-metrics Modified spec.template.spec.containers[name=kube-state-metrics].image"],
  },
  {
    entry: "kube-state-metrics",
    what: "StatefulSet replicas",
    kubectl: ["-n", "kube-state-metrics", "scale", "statefulset/kube-state-metrics", "--replicas=1"],
    expect: ["apps/StatefulSet/kube-state-metrics/kube-state-metrics Modified spec.replicas"],
  },
  {
    entry: "node-exporter",
    what: "DaemonSet args (atomic list, one flag changed)",
    kubectl: jsonPatch("node-exporter", "daemonset/node-exporter-prometheus-node-exporter", [
      { op: "replace", path: "/spec/template/spec/containers/0/args/5", value: "--collector.textfile.directory=/other" },
    ]),
    expect: ["apps/DaemonSet/node-exporter/node-exporter-prometheus-node-exporter Modified spec.template.spec.containers[name=node-exporter].args[5]"],
  },
  {
    entry: "node-exporter",
    what: "DaemonSet hostNetwork",
    kubectl: jsonPatch("node-exporter", "daemonset/node-exporter-prometheus-node-exporter", [{ op: "replace", path: "/spec/template/spec/hostNetwork", value: false }]),
    expect: ["apps/DaemonSet/node-exporter/node-exporter-prometheus-node-exporter Modified spec.template.spec.hostNetwork"],
  },
  {
    entry: "grafana",
    what: "PodDisruptionBudget minAvailable",
    kubectl: jsonPatch("grafana", "pdb/grafana", [{ op: "replace", path: "/spec/minAvailable", value: 2 }]),
    expect: ["policy/PodDisruptionBudget/grafana/grafana Modified spec.minAvailable"],
  },
  {
    entry: "grafana",
    what: "HorizontalPodAutoscaler maxReplicas",
    kubectl: jsonPatch("grafana", "hpa/grafana", [{ op: "replace", path: "/spec/maxReplicas", value: 8 }]),
    expect: ["autoscaling/HorizontalPodAutoscaler/grafana/grafana Modified spec.maxReplicas"],
  },
  {
    entry: "grafana",
    what: "NetworkPolicy port",
    kubectl: jsonPatch("grafana", "networkpolicy/grafana", [{ op: "replace", path: "/spec/ingress/0/ports/0/port", value: 3001 }]),
    expect: ["networking.k8s.io/NetworkPolicy/grafana/grafana Modified spec.ingress[0].ports[0].port"],
  },
  {
    entry: "grafana",
    what: "Service targetPort",
    kubectl: jsonPatch("grafana", "service/grafana", [{ op: "replace", path: "/spec/ports/0/targetPort", value: 3000 }]),
    expect: ["/Service/grafana/grafana Modified spec.ports[port=80,protocol=TCP].targetPort"],
  },
  {
    entry: "external-dns",
    what: "Secret value (compared and reported as digests)",
    kubectl: ["-n", "external-dns", "patch", "secret/external-dns", "-p", JSON.stringify({ stringData: { credentials: "edited" } })],
    expect: ["/Secret/external-dns/external-dns Modified data.credentials"],
  },
  {
    entry: "descheduler",
    what: "ConfigMap data",
    kubectl: ["-n", "descheduler", "patch", "configmap/descheduler", "-p", JSON.stringify({ data: { "policy.yaml": "edited: true\n" } })],
    expect: ['/ConfigMap/descheduler/descheduler Modified data["policy.yaml"]'],
  },
  {
    entry: "external-dns",
    what: "ClusterRoleBinding subject",
    kubectl: jsonPatch("", "clusterrolebinding/external-dns-viewer", [{ op: "replace", path: "/subjects/0/name", value: "someone-else" }]),
    expect: ["rbac.authorization.k8s.io/ClusterRoleBinding//external-dns-viewer Modified subjects[0].name"],
  },
  {
    entry: "velero",
    what: "custom resource (Schedule)",
    kubectl: jsonPatch("velero", "schedule.velero.io/velero-daily", [{ op: "replace", path: "/spec/template/ttl", value: "24h" }]),
    expect: ["velero.io/Schedule/velero/velero-daily Modified spec.template.ttl"],
  },
  {
    entry: "gatekeeper",
    what: "ResourceQuota (a quantity)",
    kubectl: jsonPatch("gatekeeper", "resourcequota/gatekeeper-critical-pods", [{ op: "replace", path: "/spec/hard/pods", value: "50" }]),
    expect: ["/ResourceQuota/gatekeeper/gatekeeper-critical-pods Modified spec.hard.pods"],
  },
  {
    entry: "metallb",
    what: "DaemonSet env from a field",
    kubectl: jsonPatch("metallb", "daemonset/metallb-speaker", [{ op: "replace", path: "/spec/template/spec/containers/0/env/0/valueFrom/fieldRef/fieldPath", value: "metadata.name" }]),
    expect: ["apps/DaemonSet/metallb/metallb-speaker Modified spec.template.spec.containers[name=speaker].env[name=METALLB_NODE_NAME].valueFrom.fieldRef.fieldPath"],
  },
];

describe("real live edits are found at exactly their path", () => {
  test("25+ edits across kinds", () => assert.ok(EDITS.length >= 25, `${EDITS.length} edits`));
  for (const edit of EDITS) {
    test(`${edit.entry}: ${edit.what}`, async () => {
      kubectl(edit.kubectl);
      assert.deepEqual(await driftOf(edit.entry), edit.expect);
      if (edit.revert) kubectl(edit.revert);
      else {
        const [key] = edit.expect[0]!.split(" ");
        const original = docs
          .get(edit.entry)!
          .filter((d) => resourceKey({ ...d.object, metadata: { ...d.object.metadata, namespace: d.object.metadata.namespace ?? (key!.split("/")[2] || undefined) } }) === key);
        assert.equal(original.length, 1, `${key} is in the corpus`);
        apply(edit.entry, original);
      }
      assert.deepEqual(await driftOf(edit.entry), [], "re-applying Git reverts the edit");
    });
  }
});
