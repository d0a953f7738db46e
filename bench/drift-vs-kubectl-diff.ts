/**
 * Benchmark (issue 3): drift detection on a synthetic app of 1,000 objects across common kinds
 * on a real kube-apiserver (the test bed's), 1% of them edited behind Git's back. Converge's
 * comparison (LIST per kind and namespace + dry-run of the suspects) against `kubectl diff -f`
 * (a GET and a server-side dry-run per object), in one run. Prints wall time and API requests
 * of each, the ratio, and whether both found exactly the same drifted objects.
 *
 *   npm run bench                      # 1,000 objects
 *   npm run bench -- --objects 200     # smaller
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startClusters } from "../tools/testbed/kube.js";
import { kubectlBinaries } from "../tools/testbed/binaries.js";
import { connectCluster } from "../shared/kube/connect.js";
import { inspect, placeInNamespaces, schemasOf, scopesOf } from "../shared/reconcile/inspect.js";
import { renderDirectory } from "../shared/render/directory.js";

const run = promisify(execFile);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TOTAL = arg("objects", 1000);
const NS = "bench";

/** The synthetic app: 20% ConfigMaps, 20% Secrets, 15% Services, 15% Deployments, 10% each ServiceAccounts, Roles, RoleBindings. */
function manifests(total: number): string[] {
  const share = { cm: 0.2, secret: 0.2, svc: 0.15, deploy: 0.15, sa: 0.1, role: 0.1, rb: 0.1 };
  const n = Object.fromEntries(Object.entries(share).map(([k, v]) => [k, Math.round(total * v)])) as Record<keyof typeof share, number>;
  n.cm += total - Object.values(n).reduce((a, b) => a + b, 0);
  const docs: string[] = [];
  for (let i = 0; i < n.cm; i++) docs.push(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-${i}, labels: {app: bench}}\ndata: {key: "value-${i}", other: "x"}`);
  for (let i = 0; i < n.secret; i++) docs.push(`apiVersion: v1\nkind: Secret\nmetadata: {name: secret-${i}}\nstringData: {password: "pw-${i}"}`);
  for (let i = 0; i < n.svc; i++) docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: svc-${i}}\nspec:\n  selector: {app: app-${i}}\n  ports: [{name: http, port: 80, targetPort: 8080}]`);
  for (let i = 0; i < n.deploy; i++)
    docs.push(
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: deploy-${i}}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: app-${i}}}\n  template:\n    metadata: {labels: {app: app-${i}}}\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n          ports: [{containerPort: 8080}]\n          resources: {limits: {cpu: 0.5, memory: 128Mi}}`,
    );
  for (let i = 0; i < n.sa; i++) docs.push(`apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa-${i}}`);
  for (let i = 0; i < n.role; i++) docs.push(`apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: role-${i}}\nrules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]`);
  for (let i = 0; i < n.rb; i++)
    docs.push(
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb-${i}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: role-${i}}\nsubjects: [{kind: ServiceAccount, name: sa-${i}, namespace: ${NS}}]`,
    );
  return docs;
}

