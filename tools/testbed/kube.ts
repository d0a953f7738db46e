/**
 * Real Kubernetes clusters for the test bed: kube-apiserver, kube-controller-manager and
 * kube-scheduler from `k8s.io/kubernetes` v1.34.4 and etcd v3.6.4, built from the Go module
 * proxy (wrapper module `tools/kube/`), run by `kwokctl --runtime binary` (kwok v0.7.0, also
 * built from the module proxy) with kwok's fake nodes, so a Deployment gets a ReplicaSet and
 * Running Pods.
 *
 * Nothing is downloaded at run time: kwokctl is given every component it starts as a local
 * file (its defaults are GitHub / dl.k8s.io URLs), including the kubectl it uses for its own
 * readiness checks (the kubectl layer's, put first on its PATH). Every port is chosen free on
 * 127.0.0.1 here and every component binds 127.0.0.1 only, so clusters can be created in
 * parallel (kwokctl's own port picker counts down from 32767 in each process, so two
 * concurrent kwokctl processes would otherwise pick the same ports). All state lives in a
 * per-run temp folder (`KWOK_WORKDIR`, one per cluster), nothing in ~/.kwok or ~/.kube.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cacheDir, repoRoot } from "./cache.js";
import { freePort, requireTool } from "./proc.js";
import { kubectlBinaries } from "./binaries.js";

/** What is built. */
export const KUBERNETES_VERSION = "v1.34.4";
export const ETCD_VERSION = "v3.6.4";
export const KWOK_VERSION = "v0.7.0";

/** Absolute paths of the built binaries (all in `dir`). */
export interface KubeBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  /** kwok (run by kwokctl as the kwok-controller, which fakes nodes and pods). */
  kwok: string;
  kwokctl: string;
}

const stderrLog = (s: string) => void process.stderr.write(`${s}\n`);

