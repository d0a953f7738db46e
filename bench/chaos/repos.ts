/**
 * Chaos check "hostile repositories": sources built to hurt the renderer, each pushed to the
 * test bed's real Git server, registered against a real kube-apiserver and reconciled through
 * the real reconcile (`reconcileCluster`). Cases: symbolic link loops (`a -> b -> a`, a link to
 * itself), a billion-laughs YAML (nested aliases), 100,000 tiny files in a repository of their
 * own, over the fetch bound (`MAX_FETCH_OBJECTS`; with `--quick` 10,000 files against the bound
 * lowered to 5,000 by `CONVERGE_MAX_FETCH_OBJECTS`), 20,000 tiny files in one folder (12,000
 * with `--quick`: under the fetch bound, over the read budget, `MAX_SOURCE_FILES`), a 4 MiB flow
 * sequence of 2 million numbers (over `MAX_YAML_NODES`), 10,000-level nested maps and lists, a
 * Helm chart whose named template includes itself, Kustomize `configMapGenerator` `files` and
 * `envs` reaching outside the repository; and repository or API server URLs at link-local or
 * metadata addresses, which registration (`parseClusterSpec`) must refuse.
 *
 * Holds when every case ends `Error` with a message naming its cause (and its file), each
 * reconcile ends within RECONCILE_BOUND_MS, the process's RSS stays under RSS_BOUND_MB, and a
 * good cluster (`apply`) reconciled alongside every case stays Synced.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_FETCH_OBJECTS } from "../../shared/git/source.js";
import { reconcileCluster, type ReconcileOutcome } from "../../shared/reconcile/reconcile.js";
import { MAX_SOURCE_FILES } from "../../shared/render/budget.js";
import { MAX_YAML_NODES } from "../../shared/render/yaml.js";
import { reconcileDeps } from "../../shared/services.js";
import { isolated, stackEnv, type Isolated } from "../../test/support/stack.js";
import type { ChaosCheck, ChaosResult } from "./check.js";

/** Longest a hostile reconcile may take: the 30 s render limit plus Git and DynamoDB work. */
const RECONCILE_BOUND_MS = 45_000;
/** Highest resident set size accepted during the check, MB. */
const RSS_BOUND_MB = 1536;
/** Longest status message accepted, characters (it is stored, evented and posted as a commit status). */
const MAX_MESSAGE = 2000;
/** Nesting depth of the deep documents. */
const DEPTH = 10_000;

/** A hostile source: its folder, the files to write there, and what its Error must say. */
interface Case {
  path: string;
  write(dir: string): void;
  expect: RegExp;
  /** The repository of its own it is pushed to (else the shared one): a repository over the fetch bound would fail every source in it. */
  repo?: string;
  /** Environment variables set while it reconciles. */
  env?: Record<string, string>;
}

/** The repository a case is pushed to: its own, or `shared`. */
const repoName = (c: Case) => c.repo ?? "shared";

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {k: v}\n`;

/** The billion laughs: nine levels of nine aliases each (9^9 strings once expanded). */
function laughs(): string {
  const lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", 'l0: &l0 "lol"'];
  for (let i = 1; i <= 9; i++)
    lines.push(
      `l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(",")}]`,
    );
  lines.push("data: {k: *l9}");
  return `${lines.join("\n")}\n`;
}

/** `files` tiny files holding a ConfigMap each, in folders of 1,000. */
function manyFiles(dir: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.yaml`), cm(`c${i}`));
  }
}

