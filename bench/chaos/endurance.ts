/**
 * Check "endurance": one warm process (a Lambda container kept warm) runs 2,000 reconciles
 * (200 with `--quick`) through the real reconcile handler, in SQS batches of four clusters on
 * the two test-bed kube-apiservers tracking one repository on the test bed's Git server, with a
 * new commit (a new ConfigMap value) every `COMMIT_EVERY` reconciles; two clusters sync
 * (`apply`), two only detect. Samples `process.memoryUsage()` and the open TCP sockets and file
 * descriptors every `sampleEvery` reconciles.
 *
 * Holds when no message fails; the syncing clusters end Synced at the last commit with its
 * value live and the detecting ones OutOfSync at it; after the first sample (warm-up) the last
 * quarter's highest heap is within +50% of the first quarter's, and the last quarter's most
 * sockets and descriptors exceed the first quarter's by at most `HANDLE_SLACK`.
 */
import { readdirSync } from "node:fs";
import type { ChaosCheck, ChaosResult } from "./check.js";
import { chaosInstall, runBatch, settingsConfigMap, sqsRecord, tickTask, type ChaosInstall } from "./clusters.js";
import { kubectl, stackEnv } from "../../test/support/stack.js";

/** Reconciles between two commits. */
const COMMIT_EVERY = 50;
/** Growth of the open sockets / descriptors tolerated between the first and the last quarter. */
const HANDLE_SLACK = 4;
/** Growth of the heap tolerated between the first and the last quarter (ratio of their highest samples). */
const HEAP_RATIO = 1.5;

/** One sample of the process. Sizes in MB. */
interface Sample {
  reconciles: number;
  heapMb: number;
  rssMb: number;
  sockets: number;
  fds: number;
}

const mb = (b: number) => Math.round(b / 1048576);

function sample(reconciles: number): Sample {
  const m = process.memoryUsage();
  const sockets = process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "TLSSocketWrap" || r === "PipeWrap").length;
  return { reconciles, heapMb: mb(m.heapUsed), rssMb: mb(m.rss), sockets, fds: readdirSync("/proc/self/fd").length };
}

/** Registers two clusters per test-bed API server, the first of each pair syncing. @returns their names and policies. */
async function register(install: ChaosInstall): Promise<{ name: string; apply: boolean; cluster: ReturnType<typeof stackEnv>["clusters"][number] }[]> {
  const out = stackEnv().clusters.flatMap((cluster, i) => [0, 1].map((j) => ({ name: `chaos-end-${i + 1}-${j + 1}`, apply: j === 0, cluster })));
  for (const c of out) {
    kubectl(c.cluster, "create", "namespace", c.name);
    await install.iso.services.clusters.add({
      name: c.name,
      source: { repoUrl: install.repo.url, branch: "master", path: install.path },
      namespace: c.name,
      access: { type: "kubeconfig", kubeconfig: c.cluster.kubeconfig, context: c.cluster.context },
      intervalSeconds: 300,
      syncPolicy: c.apply ? "apply" : "detect",
    });
  }
  return out;
}

const maxOf = (xs: Sample[], k: keyof Sample) => Math.max(...xs.map((x) => x[k]));

/** The bounds over the samples after the first (warm-up): problems found, as sentences. */
function bounded(samples: Sample[]): string[] {
  const warm = samples.slice(1);
  const q = Math.max(1, Math.floor(warm.length / 4));
  const first = warm.slice(0, q);
  const last = warm.slice(-q);
  const problems: string[] = [];
  if (maxOf(last, "heapMb") > HEAP_RATIO * maxOf(first, "heapMb")) problems.push(`heap grew: first quarter max ${maxOf(first, "heapMb")} MB, last ${maxOf(last, "heapMb")} MB`);
  for (const k of ["sockets", "fds"] as const) {
    if (maxOf(last, k) > maxOf(first, k) + HANDLE_SLACK) problems.push(`${k} grew: first quarter max ${maxOf(first, k)}, last ${maxOf(last, k)}`);
  }
  return problems;
}

async function run({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<ChaosResult> {
  const total = quick ? 200 : 2000;
  const sampleEvery = quick ? 20 : 100;
  const install = await chaosInstall("chaos-endurance");
  const clusters = await register(install);
  const started = Date.now();
  const samples: Sample[] = [];
  const problems: string[] = [];
  let done = 0;
  let revisions = 1;
  let value = 0;
  let crashes = 0;
  while (done < total) {
    const { failed } = await runBatch(
      install.handler,
      clusters.map((c) => sqsRecord(tickTask(c.name), 1, c.name)),
    );
    crashes += failed.length;
    if (failed.length) problems.push(`failed messages: ${failed.join(", ")}`);
    const before = done;
    done += clusters.length;
    if (Math.floor(done / sampleEvery) > Math.floor(before / sampleEvery)) {
      samples.push(sample(done));
      const s = samples.at(-1)!;
      if (samples.length % 5 === 1) log(`${done} reconciles: heap ${s.heapMb} MB, rss ${s.rssMb} MB, sockets ${s.sockets}, fds ${s.fds}`);
    }
    if (Math.floor(done / COMMIT_EVERY) > Math.floor(before / COMMIT_EVERY) && done < total) {
      await install.repo.commit({ [`${install.path}/settings.yaml`]: settingsConfigMap(String(++value)) }, `chaos: settings ${value}`);
      revisions++;
    }
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  const wrongStates = await finalStates(install, clusters, String(value));
  problems.push(...wrongStates, ...bounded(samples));
  const first = samples[1] ?? samples[0]!;
  const last = samples.at(-1)!;
  const n = (x: number) => x.toLocaleString("en-US");
  const line =
    `endurance: ${n(done)} reconciles over ${revisions} revisions in ${seconds} s, heap ${first.heapMb}→${last.heapMb} MB (max ${maxOf(samples, "heapMb")}), ` +
    `sockets ${first.sockets}→${last.sockets}, fds ${first.fds}→${last.fds}, rss max ${maxOf(samples, "rssMb")} MB${problems.length ? `; PROBLEMS: ${problems.slice(0, 5).join("; ")}` : ""}`;
  return { ok: problems.length === 0, line, crashes, lost: wrongStates.length };
}

/** The clusters' states after the run: syncing ones Synced with `value` live, detecting ones OutOfSync; problems as sentences. */
async function finalStates(install: ChaosInstall, clusters: Awaited<ReturnType<typeof register>>, value: string): Promise<string[]> {
  const problems: string[] = [];
  for (const c of clusters) {
    const rec = (await install.iso.services.clusters.get(c.name))!;
    const want = c.apply ? "Synced" : "OutOfSync";
    if (rec.status.sync !== want) problems.push(`${c.name}: ${rec.status.sync} (${rec.status.message ?? ""}), expected ${want}`);
    if (!c.apply) continue;
    const live = kubectl(c.cluster, "get", "configmap", "chaos-settings", "-n", c.name, "-o", "jsonpath={.data.value}");
    if (live !== value) problems.push(`${c.name}: live value ${live}, expected ${value}`);
  }
  return problems;
}

/** The check "endurance" (see the module doc). */
export const endurance: ChaosCheck = { name: "endurance", run };
