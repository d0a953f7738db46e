/**
 * Check "secrets": no Secret value is ever stored or logged (design brief: "no Secret value is
 * ever stored or logged (store a hash)"). Real Kubernetes Secrets whose values are distinctive
 * random strings (`cvg-secret-<hex>`) go through the real reconcile handler
 * (`functions/reconcile/index.ts`, an isolated installation: `chaosInstall`) from the test
 * bed's Git server to its kube-apiservers:
 * - a plain folder with a Secret written with `data` (base64) and one with `stringData`,
 *   tracked by a cluster that syncs (`apply`, the values then live) and by one that detects;
 * - a local Helm chart whose `values.yaml` holds a value rendered into a Secret (`apply`);
 * - three failed renders whose tool or parser quotes a value: a Secret whose value starts
 *   with `*` (YAML reads an alias to no anchor), a Kustomize `secretGenerator` literal without
 *   its key, a Helm template `fail`ing with the value; each must end `Error` naming its file,
 *   its message without the value;
 * - a Secret the API server refuses quoting the value (a PIN written as a number in
 *   `stringData`: `expected string, got &value.valueUnstructured{Value:<the PIN>}`, HTTP 500):
 *   the cluster must not be Synced, its message naming the Secret without the value;
 * - drift: each Secret's live value changed with kubectl (a new random value, planted too:
 *   one `kubectl apply`, which keeps the value in clear in its last-applied annotation, one
 *   `kubectl patch`), so both clusters are OutOfSync with the Secrets Modified; then what a
 *   user reads: `converge diff` (text and JSON), `cluster get`, `cluster status`,
 *   `drift history`, `sync history`, the query API's routes (shared/api/query.ts), and a
 *   `converge sync` back to Git (Synced again). `--quick`: one drift round, else three.
 *
 * Then everything the installation wrote is scanned: every item of its DynamoDB tables (all
 * pages; binary parts reassembled and gunzipped as shared/store/blobs.ts and the operations
 * store write them, base64 strings decoded), every log line of the handlers (stdout and
 * stderr), the events log (`CONVERGE_EVENTS_LOG`) from the check's start, the messages left in
 * its queues (main, resume, dead-letter), and the CLI's and API's output. Each planted value
 * is looked for plain, JSON-escaped, base64 and base64url (at the three alignments it can take
 * inside a longer encoding). `secretsFound` is the number of occurrences; holds when it is 0
 * and every expected status holds.
 */
import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import type { ChaosCheck, ChaosResult } from "./check.js";
import { chaosInstall, runBatch, sqsRecord, tickTask, type ChaosInstall } from "./clusters.js";
import { secretHaystacks, type Haystack } from "./secret-scan.js";
import { kubectl, stackEnv, type TestCluster } from "../../test/support/stack.js";
import { runCli } from "../../test/support/cli.js";
import { handleQuery } from "../../shared/api/query.js";

/** A value planted in the installation: what it stands for (for the report) and the value. */
interface Planted {
  what: string;
  value: string;
}

/** A fresh distinctive value. */
const secretValue = () => `cvg-secret-${randomBytes(12).toString("hex")}`;
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The folder of each source in the repository. */
const DIR = { plain: "secrets/plain", helm: "secrets/helm", badDir: "secrets/bad-dir", badKust: "secrets/bad-kustomize", badHelm: "secrets/bad-helm", badApply: "secrets/bad-apply" };
/** Namespaces of the syncing clusters (created by their sync). */
const NS = { plain: "chaos-secrets", helm: "chaos-secrets-helm" };