function cases(quick: boolean): Case[] {
  const many = quick ? 10_000 : 100_000;
  const fetchLimit = quick ? 5_000 : MAX_FETCH_OBJECTS;
  const wide = quick ? 12_000 : 20_000;
  const deep = (open: string, close: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n  k: ${open.repeat(DEPTH)}x${close.repeat(DEPTH)}\n`;
  return [
    {
      path: "x-loop",
      write: (d) => (writeFileSync(join(d, "cm.yaml"), cm("loop")), symlinkSync("b.yaml", join(d, "a.yaml")), symlinkSync("a.yaml", join(d, "b.yaml"))),
      expect: /^x-loop\/a\.yaml: symbolic link loop/,
    },
    { path: "x-self", write: (d) => (writeFileSync(join(d, "cm.yaml"), cm("self")), symlinkSync("self.yaml", join(d, "self.yaml"))), expect: /^x-self\/self\.yaml: symbolic link loop/ },
    { path: "x-laughs", write: (d) => writeFileSync(join(d, "lol.yaml"), laughs()), expect: /^x-laughs\/lol\.yaml:\d+:\d+: .*alias/i },
    {
      path: "x-many",
      write: (d) => manyFiles(d, many),
      expect: new RegExp(`^repository \\S+/chaos-repos-many-\\d+\\.git: the fetch would bring \\d+ objects \\(files and folders\\), more than the limit of ${fetchLimit}$`),
      repo: "many",
      env: quick ? { CONVERGE_MAX_FETCH_OBJECTS: String(fetchLimit) } : undefined,
    },
    { path: "x-wide", write: (d) => manyFiles(d, wide), expect: new RegExp(`^x-wide:1: ${wide} files to read, more than the limit of ${MAX_SOURCE_FILES} files per source$`), repo: "wide" },
    {
      path: "x-dense",
      write: (d) => writeFileSync(join(d, "dense.yaml"), `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dense}\nx: [${"1,".repeat(2 * 1024 * 1024)}1]\n`),
      expect: new RegExp(`^x-dense/dense\\.yaml:4:\\d+: more than ${MAX_YAML_NODES} YAML nodes in one file`),
    },
    { path: "x-deepmap", write: (d) => writeFileSync(join(d, "deep.yaml"), deep("{a: ", "}")), expect: /^x-deepmap\/deep\.yaml:\d+(:\d+)?: .*nest/i },
    { path: "x-deeplist", write: (d) => writeFileSync(join(d, "deep.yaml"), deep("[", "]")), expect: /^x-deeplist\/deep\.yaml:\d+(:\d+)?: .*nest/i },
    {
      path: "x-helmloop",
      write: (d) => {
        writeFileSync(join(d, "Chart.yaml"), "apiVersion: v2\nname: helmloop\nversion: 0.1.0\n");
        mkdirSync(join(d, "templates"));
        writeFileSync(join(d, "templates", "loop.yaml"), '{{- define "loop" -}}{{ include "loop" . }}{{- end -}}\n{{ include "loop" . }}\n');
      },
      expect: /^x-helmloop\/Chart\.yaml:1: helm failed: .* … .*nested reference name: loop/,
    },
    {
      path: "x-kfiles",
      write: (d) => writeFileSync(join(d, "kustomization.yaml"), "configMapGenerator:\n- name: leak\n  files:\n  - ../../../../../../../../etc/passwd\n"),
      expect: /^x-kfiles\/kustomization\.yaml:1: .*etc\/passwd/,
    },
    {
      path: "x-kenvs",
      write: (d) => writeFileSync(join(d, "kustomization.yaml"), "configMapGenerator:\n- name: leak\n  envs:\n  - ../../../../../../../../etc/hostname\n"),
      expect: /^x-kenvs\/kustomization\.yaml:1: .*etc\/hostname/,
    },
  ];
}

/** Runs `fn` with `env` set in the process environment, restored after. */
async function withEnv<T>(env: Record<string, string> | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = Object.keys(env ?? {}).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Addresses a registration must refuse: link-local, the cloud metadata services, the unspecified address. */
const METADATA_HOSTS = ["169.254.169.254", "[fd00:ec2::254]", "[::ffff:169.254.169.254]", "0.0.0.0", "metadata.google.internal"];

/** Samples the process's RSS every 20 ms; `stop` returns the highest value seen, MB. */
function rssSampler(): { stop(): number } {
  let max = process.memoryUsage().rss;
  const timer = setInterval(() => (max = Math.max(max, process.memoryUsage().rss)), 20);
  return { stop: () => (clearInterval(timer), Math.round(max / 1024 / 1024)) };
}

/**
 * Creates `<name>.git` on the Git server (a bare copy of the example repository) holding one
 * more commit with every hostile source. The commit is made and pushed through the file system:
 * the server runs in this process, so a blocking call to it over HTTP would never get its answer;
 * the reconciles fetch over HTTP.
 * @returns the repository URL and the commit.
 */
function hostileRepo(name: string, all: Case[]): { url: string; head: string } {
  const stack = stackEnv();
  const bare = join(stack.gitRoot, `${name}.git`);
  const work = join(stack.gitRoot, "..", `work-${name}`);
  // no automatic gc: one started in the background after committing 100,000 files would still be writing when the test bed removes the folder
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=Converge Chaos", "-c", "user.email=chaos@converge.local", "-c", "gc.auto=0", "-c", "maintenance.auto=false", ...args], { encoding: "utf8" }).trim();
  git("clone", "-q", "--bare", join(stack.gitRoot, "argocd-example-apps.git"), bare);
  git("clone", "-q", bare, work);
  for (const c of all) {
    mkdirSync(join(work, c.path), { recursive: true });
    c.write(join(work, c.path));
  }
  git("-C", work, "add", "-A");
  git("-C", work, "commit", "-q", "-m", "hostile sources");
  git("-C", work, "push", "-q", "origin", "HEAD:master");
  return { url: `${stack.gitBase}/${name}.git`, head: git("-C", work, "rev-parse", "HEAD") };
}

/** Registers every hostile source (tracking `urlOf` its case) and the good cluster (tracking `goodUrl`). */
async function register(iso: Isolated, all: Case[], urlOf: (c: Case) => string, goodUrl: string): Promise<void> {
  const [k1] = stackEnv().clusters;
  const access = { type: "kubeconfig" as const, kubeconfig: k1!.kubeconfig, context: k1!.context };
  for (const c of all) {
    await iso.services.clusters.add({ name: c.path, source: { repoUrl: urlOf(c), branch: "master", path: c.path }, namespace: "default", access, intervalSeconds: 300 });
  }
  await iso.services.clusters.add({
    name: "good",
    source: { repoUrl: goodUrl, branch: "master", path: "guestbook" },
    namespace: "chaos-repos",
    access,
    intervalSeconds: 300,
    syncPolicy: "apply",
    syncOptions: { createNamespace: true },
  });
}

/** Every metadata or link-local address, as a repository URL and as a server URL, must be refused at registration naming the address. */
async function refusedAtRegistration(iso: Isolated): Promise<string[]> {
  const failures: string[] = [];
  for (const host of METADATA_HOSTS) {
    for (const [field, spec] of [
      ["repoUrl", { source: { repoUrl: `http://${host}/org/repo.git`, branch: "main", path: "" }, access: { type: "kubeconfig", kubeconfig: "/k" } }],
      ["server", { source: { repoUrl: "https://github.com/org/repo.git", branch: "main", path: "" }, access: { type: "server", server: `https://${host}:6443` } }],
    ] as const) {
      const err = await iso.services.clusters.add({ name: "meta", namespace: "default", intervalSeconds: 300, ...spec }).then(
        () => undefined,
        (e: Error) => e,
      );
      if (!err || !/link-local|metadata|unspecified/.test(err.message)) failures.push(`${field} ${host}: ${err ? err.message : "accepted"}`);
      if (!err) await iso.services.clusters.remove("meta");
    }
  }
  return failures;
}