/** Runs a command, counting the lines it prints (Go's `-v` prints one per compiled package). */
export function runCounting(cmd: string, args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }, onLine: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    const onData = (b: Buffer) => {
      const text = b.toString();
      tail = (tail + text).slice(-6000);
      for (const c of text) if (c === "\n") onLine();
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} failed (exit ${code}):\n${tail}`))));
  });
}

/**
 * Builds the control plane into `<cache>/bin/k8s-v1.34.4/` when a binary is missing there:
 * `etcd`, `kube-apiserver`, `kube-controller-manager`, `kube-scheduler` (`go build` in
 * `tools/kube`, version-stamped so kwokctl reads v1.34.4 from `--version`) and `kwok`,
 * `kwokctl` (`go install sigs.k8s.io/kwok/cmd/...@v0.7.0` with GOBIN set). Go writes into a
 * private temp folder; each file is then renamed into place, so an interrupted build is never
 * taken for a finished one. Progress goes to `log` (stderr by default): a start line, a count
 * of compiled packages every 20 s, the total time. The first build takes about 7 minutes on 2
 * cores (plus the module downloads); with Go's build cache warm, about a minute; when every
 * file is there, nothing runs.
 * @returns the binaries' absolute paths.
 * @throws Error "go is required: ..." when Go is not on PATH; Error with the failing command
 *   and the tail of Go's output when a build fails.
 */
export async function ensureKubeBinaries(log: (line: string) => void = stderrLog): Promise<KubeBinaries> {
  const dir = cacheDir("bin", `k8s-${KUBERNETES_VERSION}`);
  const b: KubeBinaries = {
    dir,
    etcd: join(dir, "etcd"),
    kubeApiserver: join(dir, "kube-apiserver"),
    kubeControllerManager: join(dir, "kube-controller-manager"),
    kubeScheduler: join(dir, "kube-scheduler"),
    kwok: join(dir, "kwok"),
    kwokctl: join(dir, "kwokctl"),
  };
  const kubeFiles = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];
  const kwokFiles = ["kwok", "kwokctl"];
  const needKube = kubeFiles.some((f) => !existsSync(join(dir, f)));
  const needKwok = kwokFiles.some((f) => !existsSync(join(dir, f)));
  if (!needKube && !needKwok) return b;
  requireTool("go", "Go 1.24 or later builds the Kubernetes control plane for the test bed (https://go.dev/dl, or apt-get install golang-go if Debian's is recent enough)");
  const tmp = mkdtempSync(`${dir}.building-`);
  const t0 = Date.now();
  let packages = 0;
  log(
    `building Kubernetes ${KUBERNETES_VERSION} (kube-apiserver, kube-controller-manager, kube-scheduler), etcd ${ETCD_VERSION} and kwok ${KWOK_VERSION} from the Go module proxy into ${dir} (first run only, ~7 minutes on 2 cores)...`,
  );
  const timer = setInterval(() => log(`  ... ${packages} packages compiled, ${Math.round((Date.now() - t0) / 1000)} s`), 20_000);
  timer.unref();
  const [major, minor] = KUBERNETES_VERSION.slice(1).split(".");
  const stamp = ["component-base/version", "client-go/pkg/version"]
    .flatMap((p) => [`-X k8s.io/${p}.gitVersion=${KUBERNETES_VERSION}`, `-X k8s.io/${p}.gitMajor=${major}`, `-X k8s.io/${p}.gitMinor=${minor}`, `-X k8s.io/${p}.gitTreeState=clean`])
    .join(" ");
  const env = { ...process.env, CGO_ENABLED: "0" };
  const onLine = () => void packages++;
  try {
    await Promise.all([
      needKube &&
        runCounting(
          "go",
          [
            "build",
            "-v",
            "-trimpath",
            "-buildvcs=false",
            `-ldflags=-s -w ${stamp}`,
            "-o",
            `${tmp}/`,
            "./etcd",
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kube-scheduler",
          ],
          { cwd: join(repoRoot, "tools", "kube"), env },
          onLine,
        ),
      needKwok &&
        runCounting(
          "go",
          ["install", "-v", "-ldflags=-s -w", `sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}`, `sigs.k8s.io/kwok/cmd/kwokctl@${KWOK_VERSION}`],
          { cwd: tmp, env: { ...env, GOBIN: tmp } },
          onLine,
        ),
    ]);
    for (const f of [...(needKube ? kubeFiles : []), ...(needKwok ? kwokFiles : [])]) renameSync(join(tmp, f), join(dir, f));
  } finally {
    clearInterval(timer);
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`built in ${Math.round((Date.now() - t0) / 1000)} s (${packages} packages compiled)`);
  return b;
}

/** A running cluster. */
export interface ClusterHandle {
  name: string;
  /** Path of a kubeconfig file holding only this cluster (client certificate auth; the files it points to live in `workdir`). */
  kubeconfig: string;
  /** Its context name: `kwok-<name>` (also the file's current-context). */
  context: string;
  /** API server URL, `https://127.0.0.1:<port>`. */
  server: string;
  /** The cluster's KWOK_WORKDIR (component logs in `clusters/<name>/logs/`); removed by stop(). */
  workdir: string;
  /**
   * Deletes the cluster (`kwokctl delete cluster`), waits until its processes are gone
   * (SIGKILL after 10 s) and removes its folder. Idempotent; never throws.
   */
  stop(): Promise<void>;
}

/** Options of startClusters. */
export interface StartClustersOptions {
  /** Progress lines (the build's and one with the creation time). Default: none. */
  log?: (line: string) => void;
  /** Fake nodes per cluster (default 2). */
  nodes?: number;
  /** Folder holding one KWOK_WORKDIR per cluster. Default: a new temp folder, removed when its last cluster stops. */
  root?: string;
  /** Leave the clusters running when this process exits (the CLI's `up`). Default false: they are killed on exit. */
  detached?: boolean;
  /** Create the clusters concurrently (default true) or one after the other. */
  parallel?: boolean;
  /** Per-cluster limit for create + ready + nodes Ready (default 120 s). */
  timeoutMs?: number;
}