const secretYaml = (name: string, body: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\ntype: Opaque\n${body}`;
const chartYaml = (name: string) => `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`;

/** The values planted in the sources. */
type SourceValues = Record<"data" | "stringData" | "helm" | "badDir" | "badKust" | "badHelm" | "pin", string>;

/** The sources' files, holding the first seven planted values. */
function sourceFiles(v: SourceValues): Record<string, string> {
  return {
    [`${DIR.plain}/data.yaml`]: secretYaml("cvg-data", `data:\n  password: ${b64(v.data)}\n`),
    [`${DIR.plain}/string.yaml`]: secretYaml("cvg-string", `stringData:\n  password: ${v.stringData}\n`),
    [`${DIR.helm}/Chart.yaml`]: chartYaml("cvg-helm"),
    [`${DIR.helm}/values.yaml`]: `password: ${v.helm}\n`,
    [`${DIR.helm}/templates/secret.yaml`]: secretYaml("cvg-helm", "data:\n  password: {{ .Values.password | b64enc }}\n"),
    // an unquoted value starting with `*`: YAML reads an alias to an anchor that does not exist
    [`${DIR.badDir}/secret.yaml`]: secretYaml("cvg-bad", `stringData:\n  password: *${v.badDir}\n`),
    // a literal without its `key=`
    [`${DIR.badKust}/kustomization.yaml`]: `secretGenerator:\n- name: cvg-kust\n  literals:\n  - ${v.badKust}\n`,
    [`${DIR.badHelm}/Chart.yaml`]: chartYaml("cvg-bad-helm"),
    [`${DIR.badHelm}/values.yaml`]: `password: ${v.badHelm}\n`,
    [`${DIR.badHelm}/templates/secret.yaml`]: secretYaml(
      "cvg-bad-helm",
      '{{- if lt (len .Values.password) 64 }}{{ fail (printf "password too short: %q" .Values.password) }}{{ end }}\nstringData:\n  password: {{ .Values.password }}\n',
    ),
    // a PIN without quotes: a number where the API server wants a string
    [`${DIR.badApply}/pin.yaml`]: secretYaml("cvg-pin", `stringData:\n  pin: ${v.pin}\n`),
  };
}

/** The clusters: name, folder, policy, test-bed cluster and namespace; `badFile`: a failed render expected, naming this file. */
interface Target {
  name: string;
  path: string;
  apply: boolean;
  kube: TestCluster;
  namespace: string;
  badFile?: string;
}

/** The clusters of the check (see the module doc). */
function targets(): Target[] {
  const [k1, k2] = stackEnv().clusters;
  return [
    { name: "sec-apply", path: DIR.plain, apply: true, kube: k1!, namespace: NS.plain },
    { name: "sec-detect", path: DIR.plain, apply: false, kube: k1!, namespace: NS.plain },
    { name: "sec-helm", path: DIR.helm, apply: true, kube: k2!, namespace: NS.helm },
    { name: "sec-bad-dir", path: DIR.badDir, apply: false, kube: k1!, namespace: NS.plain, badFile: `${DIR.badDir}/secret.yaml` },
    { name: "sec-bad-kustomize", path: DIR.badKust, apply: false, kube: k1!, namespace: NS.plain, badFile: `${DIR.badKust}/kustomization.yaml` },
    { name: "sec-bad-helm", path: DIR.badHelm, apply: false, kube: k1!, namespace: NS.plain, badFile: `${DIR.badHelm}/Chart.yaml` },
    { name: "sec-bad-apply", path: DIR.badApply, apply: true, kube: k1!, namespace: NS.plain },
  ];
}

/** Registers the clusters in the installation (the syncing ones create their namespace). */
async function register(install: ChaosInstall, all: Target[]): Promise<void> {
  for (const t of all) {
    await install.iso.services.clusters.add({
      name: t.name,
      source: { repoUrl: install.repo.url, branch: "master", path: t.path },
      namespace: t.namespace,
      access: { type: "kubeconfig", kubeconfig: t.kube.kubeconfig, context: t.kube.context },
      intervalSeconds: 300,
      syncPolicy: t.apply ? "apply" : "detect",
      ...(t.apply ? { syncOptions: { createNamespace: true } } : {}),
    });
  }
}

/** What the check collected to scan, and the problems found on the way. */
interface State {
  install: ChaosInstall;
  planted: Planted[];
  logLines: string[];
  outputs: string[];
  problems: string[];
}

/** What a cluster's status must be after a batch: one of the sync statuses `sync` (`|`-separated), its message matching, so many resources Modified. */
interface Want {
  sync: string;
  message?: RegExp;
  modified?: number;
}

/** Runs the clusters `names` as one SQS batch through the handler (its log lines kept), then checks each one's status against `want`. */
async function batch(run: State, names: string[], want: Record<string, Want>): Promise<void> {
  const { failed, lines } = await captured(run, () =>
    runBatch(
      run.install.handler,
      names.map((n) => sqsRecord(tickTask(n), 1, n)),
    ),
  );
  run.logLines.push(...lines);
  if (failed.length) run.problems.push(`failed messages: ${failed.join(", ")}`);
  for (const n of names) {
    const s = (await run.install.iso.services.clusters.get(n))!.status;
    const w = want[n]!;
    if (w.sync.split("|").includes(s.sync) && (!w.message || w.message.test(s.message ?? "")) && (w.modified === undefined || s.counts.modified === w.modified)) continue;
    const expected = `${w.sync}${w.message ? ` matching ${w.message}` : ""}${w.modified !== undefined ? ` with ${w.modified} modified` : ""}`;
    run.problems.push(`${n}: ${s.sync} (${s.counts.modified} modified) "${(s.message ?? "").slice(0, 200)}", expected ${expected}`);
  }
}

/** Runs `fn` with the JSON lines it writes to stdout or stderr (logs, metrics) kept in `run.logLines`; other writes pass through. */
async function captured<T>(run: State, fn: () => Promise<T>): Promise<T> {
  const streams = [process.stdout, process.stderr].map((stream) => ({ stream, write: stream.write.bind(stream) }));
  for (const { stream, write } of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      if (!text.startsWith("{")) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      run.logLines.push(...text.split("\n").filter(Boolean));
      return true;
    }) as typeof stream.write;
  }
  try {
    return await fn();
  } finally {
    for (const { stream, write } of streams) stream.write = write;
  }
}

/** The `password` of Secret `name` live, decoded. */
function liveValue(t: Target, name: string): string {
  return Buffer.from(kubectl(t.kube, "get", "secret", name, "-n", t.namespace, "-o", "jsonpath={.data.password}"), "base64").toString("utf8");
}

/**
 * Changes both Secrets of the plain folder live: `cvg-string` with `kubectl apply` (a client-side
 * apply: its last-applied annotation holds the value in clear), `cvg-data` with `kubectl patch`.
 */
function drift(run: State, apply: Target, round: number): void {
  const viaApply = secretValue();
  const viaPatch = secretValue();
  run.planted.push({ what: `drift ${round} (kubectl apply)`, value: viaApply }, { what: `drift ${round} (kubectl patch)`, value: viaPatch });
  const manifest = { apiVersion: "v1", kind: "Secret", metadata: { name: "cvg-string", namespace: apply.namespace }, type: "Opaque", stringData: { password: viaApply } };
  const k = ["--kubeconfig", apply.kube.kubeconfig, "--context", apply.kube.context];
  execFileSync(stackEnv().kubectl, [...k, "apply", "-f", "-"], { input: JSON.stringify(manifest), stdio: ["pipe", "ignore", "ignore"] });
  kubectl(apply.kube, "patch", "secret", "cvg-data", "-n", apply.namespace, "--type", "merge", "-p", JSON.stringify({ data: { password: b64(viaPatch) } }));
  if (liveValue(apply, "cvg-string") !== viaApply || liveValue(apply, "cvg-data") !== viaPatch) run.problems.push(`drift ${round}: the live values did not change`);
  const lastApplied = kubectl(apply.kube, "get", "secret", "cvg-string", "-n", apply.namespace, "-o", "jsonpath={.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}");
  if (!lastApplied.includes(viaApply)) run.problems.push(`drift ${round}: kubectl's last-applied annotation does not hold the value`);
}

