/**
 * Check "hostile webhooks": thousands of generated deliveries through the real webhook handler
 * (`functions/webhook/index.ts`, invoked with the Function URL event Lambda gives it) on real
 * DynamoDB Local and ElasticMQ, mixing for every host (GitHub, GitLab, Bitbucket Cloud and Data
 * Center, Gitea, Azure DevOps) forged, missing and garbage proofs, oversized bodies, malformed,
 * deeply nested and huge JSON, wrong content types, invalid UTF-8, replays of valid deliveries
 * (some racing their original, some with another commit under the same delivery id), validly
 * signed absurd payloads (wrong types, huge strings, odd refs, `after` not a SHA, thousands of
 * commits, huge delivery ids), with a known number of valid pushes among them.
 *
 * Then: the whole queue is read back and counted by delivery (every task of a push carries its
 * delivery id, and each valid push has its own commit, so FIFO deduplication cannot hide a
 * doubled enqueue): each valid push has exactly one task per tracking cluster, nothing else is
 * queued; no request threw or answered 5xx, every 4xx carries its reason; heap growth (after
 * a full GC) stays under `HEAP_BOUND_MB`. Prints p50/p99 latency and RSS/heap figures.
 */
import { randomUUID } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { ReconcileTask } from "../../shared/queue/tasks.js";
import { HOST_NAMES, type HostName } from "../../shared/webhook/host.js";
import { DEFAULT_MAX_BODY_BYTES } from "../../shared/webhook/receive.js";
import { localContext } from "../../tools/local/lambda.js";
import { isolated, stackEnv, type Isolated, drainTasks } from "../../test/support/stack.js";
import { headersFor, pushFor, type PushSpec, type SendOptions } from "../../test/support/webhooks.js";
import type { ChaosCheck, ChaosResult } from "./check.js";

/** Clusters registered per host, all tracking its repository's `main`: each valid push enqueues this many tasks. */
const CLUSTERS_PER_HOST = 2;
/** Requests in flight at once (replays race their original). */
const CONCURRENCY = 8;
/** Allowed heap growth over the run, after a full GC, MB. */
const HEAP_BOUND_MB = 64;
const ZERO = "0".repeat(40);

/** A generated request: the Function URL event; the delivery id when it is a valid push or a replay of one. */
interface Req {
  kind: string;
  event: APIGatewayProxyEventV2;
  valid?: string;
  replayOf?: string;
}

/** The raw request before it becomes a Lambda event. */
interface Raw {
  headers: Record<string, string>;
  body?: string | Buffer;
  method?: string;
}

const secretOf = (host: HostName) => (host === "azure-devops" ? "converge:chaos-password" : `chaos-${host}-secret`);
const repoOf = (host: HostName) => `${stackEnv().gitBase}/chaos-hooks-${host}.git`;

/** A deterministic pseudo-random generator (mulberry32), so a failing run can be repeated. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let commitCounter = 0;
/** A commit id no other push of the run uses. */
const freshSha = () => (++commitCounter).toString(16).padStart(40, "c");

/** A push of `host`'s repository (the tracked `main` unless told) at a fresh commit. */
function spec(host: HostName, over: Partial<PushSpec> = {}): PushSpec {
  return { repoUrl: repoOf(host), ref: "refs/heads/main", before: ZERO.replace(/0$/, "1"), after: freshSha(), ...over };
}

/** `payload` as `host` sends it: JSON body (Azure DevOps: its `id` is the delivery) and headers with the proof `o` makes. */
function signed(host: HostName, payload: unknown, o: Partial<SendOptions> & { delivery?: string } = {}): Raw {
  const delivery = o.delivery ?? randomUUID();
  const p = host === "azure-devops" && payload && typeof payload === "object" && !Array.isArray(payload) ? { ...payload, id: delivery } : payload;
  const body = o.rawBody ?? JSON.stringify(p);
  return { headers: headersFor(host, body, delivery, { secret: secretOf(host), ...o }), body };
}

/** Raw bytes signed with `host`'s real secret. */
function signedBytes(host: HostName, body: Buffer, contentType = "application/json"): Raw {
  return { headers: { ...headersFor(host, body, randomUUID(), { secret: secretOf(host) }), "content-type": contentType }, body };
}