function execText(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `timed out after ${opts.timeoutMs ?? 60_000} ms` : `exit ${err.code}`;
        reject(new Error(`${cmd.split("/").pop()} ${args.join(" ")} failed (${why})\n${readableLog(String(stderr)).slice(-4000)}`));
      } else resolve(String(stdout));
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** kwokctl logs JSON lines: keep level, message and error of each. */
function readableLog(text: string): string {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        return [j.level, j.msg, j.cluster, j.err]
          .filter((x) => x !== undefined)
          .map(String)
          .join(" ");
      } catch {
        return line;
      }
    })
    .join("\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Processes of the clusters started without `detached`, killed if this process exits first. */
const live = new Map<string, { pidsDir: string; ownRoot?: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const [workdir, { pidsDir, ownRoot }] of live) {
      for (const pid of readPids(pidsDir, workdir)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      rmSync(workdir, { recursive: true, force: true });
      if (ownRoot) removeIfEmpty(ownRoot);
    }
  });
  // proc.ts turns SIGINT/SIGTERM into process.exit; do the same if nobody else does
  for (const sig of ["SIGINT", "SIGTERM"] as const) if (process.listenerCount(sig) === 0) process.once(sig, () => process.exit(130));
}

/** The pids kwokctl recorded for a cluster, only those still running one of its binaries with its workdir on the command line. */
function readPids(pidsDir: string, workdir: string): number[] {
  let files: string[] = [];
  try {
    files = readdirSync(pidsDir).filter((f) => f.endsWith(".pid"));
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const f of files) {
    const pid = Number(readFileSync(join(pidsDir, f), "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`${workdir}/`)) pids.push(pid);
    } catch {
      /* not running */
    }
  }
  return pids;
}

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  } catch {
    /* already gone */
  }
}

function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function logTails(workdir: string, name: string): string {
  const dir = join(workdir, "clusters", name, "logs");
  try {
    return readdirSync(dir)
      .map((f) => `--- ${f} (last lines)\n${readFileSync(join(dir, f), "utf8").split("\n").slice(-8).join("\n")}`)
      .join("\n");
  } catch {
    return "(no component logs)";
  }
}

interface Ctx {
  bin: KubeBinaries;
  kubectl: string;
  root: string;
  ownRoot: boolean;
  detached: boolean;
}

function kwokEnv(ctx: Ctx, workdir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KWOK_WORKDIR: workdir,
    // kwokctl runs `kubectl` from PATH for its readiness checks (it would download one if none)
    PATH: `${dirname(ctx.kubectl)}:${process.env.PATH ?? ""}`,
    KWOK_KUBECTL_BINARY: ctx.kubectl,
    // kubectl's discovery cache, instead of ~/.kube/cache
    KUBECACHEDIR: join(workdir, "kube-cache"),
  };
}

function makeHandle(ctx: Ctx, name: string, server: string): ClusterHandle {
  const workdir = join(ctx.root, name);
  const kubeconfig = join(workdir, "kubeconfig");
  const pidsDir = join(workdir, "clusters", name, "pids");
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const pids = readPids(pidsDir, workdir);
      await execText(ctx.bin.kwokctl, ["delete", "cluster", "--name", name, "--kubeconfig", kubeconfig], { env: kwokEnv(ctx, workdir), timeoutMs: 30_000 }).catch(() => undefined);
      const deadline = Date.now() + 10_000;
      while (pids.some(running) && Date.now() < deadline) await sleep(100);
      for (const pid of pids.filter(running)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      live.delete(workdir);
      rmSync(workdir, { recursive: true, force: true });
      if (ctx.ownRoot) removeIfEmpty(ctx.root);
    })());
  return { name, kubeconfig, context: `kwok-${name}`, server, workdir, stop };
}