/** What a user reads: the CLI's diff, status and history commands on every cluster (output and errors). */
async function readAsUser(run: State, all: Target[]): Promise<void> {
  const commands = [
    ...all.flatMap((t) => [
      ["diff", "--cluster", t.name, "--all"],
      ["diff", "--cluster", t.name, "-o", "json", "--all"],
      ["cluster", "get", t.name],
      ["drift", "history", "--cluster", t.name, "--since", "1h"],
      ["sync", "history", "--cluster", t.name],
    ]),
    ["cluster", "status"],
    ["cluster", "list"],
  ];
  for (const args of commands) {
    const r = await captured(run, () => runCli(...args));
    run.outputs.push(r.out, r.err);
    if (args[0] === "diff" && r.code === 2 && !all.find((t) => t.name === args[2])?.badFile) run.problems.push(`converge ${args.join(" ")}: ${r.err.trim()}`);
  }
}

/** The query API's answers about every cluster (shared/api/query.ts), as JSON. */
async function readApi(run: State, all: Target[]): Promise<void> {
  const s = run.install.iso.services;
  const deps = { clusters: s.clusters, events: s.events, operations: s.operations, snapshots: s.snapshots };
  const paths = ["/clusters", "/fleet", "/fleet/history", `/fleet/operations?names=${all.map((t) => t.name).join(",")}`, "/drift"];
  for (const t of all) {
    paths.push(`/clusters/${t.name}`, `/clusters/${t.name}/resources`, `/clusters/${t.name}/drift`, `/clusters/${t.name}/sync-changes`, `/clusters/${t.name}/operations`);
    for (const op of (await s.operations.summaries(t.name, { limit: 50 })).operations) paths.push(`/clusters/${t.name}/operations/${op.id}`);
    for (const e of await s.events.byCluster(t.name)) paths.push(`/resources/${encodeURIComponent(e.resource)}/drift`);
  }
  for (const p of [...new Set(paths)]) {
    const [path, q] = p.split("?");
    const res = await handleQuery({ method: "GET", path: path!, query: Object.fromEntries(new URLSearchParams(q ?? "")) }, deps);
    run.outputs.push(JSON.stringify(res.body));
    if (res.statusCode >= 500) run.problems.push(`GET ${p}: ${res.statusCode}`);
  }
}

