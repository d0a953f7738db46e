/** The directory source on the real example repository, and on crafted bad input. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { renderDirectory, RenderError, type SourceFile } from "../../shared/render/directory.js";

/** The example repository bundle: ../shared/fixtures beside the project, or `$CONVERGE_FIXTURES_DIR` (as tools/testbed). */
const BUNDLE = join(process.env.CONVERGE_FIXTURES_DIR ?? join(fileURLToPath(import.meta.url), "..", "..", "..", "..", "shared", "fixtures"), "argocd-example-apps.bundle");

let clone: string;

/** Every file under `dir` of the clone, as the Git reader passes them (repository-relative, `/`-separated). */
function filesUnder(dir: string): SourceFile[] {
  const walk = (d: string): SourceFile[] =>
    readdirSync(d).flatMap((f) => {
      const p = join(d, f);
      return statSync(p).isDirectory() ? walk(p) : [{ path: relative(clone, p).split(sep).join("/"), content: readFileSync(p, "utf8") }];
    });
  return walk(join(clone, dir));
}

/** The RenderError `f` throws (fails the test when it throws nothing or something else). */
function renderError(f: () => unknown): RenderError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof RenderError, `expected a RenderError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected a RenderError");
}

const cm = (name: string, extra = "") => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;

before(() => {
  clone = mkdtempSync(join(tmpdir(), "converge-render-test-"));
  execFileSync("git", ["clone", "-q", BUNDLE, clone]);
});
after(() => rmSync(clone, { recursive: true, force: true }));

describe("the example repository", () => {
  test("guestbook: its Deployment and Service, with file and line", () => {
    const r = renderDirectory(filesUnder("guestbook"), { path: "guestbook" });
    assert.deepEqual(
      r.objects.map((o) => `${o.object.apiVersion} ${o.object.kind}/${o.object.metadata.name} @${o.source.file}:${o.source.line}`),
      ["apps/v1 Deployment/guestbook-ui @guestbook/guestbook-ui-deployment.yaml:1", "v1 Service/guestbook-ui @guestbook/guestbook-ui-svc.yaml:1"],
    );
    assert.deepEqual(r.warnings, []);
  });

  test("sock-shop/base: 29 files, 29 objects (14 Deployments, 14 Services, 1 Ingress), each after its leading ---", () => {
    const files = filesUnder("sock-shop/base");
    const r = renderDirectory(files, { path: "sock-shop/base" });
    assert.equal(files.length, 29);
    assert.equal(r.objects.length, 29);
    const kinds: Record<string, number> = {};
    for (const o of r.objects) kinds[o.object.kind] = (kinds[o.object.kind] ?? 0) + 1;
    assert.deepEqual(kinds, { Deployment: 14, Ingress: 1, Service: 14 });
    assert.ok(
      r.objects.every((o) => o.source.line === 2),
      "every file starts with ---, the object on line 2",
    );
    assert.deepEqual(r.warnings, []);
    // one of its files has CRLF line ends; it parses all the same
    assert.ok(files.some((f) => f.content.includes("\r\n")));
  });

  test("the path may be given as ./dir/ and the whole sock-shop folder holds kustomization.yaml, skipped with a warning", () => {
    const files = filesUnder("sock-shop");
    assert.equal(renderDirectory(files, { path: "./sock-shop/base/" }).objects.length, 29);
    const top = renderDirectory(files, { path: "sock-shop" });
    assert.equal(top.objects.length, 29);
    assert.deepEqual(top.warnings, ["sock-shop/kustomization.yaml:1: skipped: not a Kubernetes object (no apiVersion, kind, metadata.name)"]);
    const flat = renderDirectory(files, { path: "sock-shop", recursive: false });
    assert.equal(flat.objects.length, 0);
  });
});

describe("crafted input", () => {
  test("'' and '.' are the repository root; non-recursive reads direct children only; other extensions are ignored", () => {
    const files = [
      { path: "a.yaml", content: cm("top") },
      { path: "sub/b.yml", content: cm("nested") },
      { path: "sub/deeper/c.json", content: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "deepest" } }) },
      { path: "sub/readme.md", content: "# not a manifest" },
      { path: "sub/upper.YAML", content: cm("upper") },
      { path: "other/x.yaml", content: cm("other") },
    ];
    const names = (path: string, recursive?: boolean) => renderDirectory(files, { path, recursive }).objects.map((o) => o.object.metadata.name);
    assert.deepEqual(names(""), ["top", "other", "nested", "deepest"]);
    assert.deepEqual(names("."), names(""));
    assert.deepEqual(names("", false), ["top"]);
    assert.deepEqual(names("sub"), ["nested", "deepest"]);
    assert.deepEqual(names("sub", false), ["nested"]);
    assert.deepEqual(names("su"), [], "a prefix of a folder name is not that folder");
    assert.throws(() => renderDirectory(files, { path: "sub/../.." }), RenderError);
  });

  test("multi-document files, comments, empty documents, JSON and List kinds (flattened, each item at its own line)", () => {
    const r = renderDirectory(
      [
        { path: "m/multi.yaml", content: `# header\n---\n# nothing here\n---\n${cm("one")}---\n\n---\n${cm("two")}...\n` },
        {
          path: "m/list.json",
          content: JSON.stringify(
            {
              apiVersion: "v1",
              kind: "List",
              items: [
                { apiVersion: "v1", kind: "Secret", metadata: { name: "s" } },
                { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "sa" } },
              ],
            },
            null,
            2,
          ),
        },
        {
          path: "m/pods.yaml",
          content: "apiVersion: v1\nkind: PodList\nmetadata: {}\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p1}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p2}\n",
        },
      ],
      { path: "m" },
    );
    assert.deepEqual(
      r.objects.map((o) => `${o.object.kind}/${o.object.metadata.name}@${o.source.file}:${o.source.line}`),
      ["Secret/s@m/list.json:5", "ServiceAccount/sa@m/list.json:12", "ConfigMap/one@m/multi.yaml:5", "ConfigMap/two@m/multi.yaml:12", "Pod/p1@m/pods.yaml:5", "Pod/p2@m/pods.yaml:8"],
    );
    assert.deepEqual(r.warnings, []);
  });

  test("a values file, a top-level sequence and a scalar are skipped with a warning each, as Argo CD does", () => {
    const r = renderDirectory(
      [
        { path: "h/values.yaml", content: "replicaCount: 1\nimage:\n  repository: nginx\n  tag: stable\n" },
        { path: "h/list.yaml", content: "- a\n- b\n" },
        { path: "h/scalar.yaml", content: "---\njust text\n" },
        { path: "h/ok.yaml", content: cm("ok") },
      ],
      { path: "h" },
    );
    assert.deepEqual(
      r.objects.map((o) => o.object.metadata.name),
      ["ok"],
    );
    assert.deepEqual(r.warnings, [
      "h/list.yaml:1: skipped: a sequence is not a Kubernetes object",
      "h/scalar.yaml:2: skipped: a scalar is not a Kubernetes object",
      "h/values.yaml:1: skipped: not a Kubernetes object (no apiVersion, kind, metadata.name)",
    ]);
  });

  test("a YAML syntax error fails the render with the file, line and column", () => {
    const e = renderError(() =>
      renderDirectory(
        [
          { path: "g/ok.yaml", content: cm("ok") },
          { path: "g/broken.yaml", content: `${cm("fine")}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n data: [unclosed\n` },
        ],
        { path: "g" },
      ),
    );
    assert.equal(e.file, "g/broken.yaml");
    assert.equal(e.line, 10);
    assert.equal(e.column, 1);
    assert.match(e.message, /^g\/broken\.yaml:10:1: \S/);
    assert.doesNotMatch(e.message, /\n/);
  });

  test("broken JSON and duplicate keys fail the same way", () => {
    const json = renderError(() => renderDirectory([{ path: "j/x.json", content: '{\n  "apiVersion": "v1",\n  "kind": "ConfigMap"\n  "metadata": {"name": "x"}\n}\n' }], { path: "j" }));
    assert.equal(json.file, "j/x.json");
    assert.equal(json.line, 4);
    const dup = renderError(() => renderDirectory([{ path: "d/x.yaml", content: `${cm("x")}data:\n  a: "1"\n  a: "2"\n` }], { path: "d" }));
    assert.equal(dup.line, 7);
    assert.match(dup.message, /unique/i);
  });

  test("an alias bomb is refused instead of expanding", () => {
    const levels = ["a: &a [x,x,x,x,x,x,x,x,x]"];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${"abcdefghi"[i]}: &${"abcdefghi"[i]} [${Array(9)
          .fill(`*${"abcdefghi"[i - 1]}`)
          .join(",")}]`,
      );
    const bomb = `${cm("bomb")}data:\n${levels.map((l) => `  ${l}`).join("\n")}\n`;
    const t0 = Date.now();
    const e = renderError(() => renderDirectory([{ path: "x/bomb.yaml", content: bomb }], { path: "x" }));
    assert.equal(e.file, "x/bomb.yaml");
    assert.match(e.message, /alias/i);
    assert.ok(Date.now() - t0 < 2000, "refused fast");
    // a few aliases are fine (and merge keys apply, as in kubectl)
    const ok = renderDirectory([{ path: "x/ok.yaml", content: `${cm("ok")}data: &d {a: "1"}\nbinaryData: {<<: *d}\n` }], { path: "x" });
    assert.deepEqual(ok.objects[0]!.object.binaryData, { a: "1" });
  });

  test("the same object twice fails the render naming both places", () => {
    const e = renderError(() =>
      renderDirectory(
        [
          { path: "d/a.yaml", content: cm("dup", "  namespace: ns\n") },
          { path: "d/b.yaml", content: `${cm("other")}---\n${cm("dup", "  namespace: ns\n")}` },
        ],
        { path: "d" },
      ),
    );
    assert.equal(e.message, "d/b.yaml:6: duplicate object ConfigMap ns/dup, first defined at d/a.yaml:1");
    // same name, other kind or namespace: fine
    assert.equal(
      renderDirectory(
        [
          { path: "d/a.yaml", content: cm("x", "  namespace: a\n") },
          { path: "d/b.yaml", content: cm("x", "  namespace: b\n") },
        ],
        { path: "d" },
      ).objects.length,
      2,
    );
  });

  test("scalars resolve as kubectl resolves them (YAML 1.1 via sigs.k8s.io/yaml)", () => {
    const src = `apiVersion: example.com/v1\nkind: Probe\nmetadata: {name: p}\nspec:\n  mode: 0644\n  quoted: "0644"\n  enabled: yes\n  off: off\n  underscored: 1_000\n  hex: 0x1F\n  date: 2001-12-14\n  time: 12:30\n  float: .5\n  nothing: ~\n  dot: .\n  .: {}\n  eight: 08\n  upperHex: 0X1F\n  big: 1e400\n  1e6: float key\n`;
    const spec = renderDirectory([{ path: "s/x.yaml", content: src }], { path: "s" }).objects[0]!.object.spec;
    assert.deepEqual(spec, {
      mode: 420,
      quoted: "0644",
      enabled: true,
      false: false,
      underscored: 1000,
      hex: 31,
      date: "2001-12-14",
      time: "12:30",
      float: 0.5,
      nothing: null,
      dot: ".",
      ".": {},
      eight: 8,
      upperHex: 31,
      big: "1e400",
      "1e+06": "float key",
    });
    const inf = renderError(() => renderDirectory([{ path: "s/inf.yaml", content: `${cm("inf")}data:\n  x: .inf\n` }], { path: "s" }));
    assert.equal(inf.line, 6);
  });
});