async function createCluster(ctx: Ctx, name: string, ports: number[], nodes: number, timeoutMs: number): Promise<ClusterHandle> {
  const [etcdPeer, etcd, apiserver, kwokController, kcm, scheduler] = ports;
  const workdir = join(ctx.root, name);
  if (existsSync(join(workdir, "clusters", name))) throw new Error(`cluster ${name} already exists in ${workdir} (stop it first)`);
  mkdirSync(workdir, { recursive: true });
  const config = join(workdir, "kwokctl.yaml");
  // options without a command line flag: bind address, etcd peer port, download cache, kubectl
  writeFileSync(
    config,
    [
      "apiVersion: config.kwok.x-k8s.io/v1alpha1",
      "kind: KwokctlConfiguration",
      "options:",
      "  bindAddress: 127.0.0.1",
      `  etcdPeerPort: ${etcdPeer}`,
      `  cacheDir: ${JSON.stringify(join(workdir, "cache"))}`,
      `  kubectlBinary: ${JSON.stringify(ctx.kubectl)}`,
      "",
    ].join("\n"),
  );
  const handle = makeHandle(ctx, name, `https://127.0.0.1:${apiserver}`);
  if (!ctx.detached) {
    live.set(workdir, { pidsDir: join(workdir, "clusters", name, "pids"), ownRoot: ctx.ownRoot ? ctx.root : undefined });
    installExitHook();
  }
  const env = kwokEnv(ctx, workdir);
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  const kubectl = (...args: string[]) => execText(ctx.kubectl, ["--kubeconfig", handle.kubeconfig, ...args], { env, timeoutMs: 15_000 });
  try {
    // prettier-ignore
    await execText(
      ctx.bin.kwokctl,
      [
        "--config",
        config,
        "create",
        "cluster",
        "--name",
        name,
        "--runtime",
        "binary",
        "--kubeconfig",
        handle.kubeconfig,
        "--wait",
        `${Math.round(left() / 1000)}s`,
        "--etcd-binary",
        ctx.bin.etcd,
        "--kube-apiserver-binary",
        ctx.bin.kubeApiserver,
        "--kube-controller-manager-binary",
        ctx.bin.kubeControllerManager,
        "--kube-scheduler-binary",
        ctx.bin.kubeScheduler,
        "--kwok-controller-binary",
        ctx.bin.kwok,
        "--etcd-port",
        String(etcd),
        "--kube-apiserver-port",
        String(apiserver),
        "--controller-port",
        String(kwokController),
        "--kube-controller-manager-port",
        String(kcm),
        "--kube-scheduler-port",
        String(scheduler),
      ],
      { env, timeoutMs: left() },
    );
    // kwokctl only logs a readiness timeout; check ourselves
    for (;;) {
      const ok = await kubectl("get", "--raw", "/readyz").then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`API server of ${name} not ready after ${timeoutMs} ms`);
      await sleep(250);
    }
    await execText(ctx.bin.kwokctl, ["--config", config, "scale", "node", "--replicas", String(nodes), "--name", name], { env, timeoutMs: left() });
    // fake nodes Ready, and the default ServiceAccount (made by kube-controller-manager, needed for Pods)
    for (;;) {
      const ready = await kubectl("get", "nodes", "-o", 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}').then(
        (out) => out.split("\n").filter((s) => s === "True").length,
        () => 0,
      );
      const sa =
        ready >= nodes &&
        (await kubectl("get", "serviceaccount", "default", "-n", "default", "-o", "name").then(
          () => true,
          () => false,
        ));
      if (sa) break;
      if (Date.now() > deadline)
        throw new Error(`cluster ${name}: ${ready}/${nodes} nodes Ready${ready >= nodes ? ", no default ServiceAccount (kube-controller-manager not working?)" : ""} after ${timeoutMs} ms`);
      await sleep(250);
    }
    return handle;
  } catch (err) {
    const logs = logTails(workdir, name);
    await handle.stop();
    throw new Error(`could not start cluster ${name}: ${(err as Error).message}\n${logs}`);
  }
}

const NAME = /^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/;