/** Large inputs built once and reused. */
const BIG = {
  oversized: () => `{"ref":"refs/heads/main","pad":"${"x".repeat(DEFAULT_MAX_BODY_BYTES)}"}`,
  deepArray: () => `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
  deepObject: () => `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`,
  hugeArray: () => `[${Array.from({ length: 200_000 }, () => "0").join(",")}]`,
  megaString: () => "a".repeat(1024 * 1024),
};
const big = new Map<keyof typeof BIG, string>();
const bigOf = (k: keyof typeof BIG) => big.get(k) ?? (big.set(k, BIG[k]()), big.get(k)!);

/** Sets `path` (dot-separated) in `o` to `v`, creating objects on the way. */
function setPath(o: Record<string, unknown>, path: string, v: unknown): void {
  const keys = path.split(".");
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    if (!cur[k] || typeof cur[k] !== "object") cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys.at(-1)!] = v;
}

/** Field paths of each host's payload that carry the ref, the new commit and the repository. */
const FIELDS: Record<HostName, string[]> = {
  github: ["ref", "after", "repository", "repository.clone_url", "commits", "deleted"],
  gitea: ["ref", "after", "repository", "repository.clone_url", "commits", "total_commits"],
  gitlab: ["ref", "after", "project", "project.git_http_url", "commits", "total_commits_count"],
  "bitbucket-cloud": ["push", "push.changes", "repository", "repository.links", "repository.full_name"],
  "bitbucket-server": ["changes", "repository", "repository.links", "refChanges"],
  "azure-devops": ["resource", "resource.refUpdates", "resource.repository", "eventType", "resource.repository.remoteUrl"],
};
const ODD_VALUES: unknown[] = [123, null, [], {}, true, "", -1e308, [[[]]], { $ne: null }, "\u0000"];
/** Refs no cluster tracks, though close to `refs/heads/main` (Bitbucket Cloud sends branch names: a bare "main" would be main). */
const ODD_REFS = [
  "refs/heads/main\u0000",
  "refs/heads/../../etc/passwd",
  "refs/heads/ main",
  "refs/heads/main ",
  "refs/heads/💥",
  "refs/heads/main/../main",
  "refs/heads/",
  "refs/heads",
  "refs/tags/main",
  "heads/main",
  "refs/heads/MAIN",
  "refs/heads/main\n",
  "refs/heads/%6Dain",
  "refs/heads/main.lock",
  "refs/remotes/origin/main",
];
const NOT_SHAS = ["HEAD", "", "g".repeat(40), "0".repeat(39), "A".repeat(40), "../../x", `${"a".repeat(40)}\n`, "a".repeat(41), "main"];
const GARBAGE_PROOFS = ["sha256=", "sha256=zz", "sha1=0123", `sha256=${"0".repeat(64)}`, "Basic ", "Basic !!!!", "Bearer x", "x".repeat(64 * 1024), `sha256=${"f".repeat(63)}`];
const MALFORMED = ["{", '{"ref":', "nul", '{"a":1,}', "\u0000", "", "]", "{'ref':'refs/heads/main'}", '{"ref":"refs/heads/main"', "NaN", "1e99999"];

type Pick = <T>(xs: readonly T[]) => T;

/** The hostile request generators, each for one host. None of them can be a valid push of a tracked branch. */
function hostileKinds(pick: Pick): Record<string, (host: HostName) => Raw> {
  const untracked = (host: HostName) => spec(host, { ref: "refs/heads/chaos-untracked" });
  return {
    forged: (h) => signed(h, pushFor(h, spec(h)), { secret: pick(["forged", "", secretOf(h).toUpperCase(), `${secretOf(h)} `]) }),
    "missing proof": (h) => signed(h, pushFor(h, spec(h)), { proof: null }),
    "garbage proof": (h) => signed(h, pushFor(h, spec(h)), { proof: pick(GARBAGE_PROOFS) }),
    oversized: (h) => signed(h, {}, { rawBody: bigOf("oversized"), secret: "unchecked" }),
    "malformed JSON": (h) => signed(h, {}, { rawBody: pick(MALFORMED) }),
    "deep JSON": (h) => signed(h, {}, { rawBody: bigOf(pick(["deepArray", "deepObject"] as const)) }),
    "huge array": (h) => signed(h, {}, { rawBody: bigOf("hugeArray") }),
    "wrong content type": (h) => wrongContentType(h, pick, untracked(h)),
    "invalid UTF-8": (h) => invalidUtf8(h, untracked(h)),
    "wrong types": (h) => {
      const p = pushFor(h, untracked(h));
      setPath(p, pick(FIELDS[h]), pick(ODD_VALUES));
      return signed(h, pick([p, p, null, [], "push", 42]));
    },
    "huge strings": (h) => hugeStrings(h, pick),
    "odd ref": (h) => signed(h, pushFor(h, spec(h, { ref: pick(ODD_REFS) }))),
    "after not a SHA": (h) => signed(h, pushFor(h, spec(h, { after: pick(NOT_SHAS) }))),
    "thousands of commits": (h) => signed(h, { ...pushFor(h, untracked(h)), commits: manyCommits(5000), total_commits: 5000, total_commits_count: 5000 }),
    "unrecognised sender": () => ({ headers: { "content-type": "application/json", "x-event": "push" }, body: JSON.stringify(pushFor("github", spec("github"))) }),
    "not POST": (h) => ({ ...signed(h, pushFor(h, spec(h))), method: pick(["GET", "PUT", "DELETE", "OPTIONS"]) }),
    "empty body": (h) => ({ headers: signed(h, {}, { rawBody: "" }).headers, body: undefined }),
  };
}

/** A signed body under a content type other than JSON: form-encoded (GitHub's other option), plain text, XML. */
function wrongContentType(host: HostName, pick: Pick, s: PushSpec): Raw {
  const json = JSON.stringify(pushFor(host, s));
  const [type, body] = pick([
    ["application/x-www-form-urlencoded", `payload=${encodeURIComponent(json)}`],
    ["text/plain", json],
    ["application/xml", "<push><ref>refs/heads/main</ref></push>"],
    ["multipart/form-data; boundary=x", `--x\r\nContent-Disposition: form-data; name="payload"\r\n\r\n${json}\r\n--x--`],
  ] as const);
  return signedBytes(host, Buffer.from(body), type);
}

/** A push whose ref holds bytes that are not UTF-8, signed over those bytes. */
function invalidUtf8(host: HostName, s: PushSpec): Raw {
  const json = JSON.stringify(pushFor(host, { ...s, ref: "refs/heads/chaos-@@" }));
  const [head, tail] = json.split("@@") as [string, string];
  return signedBytes(host, Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from(tail)]));
}

/** Validly signed pushes with a megabyte where a ref, a branch, a repository URL or a delivery id goes. */
function hugeStrings(host: HostName, pick: Pick): Raw {
  const mega = bigOf("megaString");
  const long = "d".repeat(pick([3000, 10_000, 100_000]));
  switch (pick(["ref", "branch", "repo", "delivery"] as const)) {
    case "ref":
      return signed(host, pushFor(host, spec(host, { ref: mega })));
    case "branch":
      return signed(host, pushFor(host, spec(host, { ref: `refs/heads/${long}` })));
    case "repo":
      return signed(host, pushFor(host, spec(host, { repoUrl: `https://example.com/${mega}.git`, ref: "refs/heads/chaos-untracked" })));
    case "delivery":
      return signed(host, pushFor(host, spec(host, { ref: "refs/heads/chaos-untracked" })), { delivery: long });
  }
}