const t0 = Date.now();
const [cluster] = await startClusters(["bench"], { log: (s) => console.error(`[testbed] ${s}`) });
const { kubectl } = kubectlBinaries();
const k = (...args: string[]) => run(kubectl, ["--kubeconfig", cluster!.kubeconfig, "--context", cluster!.context, ...args], { maxBuffer: 256 * 1024 * 1024 });
try {
  const dir = mkdtempSync(join(tmpdir(), "converge-bench-"));
  const docs = manifests(TOTAL);
  for (let i = 0; i < docs.length; i += 100) writeFileSync(join(dir, `part-${String(i / 100).padStart(3, "0")}.yaml`), `${docs.slice(i, i + 100).join("\n---\n")}\n`);
  await k("create", "namespace", NS);
  const ta = Date.now();
  await k("apply", "-n", NS, "--server-side", "-f", dir);
  console.error(`[bench] applied ${docs.length} objects in ${((Date.now() - ta) / 1000).toFixed(1)} s (test bed up in ${((ta - t0) / 1000).toFixed(1)} s)`);

  // 1% edited behind Git's back, across kinds. (Editing a Service's `port` — its list merge key —
  // makes `kubectl diff --server-side` itself fail with a duplicate port name; `targetPort` is
  // edited so both tools can be compared.)
  const edits = Math.max(1, Math.round(TOTAL / 100));
  const expected = new Set<string>();
  for (let i = 0; i < edits; i++) {
    const kind = i % 4;
    if (kind === 0) await k("-n", NS, "set", "image", `deployment/deploy-${i}`, "app=nginx:edited"), expected.add(`Deployment/deploy-${i}`);
    if (kind === 1) await k("-n", NS, "patch", "configmap", `cm-${i}`, "-p", '{"data":{"key":"edited"}}'), expected.add(`ConfigMap/cm-${i}`);
    if (kind === 2) await k("-n", NS, "patch", "service", `svc-${i}`, "--type=json", "-p", '[{"op":"replace","path":"/spec/ports/0/targetPort","value":9090}]'), expected.add(`Service/svc-${i}`);
    if (kind === 3) await k("-n", NS, "patch", "secret", `secret-${i}`, "-p", '{"stringData":{"password":"edited"}}'), expected.add(`Secret/secret-${i}`);
  }

  // Converge: render the directory, then one LIST per kind and namespace + dry-runs of the suspects.
  // Run twice: cold (a new process: the OpenAPI v3 root and one document per group-version are
  // fetched and converted) and warm (a warm Lambda: documents cached by hash, only the root is read).
  const files = readdirSync(dir).map((f) => ({ path: f, content: readFileSync(join(dir, f), "utf8") }));
  const runConverge = async () => {
    const t0 = Date.now();
    const api = await connectCluster({ type: "kubeconfig", kubeconfig: cluster!.kubeconfig, context: cluster!.context });
    const desired = await placeInNamespaces(
      api,
      renderDirectory(files, { path: "" }).objects.map((d) => d.object),
      NS,
    );
    const { drift, stats } = await inspect(api, desired, scopesOf(desired), { owner: "bench", schemas: await schemasOf(api, desired) });
    const ms = Date.now() - t0;
    api.client.close();
    return { ms, requests: api.client.requests, stats, found: new Set(drift.filter((d) => d.state !== "Synced").map((d) => `${d.kind}/${d.name}`)) };
  };
  const cold = await runConverge();
  const warm = await runConverge();
  const { ms: convergeMs, requests: convergeRequests, stats, found: convergeFound } = warm;

  // kubectl diff: a GET and a dry-run PATCH per object; -v=6 logs every request
  const tk = Date.now();
  const res = await k("diff", "-n", NS, "--server-side", "--force-conflicts", "-v=6", "-f", dir).catch((e: { stdout: string; stderr: string; code: number }) => {
    if (e.code !== 1) throw e; // 1 = differences found
    return e;
  });
  const kubectlMs = Date.now() - tk;
  const kubectlRequests = res.stderr.split("\n").filter((l) => /verb="(GET|PATCH|POST|PUT)"|\b(GET|PATCH|POST|PUT) https?:\/\//.test(l) && /Response|status/.test(l)).length;
  const kubectlFound = new Set(
    res.stdout
      .split("\n")
      .filter((l) => l.startsWith("diff -u -N "))
      .map((l) => {
        const parts = l.split(" ").pop()!.split("/").pop()!.split(".");
        return `${parts[parts.length - 3]}/${parts[parts.length - 1]}`;
      }),
  );
  const same = convergeFound.size === kubectlFound.size && [...convergeFound].every((x) => kubectlFound.has(x));
  const exact = same && convergeFound.size === expected.size && [...expected].every((x) => convergeFound.has(x));

  console.log(`objects: ${docs.length}, edited: ${expected.size}`);
  console.log(`converge cold: ${String(cold.ms).padStart(6)} ms  ${String(cold.requests).padStart(5)} API requests (schema documents fetched)  drifted: ${cold.found.size}`);
  console.log(
    `converge:     ${String(convergeMs).padStart(6)} ms  ${String(convergeRequests).padStart(5)} API requests (${stats.lists} LISTs, ${stats.dryRuns} dry-runs, discovery, OpenAPI root)  drifted: ${convergeFound.size}`,
  );
  console.log(`kubectl diff: ${String(kubectlMs).padStart(6)} ms  ${String(kubectlRequests).padStart(5)} API requests  drifted: ${kubectlFound.size}`);
  console.log(
    `ratio (kubectl diff / converge): ${(kubectlMs / convergeMs).toFixed(1)}x faster, ${(kubectlRequests / convergeRequests).toFixed(1)}x fewer requests (cold: ${(kubectlMs / cold.ms).toFixed(1)}x)`,
  );
  console.log(`same drifted objects: ${same ? "yes" : "NO"}; exactly the edited ones: ${exact ? "yes" : "NO"}`);
  if (!same) console.log(`  only converge: ${[...convergeFound].filter((x) => !kubectlFound.has(x)).join(", ")}\n  only kubectl: ${[...kubectlFound].filter((x) => !convergeFound.has(x)).join(", ")}`);
  process.exitCode = same && exact ? 0 : 1;
} finally {
  await cluster!.stop();
}