/** Sets up the sources and clusters and runs the first reconciles: syncing, detecting, failing. */
async function firstReconciles(run: State, all: Target[]): Promise<void> {
  const pin = `${100_000 + randomInt(900_000)}${100_000_000 + randomInt(900_000_000)}`;
  const v: SourceValues = { data: secretValue(), stringData: secretValue(), helm: secretValue(), badDir: secretValue(), badKust: secretValue(), badHelm: secretValue(), pin };
  run.planted.push(
    { what: "data", value: v.data },
    { what: "stringData", value: v.stringData },
    { what: "Helm values", value: v.helm },
    { what: "failed render (YAML)", value: v.badDir },
    { what: "failed render (Kustomize)", value: v.badKust },
    { what: "failed render (Helm)", value: v.badHelm },
    { what: "apply refused (numeric PIN)", value: v.pin },
  );
  await run.install.repo.commit(sourceFiles(v), "chaos: secrets");
  await register(run.install, all);
  const bad = all.filter((t) => t.badFile);
  await batch(run, ["sec-apply", "sec-helm", "sec-bad-apply", ...bad.map((t) => t.name)], {
    "sec-apply": { sync: "Synced" },
    "sec-helm": { sync: "Synced" },
    // the API server answers 500: Converge takes it for an unavailable API (Unknown)
    "sec-bad-apply": { sync: "Unknown|Error|OutOfSync", message: /secrets\/cvg-pin: HTTP \d+: .*\.stringData\.pin: expected string/ },
    ...Object.fromEntries(bad.map((t) => [t.name, { sync: "Error", message: new RegExp(`^${t.badFile}:`) }])),
  });
  await batch(run, ["sec-detect"], { "sec-detect": { sync: "Synced" } });
  const [apply, , helm] = all;
  const live = [liveValue(apply!, "cvg-data"), liveValue(apply!, "cvg-string"), liveValue(helm!, "cvg-helm")];
  if (live.join() !== [v.data, v.stringData, v.helm].join()) run.problems.push("the synced Secrets do not hold the values of Git");
}

/** One drift round: drift, reconcile (OutOfSync), read as a user and through the API, sync back (Synced). */
async function driftRound(run: State, all: Target[], round: number): Promise<void> {
  drift(run, all[0]!, round);
  await batch(run, ["sec-apply", "sec-detect"], { "sec-apply": { sync: "OutOfSync", modified: 2 }, "sec-detect": { sync: "OutOfSync", modified: 2 } });
  await readAsUser(run, all);
  await readApi(run, all);
  const sync = await captured(run, () => runCli("sync", "--cluster", "sec-apply"));
  run.outputs.push(sync.out, sync.err);
  if (sync.code !== 0) run.problems.push(`converge sync --cluster sec-apply: exit ${sync.code} ${sync.err.trim()}`);
  await batch(run, ["sec-apply", "sec-detect"], { "sec-apply": { sync: "Synced" }, "sec-detect": { sync: "Synced" } });
}