/** `n` commits in GitHub's listed-commit shape, each adding one file. */
function manyCommits(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({ id: freshSha(), message: `c${i}`, added: [`f/${i}.yaml`], modified: [], removed: [] }));
}

/** The Lambda Function URL event of `r` (non-UTF-8 bytes base64-encoded, as Function URLs do for binary bodies). */
function eventOf(r: Raw): APIGatewayProxyEventV2 {
  const binary = Buffer.isBuffer(r.body);
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/",
    rawQueryString: "",
    headers: r.headers,
    requestContext: { http: { method: r.method ?? "POST", path: "/", protocol: "HTTP/1.1", sourceIp: "203.0.113.9", userAgent: "chaos" }, requestId: randomUUID(), timeEpoch: Date.now() },
    body: binary ? (r.body as Buffer).toString("base64") : (r.body as string | undefined),
    isBase64Encoded: binary,
  } as unknown as APIGatewayProxyEventV2;
}

/**
 * The request list, generated lazily: `valid` valid pushes spread evenly (hosts in turn), each
 * followed by two replays of its delivery id (the same body; another commit, re-signed), the
 * rest hostile requests of random kinds and hosts.
 */
function* requests(total: number, valid: number, seed: number): Generator<Req> {
  const rnd = prng(seed);
  const pick: Pick = (xs) => xs[Math.floor(rnd() * xs.length)]!;
  const kinds = Object.entries(hostileKinds(pick));
  const step = Math.floor(total / valid);
  let v = 0;
  for (let i = 0; i < total; ) {
    if (i % step === 0 && v < valid && i + 3 <= total) {
      const host = HOST_NAMES[v++ % HOST_NAMES.length]!;
      const delivery = randomUUID();
      const payload = pushFor(host, spec(host));
      yield { kind: "valid push", event: eventOf(signed(host, payload, { delivery })), valid: delivery };
      yield { kind: "replay", event: eventOf(signed(host, payload, { delivery })), replayOf: delivery };
      yield { kind: "replay", event: eventOf(signed(host, pushFor(host, spec(host)), { delivery })), replayOf: delivery };
      i += 3;
      continue;
    }
    const [kind, make] = pick(kinds);
    yield { kind, event: eventOf(make(pick(HOST_NAMES))) };
    i++;
  }
}

