/**
 * Real Kubernetes clusters for the test bed: kube-apiserver, kube-controller-manager and
 * kube-scheduler from `k8s.io/kubernetes` v1.34.4 and etcd v3.6.4, built from the Go module
 * proxy (wrapper module `tools/kube/`), run by `kwokctl --runtime binary` with kwok's fake
 * nodes so Deployments get ReplicaSets and Running Pods. Nothing is downloaded at run time:
 * every component kwokctl starts is given as a local binary.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { cacheDir, repoRoot } from "./cache.js";
import { requireTool } from "./proc.js";

const run = promisify(execFile);

/** Versions of what is built. */
export const KUBERNETES_VERSION = "v1.34.4";
export const KWOK_VERSION = "v0.7.0";

/** The built binaries. */
export interface KubeBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
  kwokctl: string;
}

function spawnLogged(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }, log: (s: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    let count = 0;
    const onData = (b: Buffer) => {
      const text = b.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split("\n").filter(Boolean)) {
        count++;
        if (count % 100 === 0) log(`  ... ${count} packages compiled (latest: ${line.trim()})`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} failed (${code}):\n${tail}`))));
  });
}

/**
 * Builds the binaries into `<cache>/bin/k8s-<version>` when missing (a temp folder renamed
 * when complete, so an interrupted build is never taken for a finished one).
 * First build: about 6 minutes on 2 cores; Go's build cache makes later rebuilds seconds.
 * @throws Error when Go is missing or the build fails (with Go's output).
 */
export async function ensureKubeBinaries(log: (s: string) => void = (s) => process.stderr.write(s + "\n")): Promise<KubeBinaries> {
  const dir = cacheDir("bin", `k8s-${KUBERNETES_VERSION}-kwok-${KWOK_VERSION}`);
  const b: KubeBinaries = {
    dir,
    etcd: join(dir, "etcd"),
    kubeApiserver: join(dir, "kube-apiserver"),
    kubeControllerManager: join(dir, "kube-controller-manager"),
    kubeScheduler: join(dir, "kube-scheduler"),
    kwok: join(dir, "kwok"),
    kwokctl: join(dir, "kwokctl"),
  };
  if ([b.etcd, b.kubeApiserver, b.kubeControllerManager, b.kubeScheduler, b.kwok, b.kwokctl].every((f) => existsSync(f))) return b;
  requireTool("go", "Go 1.24+ builds the Kubernetes control plane for the test bed (https://go.dev/dl or apt-get install golang)");
  const tmp = `${dir}.building`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const t0 = Date.now();
  log(`building Kubernetes ${KUBERNETES_VERSION} (kube-apiserver, kube-controller-manager, kube-scheduler), etcd and kwok ${KWOK_VERSION} from the Go module proxy: first run only, about 6 minutes on 2 cores`);
  const [major, minor] = KUBERNETES_VERSION.slice(1).split(".");
  const stamp = ["component-base/version", "client-go/pkg/version"]
    .flatMap((p) => [`-X k8s.io/${p}.gitVersion=${KUBERNETES_VERSION}`, `-X k8s.io/${p}.gitMajor=${major}`, `-X k8s.io/${p}.gitMinor=${minor}`, `-X k8s.io/${p}.gitTreeState=clean`])
    .join(" ");
  const env = { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod" };
  await Promise.all([
    spawnLogged("go", ["build", "-v", "-trimpath", `-ldflags=-s -w ${stamp}`, "-o", `${tmp}/`, "./etcd", "k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager", "k8s.io/kubernetes/cmd/kube-scheduler"], { cwd: join(repoRoot, "tools", "kube"), env }, log),
    spawnLogged("go", ["install", "-v", `sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}`, `sigs.k8s.io/kwok/cmd/kwokctl@${KWOK_VERSION}`], { env: { ...env, GOFLAGS: "", GOBIN: tmp } }, log),
  ]);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return b;
}

/** A running cluster: kubeconfig file and context to reach it. */
export interface ClusterHandle {
  name: string;
  kubeconfig: string;
  context: string;
  stop(): Promise<void>;
}

/**
 * Creates one kwok cluster per name (sequentially: kwokctl picks ports without coordinating
 * across processes), each with 2 fake nodes, all state under a
 * fresh folder (`KWOK_WORKDIR`), nothing in ~/.kwok or ~/.kube.
 * @throws Error with kwokctl's output when a cluster does not become ready within 120 s
 *   (clusters already created are deleted).
 */
export async function startClusters(names: string[], o: { log?: (s: string) => void } = {}): Promise<ClusterHandle[]> {
  const log = o.log ?? (() => {});
  const bin = await ensureKubeBinaries(log);
  const workdir = cacheDir("kwok", `run-${process.pid}-${Date.now()}`);
  const env = { ...process.env, KWOK_WORKDIR: workdir };
  const t0 = Date.now();
  const created: ClusterHandle[] = [];
  const create = async (name: string): Promise<ClusterHandle> => {
    const kubeconfig = join(workdir, `${name}.kubeconfig`);
    const kwokctl = (...args: string[]) => run(bin.kwokctl, args, { env, maxBuffer: 16 * 1024 * 1024 });
    const handle: ClusterHandle = {
      name,
      kubeconfig,
      context: `kwok-${name}`,
      stop: async () => void (await kwokctl("delete", "cluster", "--name", name, "--kubeconfig", kubeconfig).catch(() => undefined)),
    };
    try {
      await kwokctl("create", "cluster", "--name", name, "--runtime", "binary", "--kubeconfig", kubeconfig, "--wait", "120s",
        "--kube-apiserver-binary", bin.kubeApiserver, "--kube-controller-manager-binary", bin.kubeControllerManager,
        "--kube-scheduler-binary", bin.kubeScheduler, "--etcd-binary", bin.etcd, "--kwok-controller-binary", bin.kwok);
      created.push(handle);
      await kwokctl("scale", "node", "--replicas", "2", "--name", name);
    } catch (err) {
      await handle.stop();
      const e = err as { stderr?: string; message: string };
      throw new Error(`kwokctl could not create cluster ${name}: ${e.message}\n${e.stderr ?? ""}`);
    }
    return handle;
  };
  // one after the other: concurrent kwokctl processes race for the same free ports
  for (const name of names) {
    try {
      await create(name);
    } catch (err) {
      await Promise.all(created.map((c) => c.stop()));
      throw err;
    }
  }
  log(`${names.length} cluster(s) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return created.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
}
