/**
 * The CLI as a new user runs it: `node cli/bin.js ...` as a child process, in a clone of the
 * example repository, with none of what the test bed sets up — no CONVERGE_KUBECTL /
 * CONVERGE_HELM, no AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, a fresh HOME (so kubectl
 * and helm are extracted once into ~/.cache/converge). Kustomize overlays reach their `../`
 * bases, Helm value files are taken relative to the chart or as local files, the offline and
 * the live diff render Helm and Kustomize, and no command prints anything but its result.
 * Last, the PATH fallback's version check.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { toolOnPath } from "../../cli/binaries.js";
import { exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";

const bin = join(fileURLToPath(import.meta.url), "..", "..", "..", "cli", "bin.js");
const [k1] = stackEnv().clusters;
const SDK_NOTICE = /NodeVersionSupportWarning|AWS SDK|node >=22|\(node:\d+\)/;
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
let home: string;
let head: string;

/** Runs `converge ...` in `cwd` as a new user would; asserts no line of its output is an SDK or Node notice. */
function converge(cwd: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...iso.env, HOME: home };
  for (const k of ["CONVERGE_KUBECTL", "CONVERGE_HELM", "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED", "CONVERGE_CACHE_DIR", "XDG_CACHE_HOME", "NODE_OPTIONS"]) delete env[k];
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: "utf8", timeout: 120_000 });
  for (const line of `${r.stdout}\n${r.stderr}`.split("\n")) assert.doesNotMatch(line, SDK_NOTICE, `converge ${args.join(" ")}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `kind/name` of every object in rendered YAML, in output order. */
const objects = (yaml: string) => [...yaml.matchAll(/^kind: (\w+)\nmetadata:\n(?: {2}.*\n)*? {2}name: (\S+)$/gm)].map((m) => `${m[1]}/${m[2]}`);

before(async () => {
  iso = await isolated("nosetup");
  home = mkdtempSync(join(tmpdir(), "converge-home-"));
  repo = exampleRepo(`nosetup-${Date.now()}`);
  // an overlay on a base two folders up, as deploy/overlays/dev on ../../bases would be
  mkdirSync(join(repo.work, "overlays", "dev"), { recursive: true });
  writeFileSync(join(repo.work, "overlays", "dev", "kustomization.yaml"), "resources:\n  - ../../kustomize-guestbook\nnamePrefix: dev-\nreplicas:\n  - name: kustomize-guestbook-ui\n    count: 2\n");
  repo.git("add", "overlays");
  repo.git("commit", "-q", "-m", "dev overlay");
  head = repo.push();
});

after(() => rmSync(home, { recursive: true, force: true }));

test("a Kustomize overlay with a ../../ base renders inside its repository, kubectl extracted once into ~/.cache/converge", () => {
  const r = converge(repo.work, "render", "overlays/dev");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.deepEqual(objects(r.stdout), ["Service/dev-kustomize-guestbook-ui", "Deployment/dev-kustomize-guestbook-ui"]);
  assert.match(r.stdout, /^ {2}replicas: 2$/m);
  const layer = join(home, ".cache", "converge", "bin");
  const kubectlBin = join(layer, readdirSync(layer)[0]!, "kubectl", "kubectl");
  const extractedAt = statSync(kubectlBin).mtimeMs;
  // from inside the overlay: the same repository root is found
  const again = converge(join(repo.work, "overlays", "dev"), "render", ".");
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, r.stdout);
  assert.equal(statSync(kubectlBin).mtimeMs, extractedAt, "extracted once, reused");
});

test("the reconcile's rules hold: a link under the source leaving the repository is refused", () => {
  const link = join(repo.work, "overlays", "dev", "escape.yaml");
  symlinkSync("/etc/hostname", link);
  try {
    const r = converge(repo.work, "render", "overlays/dev");
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.trim(), "error: overlays/dev/escape.yaml: symbolic link to /etc/hostname leaves the repository");
  } finally {
    rmSync(link);
  }
});

test("Helm: --values relative to the chart, an absolute local file, or both in order", () => {
  const values = join(home, "replicas.yaml");
  writeFileSync(values, "replicaCount: 3\n");
  const prod = converge(repo.work, "render", "helm-guestbook", "--values", "values-production.yaml");
  assert.equal(prod.code, 0, prod.stderr);
  assert.deepEqual(objects(prod.stdout), ["Service/helm-guestbook", "Deployment/helm-guestbook"]);
  assert.match(prod.stdout, /^ {2}type: LoadBalancer$/m, "values-production.yaml applied");
  assert.match(prod.stdout, /^ {2}replicas: 1$/m);
  const both = converge(repo.work, "render", "helm-guestbook", "--values", "values-production.yaml", values);
  assert.equal(both.code, 0, both.stderr);
  assert.match(both.stdout, /^ {2}replicas: 3$/m, "the absolute file applied");
  assert.match(both.stdout, /^ {2}type: LoadBalancer$/m);
  const fromChart = converge(join(repo.work, "helm-guestbook"), "render", ".", "--values", values);
  assert.match(fromChart.stdout, /^ {2}replicas: 3$/m);
  const missing = converge(repo.work, "render", "helm-guestbook", "--values", "nope.yaml");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: --values nope\.yaml: no such file in the chart folder .*helm-guestbook nor at .*nope\.yaml$/m);
});

test("offline diff renders a Helm folder: the live replica count against the chart's", () => {
  const values = join(home, "replicas.yaml");
  writeFileSync(values, "replicaCount: 3\n");
  const live = join(home, "live.yaml");
  writeFileSync(live, converge(repo.work, "render", "helm-guestbook", "--values", values).stdout);
  const r = converge(repo.work, "diff", "--desired", "helm-guestbook", "--live", live);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^Modified apps\/Deployment\/default\/helm-guestbook\n {2}spec\.replicas: 1 -> 3$/m);
  assert.match(r.stdout, /^2 resources: 1 Synced, 1 Modified, 0 Missing, 0 Extra$/m);
  const same = converge(repo.work, "diff", "--desired", "helm-guestbook", "--values", values, "--live", live);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.equal(same.stdout.trim(), "2 resources: 2 Synced, 0 Modified, 0 Missing, 0 Extra");
});

test("registrations keep Argo CD's rule: an absolute --values is refused with the reason", () => {
  const r = converge(repo.work, "cluster", "add", "nosetup-abs", "--repo", repo.url, "--branch", "master", "--path", "helm-guestbook", "--values", "/tmp/values.yaml", "--kubeconfig", k1!.kubeconfig);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "error: --values /tmp/values.yaml: a registered cluster's value files are read from its Git repository, relative to the chart folder (--path), not from this machine: commit the file and give its path relative to the chart (e.g. --values values-production.yaml)",
  );
});

test("cluster add, cluster list, status, diff --cluster and --help print only their result", () => {
  kubectl(k1!, "create", "namespace", "nosetup-dev");
  const add = converge(
    repo.work,
    "cluster",
    "add",
    "nosetup-dev",
    "--repo",
    repo.url,
    "--branch",
    "master",
    "--path",
    "overlays/dev",
    "--namespace",
    "nosetup-dev",
    "--kubeconfig",
    k1!.kubeconfig,
    "--context",
    k1!.context,
  );
  assert.equal(add.code, 0, add.stderr);
  assert.equal(add.stdout, `cluster nosetup-dev registered: ${repo.url} master:overlays/dev every 5m, sync detect\n`);
  const list = converge(repo.work, "cluster", "list");
  assert.deepEqual(
    list.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/)),
    [
      ["NAME", "REPO", "BRANCH", "PATH", "INTERVAL", "SYNC", "POLICY", "LABELS"],
      ["nosetup-dev", repo.url, "master", "overlays/dev", "5m", "detect", "-"],
    ],
  );
  const status = converge(repo.work, "status");
  assert.deepEqual(
    status.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/)[0]),
    ["NAME", "nosetup-dev"],
  );
  // the live diff renders the overlay from Git with the kubectl found by the CLI
  const diff = converge(repo.work, "diff", "--cluster", "nosetup-dev");
  assert.equal(diff.code, 1, diff.stderr);
  assert.match(diff.stdout, /^Missing +apps\/Deployment\/nosetup-dev\/dev-kustomize-guestbook-ui\b/m);
  assert.match(diff.stdout, new RegExp(`^2 resources: 0 Synced, 0 Modified, 2 Missing, 0 Extra at ${head.slice(0, 12)}$`, "m"));
  const help = converge(repo.work, "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: converge \[options\] \[command\]\n\nGitOps drift control/);
  for (const r of [add, list, status, diff, help]) assert.equal(r.stderr, "");
});

test("on PATH, only kubectl 1.30+ and helm 3/4 are taken; the others are named", async () => {
  const dirs = ["old", "new"].map((n) => join(home, "path", n));
  const script = (dir: string, name: string, body: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  };
  script(dirs[0]!, "kubectl", `echo '{"clientVersion":{"major":"1","minor":"27","gitVersion":"v1.27.3"}}'`);
  script(dirs[1]!, "kubectl", `echo '{"clientVersion":{"major":"1","minor":"34","gitVersion":"v1.34.1"}}'`);
  script(dirs[0]!, "helm", "echo v2.17.0+ga690bad");
  const tried: string[] = [];
  assert.equal(await toolOnPath("kubectl", { PATH: dirs.join(":") }, tried), join(dirs[1]!, "kubectl"));
  assert.deepEqual(tried, [`${join(dirs[0]!, "kubectl")} is v1.27.3`]);
  const none: string[] = [];
  assert.equal(await toolOnPath("helm", { PATH: dirs.join(":") }, none), undefined);
  assert.deepEqual(none, [`${join(dirs[0]!, "helm")} is v2.17.0+ga690bad`]);
});
