/**
 * The read budget of a render (shared/render/budget.ts): what each source type reads, that the
 * file count is refused from the listing before any content is read, and that the bytes stop
 * at the file that crosses the limit. The reader records every file it hands out, as
 * `GitSource.readFiles` reads them from the object store one by one. And the node limit of one
 * file, which bounds what parsing a dense file costs.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type FileReader, MAX_SOURCE_BYTES, MAX_SOURCE_FILES, readForRender } from "../../shared/render/budget.js";
import { renderSource } from "../../shared/render/source.js";
import { MAX_YAML_NODES } from "../../shared/render/yaml.js";

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;

/** `count` files `<folder>/f<i>.<ext>`, each a ConfigMap. */
function many(folder: string, count: number, ext = "yaml"): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${folder}/f${i}.${ext}`, cm(`c${i}`)]));
}

/** A repository in memory: its sorted paths, a reader, and the paths read so far, in order. */
function repository(files: Record<string, string>): { paths: string[]; read: FileReader; reads: string[] } {
  const reads: string[] = [];
  const read: FileReader = async function* (paths) {
    for (const p of paths) {
      if (files[p] === undefined) continue;
      reads.push(p);
      yield { path: p, content: files[p] };
    }
  };
  return { paths: Object.keys(files).sort(), read, reads };
}

describe("directory sources", () => {
  test(`more than ${MAX_SOURCE_FILES} manifests are refused from the listing, nothing read`, async () => {
    const repo = repository(many("d", MAX_SOURCE_FILES + 1));
    await assert.rejects(readForRender(repo.paths, { path: "d", type: "directory" }, repo.read), {
      name: "RenderError",
      message: `d:1: ${MAX_SOURCE_FILES + 1} files to read, more than the limit of ${MAX_SOURCE_FILES} files per source`,
    });
    assert.deepEqual(repo.reads, []);
  });

  test(`exactly ${MAX_SOURCE_FILES} manifests render`, async () => {
    const files = Object.entries(many("d", MAX_SOURCE_FILES)).map(([path, content]) => ({ path, content }));
    const r = await renderSource(files, { path: "d" }, { namespace: "default" });
    assert.equal(r.objects.length, MAX_SOURCE_FILES);
  });

  test("what the source does not read does not count: other files, excluded files, subfolders of a non-recursive source", async () => {
    const repo = repository({ "d/a.yaml": cm("a"), ...many("d/sub", MAX_SOURCE_FILES), ...many("d", MAX_SOURCE_FILES, "txt"), ...many("other", MAX_SOURCE_FILES) });
    const flat = await readForRender(repo.paths, { path: "d", type: "directory", recursive: false }, repo.read);
    assert.deepEqual(
      flat.files.map((f) => f.path),
      ["d/a.yaml"],
    );
    const excluded = await readForRender(repo.paths, { path: "d", type: "directory", exclude: "sub/*" }, repo.read);
    assert.deepEqual(
      excluded.files.map((f) => f.path),
      ["d/a.yaml"],
    );
    assert.deepEqual(repo.reads, ["d/a.yaml", "d/a.yaml"]);
  });

  test(`files under the per-file limit but over ${MAX_SOURCE_BYTES} bytes together stop at the file that crosses it`, async () => {
    const big = `${cm("big")}# ${"x".repeat(6 * 1024 * 1024)}\n`;
    const repo = repository({ "d/a.yaml": big, "d/b.yaml": big, "d/c.yaml": big });
    await assert.rejects(readForRender(repo.paths, { path: "d", type: "directory" }, repo.read), (err: Error) => {
      assert.match(err.message, new RegExp(`^d:1: the files to read exceed the limit of ${MAX_SOURCE_BYTES} bytes per source \\(\\d+ bytes with d/b\\.yaml\\)$`));
      return true;
    });
    assert.deepEqual(repo.reads, ["d/a.yaml", "d/b.yaml"], "nothing read after the file over the budget");
  });

  test("a folder with Jsonnet and no manifest is refused from the listing", async () => {
    const repo = repository({ "j/main.jsonnet": "{}", "j/lib.libsonnet": "{}" });
    await assert.rejects(readForRender(repo.paths, { path: "j", type: "directory" }, repo.read), /^RenderError: j\/lib\.libsonnet:1: unsupported source type: Jsonnet/);
    assert.deepEqual(repo.reads, []);
  });
});