/**
 * Starts one real cluster per name (kwokctl binary runtime with the binaries of
 * ensureKubeBinaries, building them first when missing) with `nodes` kwok fake nodes each,
 * and returns when every cluster's API server is ready, its nodes are Ready and
 * kube-controller-manager has made the default ServiceAccount. Ports are free ports on
 * 127.0.0.1. Clusters without `detached` are also killed (and their folders removed) when
 * this process exits.
 * @param names cluster names: lowercase DNS labels (`[a-z0-9-]`), distinct.
 * @returns one handle per name, in the order of `names`.
 * @throws Error for an invalid or repeated name, a name already running under `root`, a
 *   missing tool (go, unzip) or a failed build; Error "could not start cluster X: ..." with
 *   kwokctl's output and the tails of the component logs when a cluster does not come up in
 *   `timeoutMs` (then every cluster of this call is stopped before the error is thrown).
 */
export async function startClusters(names: string[], opts: StartClustersOptions = {}): Promise<ClusterHandle[]> {
  for (const n of names) if (!NAME.test(n)) throw new Error(`invalid cluster name ${JSON.stringify(n)}: use lowercase letters, digits and '-'`);
  if (new Set(names).size !== names.length) throw new Error(`cluster names repeat: ${names.join(", ")}`);
  if (names.length === 0) return [];
  const log = opts.log ?? (() => {});
  const bin = await ensureKubeBinaries(log);
  const { kubectl } = kubectlBinaries();
  const ownRoot = opts.root === undefined;
  const root = opts.root ?? mkdtempSync(join(tmpdir(), "converge-kwok-"));
  mkdirSync(root, { recursive: true });
  const ctx: Ctx = { bin, kubectl, root, ownRoot, detached: opts.detached ?? false };
  // all ports up front, distinct, so concurrent kwokctl processes never pick the same one
  const used = new Set<number>();
  const ports: number[][] = [];
  for (let i = 0; i < names.length; i++) {
    const mine: number[] = [];
    while (mine.length < 6) {
      const p = await freePort();
      if (!used.has(p)) used.add(p), mine.push(p);
    }
    ports.push(mine);
  }
  const t0 = Date.now();
  const nodes = opts.nodes ?? 2;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  let results: PromiseSettledResult<ClusterHandle>[];
  if (opts.parallel ?? true) {
    results = await Promise.allSettled(names.map((n, i) => createCluster(ctx, n, ports[i]!, nodes, timeoutMs)));
  } else {
    results = [];
    for (const [i, n] of names.entries()) {
      const r = await createCluster(ctx, n, ports[i]!, nodes, timeoutMs).then(
        (value) => ({ status: "fulfilled", value }) as const,
        (reason: unknown) => ({ status: "rejected", reason }) as const,
      );
      results.push(r);
      if (r.status === "rejected") break;
    }
  }
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.all(results.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    if (ownRoot) rmSync(root, { recursive: true, force: true });
    throw failed.reason;
  }
  log(`${names.length} Kubernetes ${KUBERNETES_VERSION} cluster(s) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return results.map((r) => (r as PromiseFulfilledResult<ClusterHandle>).value);
}

/**
 * Stops clusters started earlier under `root` (possibly by another process, e.g. the CLI's
 * `up`): `kwokctl delete cluster`, wait for the processes, remove `<root>/<name>`. A name
 * with nothing under `root` is skipped.
 * @returns the names that were running.
 * @throws Error when Go is missing and the binaries have to be built (see ensureKubeBinaries).
 */
export async function stopClusters(names: string[], root: string, log: (line: string) => void = () => {}): Promise<string[]> {
  const bin = await ensureKubeBinaries(log);
  const { kubectl } = kubectlBinaries();
  const ctx: Ctx = { bin, kubectl, root, ownRoot: false, detached: true };
  const present = names.filter((n) => existsSync(join(root, n)));
  await Promise.all(present.map((n) => makeHandle(ctx, n, "").stop()));
  return present;
}