/** Registers the clusters every host's valid pushes reach. */
async function registerClusters(iso: Isolated): Promise<void> {
  for (const host of HOST_NAMES) {
    for (let n = 1; n <= CLUSTERS_PER_HOST; n++) {
      await iso.services.clusters.add({
        name: `chaos-${host}-${n}`,
        source: { repoUrl: repoOf(host), branch: "main", path: "guestbook" },
        namespace: "default",
        access: { type: "server", server: "https://127.0.0.1:1" },
        intervalSeconds: 300,
      });
    }
  }
}

/** A full garbage collection (V8's `gc`, exposed at run time), so heap figures compare live data. */
function fullGc(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/** What sending the requests observed. */
interface Tally {
  sent: number;
  hostile: number;
  crashes: string[];
  hostileEnqueued: string[];
  /** Per valid delivery: the answers (original or replays, which race it) that enqueued its tasks. */
  accepted: Map<string, number>;
  latencies: number[];
  /** The slowest answer of each kind, ms. */
  slowest: Map<string, number>;
  maxRss: number;
  maxHeap: number;
  byStatus: Map<number, number>;
}

type Handler = (e: APIGatewayProxyEventV2, c: ReturnType<typeof localContext>) => Promise<{ statusCode?: number; body?: string }>;

/** Sends one request through the handler and records what it answered. */
async function sendOne(handler: Handler, r: Req, t: Tally): Promise<void> {
  const t0 = performance.now();
  let status = 0;
  let body: Record<string, unknown> = {};
  try {
    const res = await handler(r.event, localContext("converge-webhook"));
    status = res.statusCode ?? 0;
    body = JSON.parse(res.body ?? "{}") as Record<string, unknown>;
  } catch (err) {
    t.crashes.push(`${r.kind}: threw ${(err as Error).message}`);
  }
  const ms = performance.now() - t0;
  t.latencies.push(ms);
  t.slowest.set(r.kind, Math.max(ms, t.slowest.get(r.kind) ?? 0));
  t.sent++;
  if (!r.valid) t.hostile++;
  t.byStatus.set(status, (t.byStatus.get(status) ?? 0) + 1);
  if (status >= 500 || status < 200 || (status >= 300 && status < 400)) t.crashes.push(`${r.kind}: ${status} ${String(body.error ?? "").slice(0, 200)}`);
  else if (status >= 400 && typeof body.error !== "string") t.crashes.push(`${r.kind}: ${status} without a reason`);
  const enqueued = Number(body.enqueued ?? 0);
  const of = r.valid ?? r.replayOf;
  if (of && status === 202 && enqueued > 0) t.accepted.set(of, (t.accepted.get(of) ?? 0) + 1);
  else if (!of && enqueued > 0) t.hostileEnqueued.push(`${r.kind}: ${enqueued} enqueued for ${String(body.delivery)}`);
}

/** Sends every request, `CONCURRENCY` at a time, sampling memory as it goes. */
async function sendAll(handler: Handler, reqs: Iterator<Req>, t: Tally, log: (s: string) => void): Promise<void> {
  const worker = async () => {
    for (let n = reqs.next(); !n.done; n = reqs.next()) {
      await sendOne(handler, n.value, t);
      if (t.sent % 100 === 0) {
        const m = process.memoryUsage();
        t.maxRss = Math.max(t.maxRss, m.rss);
        t.maxHeap = Math.max(t.maxHeap, m.heapUsed);
        if (t.sent % 2000 === 0) log(`${t.sent} sent, heap ${mb(m.heapUsed)} MB, rss ${mb(m.rss)} MB`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const fmt = (n: number) => n.toLocaleString("en-US");
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? 0;

/** Counts the queue's tasks by delivery against the valid pushes: missing, extra and stray tasks. */
function countByDelivery(tasks: ReconcileTask[], valid: Set<string>): { lost: number; doubled: number; problems: string[] } {
  const per = new Map<string, number>();
  for (const task of tasks) per.set(task.deliveryId ?? "(none)", (per.get(task.deliveryId ?? "(none)") ?? 0) + 1);
  let lost = 0;
  let doubled = 0;
  const problems: string[] = [];
  for (const d of valid) {
    const n = per.get(d) ?? 0;
    if (n < CLUSTERS_PER_HOST) (lost += CLUSTERS_PER_HOST - n), problems.push(`delivery ${d}: ${n} of ${CLUSTERS_PER_HOST} tasks`);
    if (n > CLUSTERS_PER_HOST) (doubled += n - CLUSTERS_PER_HOST), problems.push(`delivery ${d}: ${n} tasks`);
  }
  for (const [d, n] of per) if (!valid.has(d)) (doubled += n), problems.push(`${n} task(s) of a hostile delivery ${d.slice(0, 80)}`);
  return { lost, doubled, problems };
}

/** Imports the real handler with an isolated installation's environment and one secret per host. */
async function loadHandler(iso: Isolated): Promise<Handler> {
  const saved = { ...process.env };
  const secrets = Object.fromEntries(HOST_NAMES.map((h) => [h, [secretOf(h)]]));
  // warnings ("webhook rejected") for 10,000 hostile requests are noise here; errors (stderr) are kept
  Object.assign(process.env, iso.env, { CONVERGE_WEBHOOK_SECRETS: JSON.stringify(secrets), POWERTOOLS_LOG_LEVEL: "ERROR" });
  delete process.env.CONVERGE_WEBHOOK_SECRET;
  delete process.env.CONVERGE_WEBHOOK_MAX_BYTES;
  try {
    return (await import("../../functions/webhook/index.js")).handler as unknown as Handler;
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** The check. */
export const hostileWebhooks: ChaosCheck = {
  name: "hostile webhooks",
  async run({ quick, log }): Promise<ChaosResult> {
    const total = quick ? 1_000 : 10_000;
    const valid = quick ? 12 : 60;
    const iso = await isolated("chaos-hooks");
    await registerClusters(iso);
    const handler = await loadHandler(iso);
    fullGc();
    const before = process.memoryUsage();
    const t: Tally = {
      sent: 0,
      hostile: 0,
      crashes: [],
      hostileEnqueued: [],
      accepted: new Map(),
      latencies: [],
      slowest: new Map(),
      maxRss: before.rss,
      maxHeap: before.heapUsed,
      byStatus: new Map(),
    };
    const sentValid = new Set<string>();
    const gen = requests(total, valid, 20261202);
    const tracked: Iterator<Req> = {
      next: () => {
        const n = gen.next();
        if (!n.done && n.value.valid) sentValid.add(n.value.valid);
        return n;
      },
    };
    await sendAll(handler, tracked, t, log);
    const tasks = await drainTasks(iso);
    big.clear();
    fullGc();
    const after = process.memoryUsage();
    const q = countByDelivery(tasks, sentValid);
    const heapGrowth = after.heapUsed - before.heapUsed;
    const problems = [...t.crashes, ...t.hostileEnqueued, ...q.problems];
    for (const d of sentValid) if (t.accepted.get(d) !== 1) problems.push(`delivery ${d}: ${t.accepted.get(d) ?? 0} answers enqueued it (original and replays together), 1 expected`);
    if (heapGrowth > HEAP_BOUND_MB * 1024 * 1024) problems.push(`heap grew by ${mb(heapGrowth)} MB (bound ${HEAP_BOUND_MB} MB)`);
    for (const p of problems.slice(0, 20)) log(`problem: ${p}`);
    log(
      `answers by status: ${[...t.byStatus]
        .sort((a, b) => a[0] - b[0])
        .map(([s, n]) => `${s} ${fmt(n)}`)
        .join(", ")}`,
    );
    log(
      `slowest answer by kind: ${[...t.slowest]
        .sort((a, b) => b[1] - a[1])
        .map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`)
        .join(", ")}`,
    );
    log(`memory: rss ${mb(before.rss)} -> ${mb(after.rss)} MB (max ${mb(t.maxRss)}), heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} MB (max ${mb(t.maxHeap)})`);
    const line = `${this.name}: ${fmt(t.sent)} requests (${fmt(t.hostile)} hostile, ${sentValid.size} valid), ${tasks.length} enqueued (${sentValid.size * CLUSTERS_PER_HOST} expected), ${t.crashes.length} crashes, p50 ${percentile(t.latencies, 50).toFixed(1)} ms, p99 ${percentile(t.latencies, 99).toFixed(1)} ms, heap ${heapGrowth >= 0 ? "+" : ""}${mb(heapGrowth)} MB (max ${mb(t.maxHeap)} MB, rss max ${mb(t.maxRss)} MB)`;
    return { ok: problems.length === 0, line, faults: t.hostile, lost: q.lost, doubled: q.doubled + [...t.accepted.values()].reduce((n, a) => n + Math.max(0, a - 1), 0), crashes: t.crashes.length };
  },
};
