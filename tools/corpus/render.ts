/**
 * Renders the real-world corpus of Kubernetes manifests (`test/fixtures/corpus/`).
 *
 *   npx tsx tools/corpus/render.ts extract <mirrors> <src>    copy each pinned chart out of bare git mirrors
 *   npx tsx tools/corpus/render.ts render <src> [entry...]    helm template every entry (or the named ones),
 *                                                             then rewrite test/fixtures/corpus/README.md
 *
 * `<mirrors>` holds bare clones named `<owner>+<name>/repo` (as the `fetch` tool leaves them under
 * /work/.mirror); any bare clone that has the pinned commits works. `<src>` gets one folder per entry:
 * `<src>/<entry>/` is the chart (its vendored dependencies already under `charts/`).
 *
 * The helm command for an entry is
 *   helm template <entry> <chart> --namespace <entry> --kube-version 1.34.4 \
 *     --api-versions <tools/corpus/api-versions.txt, comma-separated> --include-crds \
 *     --values tools/corpus/values/<entry>.yaml
 * (the API versions are those a real 1.34 API server reports, so capability checks such as
 * `.Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget"` see what `helm install` would).
 * where <chart> is `<src>/<entry>`, or, for charts whose Chart.yaml carries a placeholder version,
 * the archive from `helm package <src>/<entry> --version V --app-version A` (what their release does).
 * Helm hooks stay in the output; helm and kubectl come from tools/testbed/binaries.ts.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { kubectlBinaries } from "../testbed/binaries.js";
import { apiVersionsFile, corpusDir, kubeVersion, parseManifest, root } from "./corpus.js";
import { entries, type CorpusEntry } from "./entries.js";
import { writeReadme } from "./readme.js";

const valuesDir = join(dirname(fileURLToPath(import.meta.url)), "values");

/** Copies `path` of `repo` at `commit` out of its bare mirror into `dest` (emptied first). */
function extractTree(mirrors: string, repo: string, commit: string, path: string, dest: string): void {
  const gitDir = join(mirrors, repo.replace("/", "+"), "repo");
  if (!existsSync(gitDir)) throw new Error(`no mirror of ${repo} at ${gitDir}`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const tree = path === "." ? commit : `${commit}:${path}`;
  const tar = execFileSync("git", ["--git-dir", gitDir, "archive", "--format=tar", tree], { maxBuffer: 1 << 30 });
  execFileSync("tar", ["-x", "-C", dest], { input: tar });
}

function extract(mirrors: string, src: string): void {
  for (const e of entries) {
    const dest = join(src, e.name);
    extractTree(mirrors, e.repo, e.commit, e.chartPath, dest);
    for (const v of e.vendor ?? []) extractTree(mirrors, v.repo, v.commit, v.path, join(dest, "charts", basename(v.path)));
    console.error(`${e.name}: ${e.repo}@${e.commit.slice(0, 12)}:${e.chartPath} -> ${dest}`);
  }
}

/** Chart version as helm will report it (the packaged version, if any). */
function chartVersion(e: CorpusEntry, chartDir: string): string {
  if (e.packageAs) return e.packageAs.version;
  const m = /^version:\s*["']?([^"'\s]+)/m.exec(readFileSync(join(chartDir, "Chart.yaml"), "utf8"));
  if (!m) throw new Error(`${e.name}: no version in Chart.yaml`);
  return m[1]!;
}

/** The recorded capabilities of a Kubernetes API server of that version (see capabilities.ts). */
function apiVersions(): string[] {
  return readFileSync(apiVersionsFile, "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"));
}

/** `helm template` arguments for an entry, the chart reference given. */
function templateArgs(e: CorpusEntry, chart: string): string[] {
  return [
    "template",
    e.name,
    chart,
    "--namespace",
    e.name,
    "--kube-version",
    kubeVersion,
    "--api-versions",
    apiVersions().join(","),
    "--include-crds",
    "--values",
    `tools/corpus/values/${e.name}.yaml`,
  ];
}

/** The helm command as shown in a manifest's header (the API versions list by reference). */
function shownCommand(args: string[], chart: string): string {
  const shown = args.map((a, i) => (args[i - 1] === "--api-versions" ? `"$(grep -v '^#' tools/corpus/api-versions.txt | paste -sd,)"` : a));
  shown[2] = chart;
  return `helm ${shown.join(" ")}`;
}

function renderEntry(e: CorpusEntry, src: string, helm: string): void {
  const chartDir = join(src, e.name);
  if (!existsSync(join(chartDir, "Chart.yaml"))) throw new Error(`${e.name}: no chart at ${chartDir} (run extract first)`);
  if (!existsSync(join(valuesDir, `${e.name}.yaml`))) throw new Error(`${e.name}: no tools/corpus/values/${e.name}.yaml`);
  let chart = chartDir;
  let packageCmd = "";
  const tmp = mkdtempSync(join(tmpdir(), "corpus-"));
  try {
    if (e.packageAs) {
      const { version, appVersion } = e.packageAs;
      execFileSync(helm, ["package", chartDir, "--version", version, "--app-version", appVersion, "--destination", tmp], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
      const name = /^name:\s*(\S+)/m.exec(readFileSync(join(chartDir, "Chart.yaml"), "utf8"))![1];
      chart = join(tmp, `${name}-${version}.tgz`);
      packageCmd = `helm package <src>/${e.name} --version ${version} --app-version ${appVersion}`;
    }
    const args = templateArgs(e, chart);
    const out = execFileSync(helm, args, { cwd: root, maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "inherit"] }).toString();
    const shownChart = e.packageAs ? `${basename(chart)}` : `<src>/${e.name}`;
    const header = [
      `# Real-world corpus entry "${e.name}", rendered by tools/corpus/render.ts (do not edit by hand).`,
      `# source:     https://github.com/${e.repo}`,
      `# commit:     ${e.commit} (${e.ref})`,
      `# chart path: ${e.chartPath}`,
      `# chart:      ${chartVersion(e, chartDir)}`,
      ...(e.vendor ?? []).map((v) => `# vendored:   charts/${basename(v.path)} from https://github.com/${v.repo} ${v.commit} (${v.ref}):${v.path}`),
      ...(packageCmd ? [`# package:    ${packageCmd}`] : []),
      `# helm:       ${shownCommand(args, shownChart)}`,
      `# (helm ${helmVersion(helm)}; <src>/${e.name} is the chart path above at that commit)`,
    ].join("\n");
    mkdirSync(join(corpusDir, e.name), { recursive: true });
    writeFileSync(join(corpusDir, e.name, "manifest.yaml"), `${header}\n${out}`);
    console.error(`${e.name}: ${parseManifest(out).length} objects`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

let helmVersionCache = "";
function helmVersion(helm: string): string {
  helmVersionCache ||= execFileSync(helm, ["version", "--template", "{{.Version}}"]).toString().trim();
  return helmVersionCache;
}

function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  if (cmd === "extract" && rest.length === 2) {
    extract(resolve(rest[0]!), resolve(rest[1]!));
    return 0;
  }
  if (cmd === "render" && rest.length >= 1) {
    const src = resolve(rest[0]!);
    const only = rest.slice(1);
    const unknown = only.filter((n) => !entries.some((e) => e.name === n));
    if (unknown.length) throw new Error(`unknown entries: ${unknown.join(", ")}`);
    const { helm } = kubectlBinaries();
    for (const e of entries) if (only.length === 0 || only.includes(e.name)) renderEntry(e, src, helm);
    writeReadme();
    return 0;
  }
  console.error("usage: render.ts extract <mirrors> <src> | render <src> [entry...]");
  return 2;
}

process.exitCode = main(process.argv.slice(2));