describe("Kustomize and Helm sources", () => {
  const app = {
    "app/kustomization.yaml": "resources:\n- ../base\n- cm.yaml\n",
    "app/cm.yaml": cm("app"),
    "base/kustomization.yaml": "resources:\n- d.yaml\n",
    "base/d.yaml": cm("base"),
    "other/kustomization.yaml": "resources:\n- f0.yaml\n",
  };

  test("a Kustomize source reads the kustomizations on its walk and the files its inputs cover, once each, nothing else of the repository", async () => {
    const repo = repository({ ...app, ...many("other", 2 * MAX_SOURCE_FILES) });
    const r = await readForRender(repo.paths, { path: "app", type: "kustomize" }, repo.read);
    const mine = ["app/cm.yaml", "app/kustomization.yaml", "base/d.yaml", "base/kustomization.yaml"];
    assert.deepEqual(
      r.files.map((f) => f.path),
      mine,
    );
    assert.deepEqual([...repo.reads].sort(), mine);
    assert.equal(r.anchor, "app/kustomization.yaml");
  });

  test(`a Kustomize source whose inputs cover more than ${MAX_SOURCE_FILES} files is refused before reading them`, async () => {
    const repo = repository({ "app/kustomization.yaml": "resources:\n- ../big\n", ...many("big", MAX_SOURCE_FILES) });
    await assert.rejects(readForRender(repo.paths, { path: "app", type: "kustomize" }, repo.read), {
      message: `app/kustomization.yaml:1: ${MAX_SOURCE_FILES + 1} files to read, more than the limit of ${MAX_SOURCE_FILES} files per source`,
    });
    assert.deepEqual(repo.reads, ["app/kustomization.yaml"]);
  });

  test(`a Helm chart of more than ${MAX_SOURCE_FILES} files is refused having read only Chart.yaml`, async () => {
    const repo = repository({ "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n", ...many("chart/templates", MAX_SOURCE_FILES) });
    await assert.rejects(readForRender(repo.paths, { path: "chart", type: "helm" }, repo.read), {
      message: `chart/Chart.yaml:1: ${MAX_SOURCE_FILES + 1} files to read, more than the limit of ${MAX_SOURCE_FILES} files per source`,
    });
    assert.deepEqual(repo.reads, ["chart/Chart.yaml"]);
  });

  test("renderSource given a whole repository (the CLI) obeys the same budget, before running any tool", async () => {
    const files = Object.entries({ "app/kustomization.yaml": "resources:\n- ../big\n", ...many("big", MAX_SOURCE_FILES) }).map(([path, content]) => ({ path, content }));
    const env = { CONVERGE_KUBECTL: "/nonexistent/kubectl" };
    await assert.rejects(renderSource(files, { path: "app" }, { namespace: "default", env }), /^RenderError: app\/kustomization\.yaml:1: 10001 files to read/);
  });
});

describe("dense files", () => {
  test(`a file of more than ${MAX_YAML_NODES} YAML nodes is refused at the first node over, before parsing, in a fraction of a second`, async () => {
    const dense = { path: "d/dense.yaml", content: `${cm("dense")}x: [${"1,".repeat(MAX_YAML_NODES)}1]\n` };
    const t = Date.now();
    await assert.rejects(renderSource([dense], { path: "d" }, { namespace: "default" }), {
      name: "RenderError",
      message: new RegExp(`^d/dense\\.yaml:4:\\d+: more than ${MAX_YAML_NODES} YAML nodes in one file, the limit \\(reading takes about 1 KB of memory per node\\)$`),
    });
    assert.ok(Date.now() - t < 5000, `refused in ${Date.now() - t} ms`);
  });

  test("a block sequence and a block map as dense are refused too; a map split over files under the limit renders", async () => {
    const items = Array.from({ length: MAX_YAML_NODES }, (_, i) => `- ${i}`).join("\n");
    await assert.rejects(renderSource([{ path: "d/seq.yaml", content: `${cm("seq")}x:\n${items}\n` }], { path: "d" }, { namespace: "default" }), /^RenderError: d\/seq\.yaml:\d+:\d+: more than/);
    const keys = Array.from({ length: MAX_YAML_NODES / 2 }, (_, i) => `  k${i}: v`).join("\n");
    await assert.rejects(renderSource([{ path: "d/map.yaml", content: `${cm("map")}data:\n${keys}\n` }], { path: "d" }, { namespace: "default" }), /^RenderError: d\/map\.yaml:\d+:\d+: more than/);
    const quarter = keys.split("\n").slice(0, MAX_YAML_NODES / 4);
    const halves = [0, 1].map((h) => ({ path: `d/half${h}.yaml`, content: `${cm(`half${h}`)}data:\n${quarter.join("\n")}\n` }));
    assert.equal((await renderSource(halves, { path: "d" }, { namespace: "default" })).objects.length, 2);
  });
});