/** The occurrences of every planted value in every haystack: the total, and per value found its count, places and one excerpt. */
function findings(planted: Planted[], haystacks: Haystack[]): { found: number; where: string[] } {
  const where: string[] = [];
  let found = 0;
  for (const p of planted) {
    const forms = encodedForms(p.value);
    const places = new Map<string, number>();
    let first: string | undefined;
    for (const h of haystacks) {
      const n = forms.reduce((sum, f) => sum + h.text.split(f).length - 1, 0);
      if (n === 0) continue;
      places.set(h.place, (places.get(h.place) ?? 0) + n);
      first ??= excerpt(h.text, forms);
    }
    const n = [...places.values()].reduce((a, b) => a + b, 0);
    found += n;
    if (n) where.push(`${p.what}: ${n} in ${[...places].map(([place, k]) => `${place} (${k})`).join(", ")}, e.g. …${first}…`);
  }
  return { found, where };
}

/** Around the first occurrence of any of `forms` in `text`. */
function excerpt(text: string, forms: string[]): string {
  const at = Math.max(0, ...forms.map((f) => text.indexOf(f)));
  return text.slice(Math.max(0, at - 80), at + 80).replace(/\s+/g, " ");
}

/**
 * The forms a value may take in stored or logged text: plain, JSON-escaped, and its base64 and
 * base64url encodings, whole and, for each of the three byte alignments it may have inside a
 * longer encoded text, the characters that depend on the value's bytes only.
 */
function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const forms = new Set([value, JSON.stringify(value).slice(1, -1), bytes.toString("base64"), bytes.toString("base64url")]);
  for (let shift = 0; shift < 3; shift++) {
    const enc = Buffer.concat([Buffer.alloc(shift), bytes])
      .toString("base64")
      .replace(/=+$/, "");
    const core = enc.slice(Math.ceil((shift * 8) / 6), Math.floor(((shift + bytes.length) * 8) / 6));
    forms.add(core);
    forms.add(core.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return [...forms];
}

/** The lines of the events log written since byte `from`. */
function eventsSince(from: number): string[] {
  const path = process.env.CONVERGE_EVENTS_LOG;
  if (!path || !existsSync(path)) return [];
  return readFileSync(path).subarray(from).toString("utf8").split("\n").filter(Boolean);
}

async function run({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<ChaosResult> {
  const eventsLog = process.env.CONVERGE_EVENTS_LOG;
  const eventsFrom = eventsLog && existsSync(eventsLog) ? statSync(eventsLog).size : 0;
  const install = await chaosInstall("chaos-secrets");
  const all = targets();
  const r: State = { install, planted: [], logLines: [], outputs: [], problems: [] };
  log("first reconciles: data, stringData, Helm values, three failed renders, a refused apply");
  await firstReconciles(r, all);
  const rounds = quick ? 1 : 3;
  for (let i = 1; i <= rounds; i++) {
    log(`drift round ${i} of ${rounds}: kubectl apply and patch, reconcile, diff, API, sync back`);
    await driftRound(r, all, i);
  }
  log("scanning tables, logs, events, queues and outputs");
  const events = eventsSince(eventsFrom);
  const scan = await secretHaystacks(install.iso);
  const haystacks: Haystack[] = [
    ...scan.haystacks,
    ...r.logLines.map((text) => ({ place: "handler log", text })),
    ...events.map((text) => ({ place: "events log", text })),
    ...r.outputs.map((text) => ({ place: "CLI/API output", text })),
  ];
  const { found, where } = findings(r.planted, haystacks);
  const problems = [...r.problems, ...where];
  const kinds = "data, stringData, Helm values, 3 failed renders, a refused apply, drifted diffs";
  const line =
    `secrets: ${r.planted.length} values planted (${kinds}); ${scan.tables} tables (${scan.items} items), ${r.logLines.length} log lines, ` +
    `${events.length} events, ${scan.messages} queue messages, ${r.outputs.length} CLI/API outputs scanned; ${found} found${problems.length ? `; PROBLEMS: ${problems.join("; ")}` : ""}`;
  return { ok: found === 0 && r.problems.length === 0, line, faults: r.planted.length, secretsFound: found };
}

/** The check "secrets" (see the module doc). */
export const secretsCheck: ChaosCheck = { name: "secrets", run };