/** The check `repos` (`--only repos`): see the module doc. */
export const reposCheck: ChaosCheck = {
  name: "repos",
  async run({ quick, log }): Promise<ChaosResult> {
    const iso = await isolated("chaos-repos");
    const all = cases(quick);
    const rss = rssSampler();
    const failures: string[] = [];
    let maxMs = 0;
    let errors = 0;
    let goodSynced = true;
    try {
      const t = Date.now();
      const pushed = (name: string) =>
        hostileRepo(
          `chaos-repos-${name}-${t}`,
          all.filter((c) => repoName(c) === name),
        );
      const repos = new Map([...new Set(all.map(repoName))].map((name) => [name, pushed(name)]));
      const repoOf = (c: Case) => repos.get(repoName(c))!;
      const shared = repos.get("shared")!;
      log(`pushed ${all.length} hostile sources in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      await register(iso, all, (c) => repoOf(c).url, shared.url);
      const deps = reconcileDeps(iso.services, { metrics: () => {} });
      const reconcile = async (name: string, head = shared.head): Promise<{ out: ReconcileOutcome | undefined; ms: number }> => {
        const t = Date.now();
        const out = await reconcileCluster(deps, { cluster: name, revision: head, reason: "push", enqueuedAt: new Date().toISOString() });
        return { out, ms: Date.now() - t };
      };
      await reconcile("good");
      for (const c of all) {
        const [bad, good] = await withEnv(c.env, () => Promise.all([reconcile(c.path, repoOf(c).head), reconcile("good")]));
        const s = bad.out?.status;
        maxMs = Math.max(maxMs, bad.ms);
        log(`${c.path}: ${s?.sync} in ${(bad.ms / 1000).toFixed(1)} s: ${s?.message?.slice(0, 200)}`);
        if (s?.sync === "Error" && c.expect.test(s.message ?? "") && (s.message ?? "").length <= MAX_MESSAGE) errors++;
        else failures.push(`${c.path}: ${s?.sync} ${s?.message ?? ""}`.slice(0, 300));
        if (bad.ms > RECONCILE_BOUND_MS) failures.push(`${c.path}: reconcile took ${bad.ms} ms`);
        if (good.out?.status.sync !== "Synced") {
          goodSynced = false;
          failures.push(`good cluster beside ${c.path}: ${good.out?.status.sync} ${good.out?.status.message ?? ""}`);
        }
      }
      failures.push(...(await refusedAtRegistration(iso)));
    } catch (err) {
      failures.push(`crash: ${(err as Error).stack ?? err}`);
    }
    const rssMax = rss.stop();
    if (rssMax > RSS_BOUND_MB) failures.push(`RSS ${rssMax} MB over ${RSS_BOUND_MB} MB`);
    for (const f of failures) log(`FAIL ${f}`);
    const refused = METADATA_HOSTS.length * 2 - failures.filter((f) => /^(repoUrl|server) /.test(f)).length;
    return {
      ok: failures.length === 0,
      faults: all.length + METADATA_HOSTS.length * 2,
      crashes: failures.filter((f) => f.startsWith("crash")).length,
      line: `hostile repositories: ${all.length} cases, ${errors} Error with cause, good cluster ${goodSynced ? "Synced" : "NOT Synced"}, max reconcile ${(maxMs / 1000).toFixed(1)} s, RSS max ${rssMax} MB; ${refused}/${METADATA_HOSTS.length * 2} metadata URLs refused at registration`,
    };
  },
};
