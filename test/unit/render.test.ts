/** The directory source on the real example repository and on crafted bad input. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { renderDirectory, RenderError } from "../../shared/render/directory.js";
import { exampleFiles } from "../support/fixture.js";

test("guestbook renders to its Deployment and Service with their file and line", () => {
  const r = renderDirectory(exampleFiles("guestbook"), { path: "guestbook" });
  assert.deepEqual(r.objects.map((o) => `${o.object.kind}/${o.object.metadata.name}@${o.source.file}:${o.source.line}`), [
    "Deployment/guestbook-ui@guestbook/guestbook-ui-deployment.yaml:1",
    "Service/guestbook-ui@guestbook/guestbook-ui-svc.yaml:1",
  ]);
  assert.deepEqual(r.warnings, []);
});

test("sock-shop/base renders its 29 objects: 14 Deployments, 14 Services, 1 Ingress", () => {
  const r = renderDirectory(exampleFiles("sock-shop"), { path: "sock-shop/base" });
  const kinds: Record<string, number> = {};
  for (const o of r.objects) kinds[o.object.kind] = (kinds[o.object.kind] ?? 0) + 1;
  assert.equal(r.objects.length, 29);
  assert.deepEqual(kinds, { Deployment: 14, Ingress: 1, Service: 14 });
});

test("a directory path of '' or './' is the repository root; non-recursive reads one level", () => {
  const files = [
    { path: "a.yaml", content: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: top}\n" },
    { path: "sub/b.yml", content: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nested}\n" },
    { path: "sub/readme.md", content: "# not a manifest" },
  ];
  assert.equal(renderDirectory(files, { path: "" }).objects.length, 2);
  assert.equal(renderDirectory(files, { path: "./" }).objects.length, 2);
  assert.deepEqual(renderDirectory(files, { path: "", recursive: false }).objects.map((o) => o.object.metadata.name), ["top"]);
});

test("multi-document files, JSON, empty documents and List kinds", () => {
  const r = renderDirectory(
    [
      { path: "m/multi.yaml", content: "---\n# nothing\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n" },
      { path: "m/list.json", content: JSON.stringify({ apiVersion: "v1", kind: "List", items: [{ apiVersion: "v1", kind: "Secret", metadata: { name: "s" } }, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "sa" } }] }) },
    ],
    { path: "m" },
  );
  assert.deepEqual(r.objects.map((o) => `${o.object.metadata.name}:${o.source.line}`), ["s:1", "sa:1", "one:4", "two:11"]);
});

test("non-Kubernetes YAML is skipped with a warning, as Argo CD does", () => {
  const r = renderDirectory([{ path: "h/values.yaml", content: "replicaCount: 1\nimage:\n  repository: nginx\n" }, { path: "h/list.yaml", content: "- a\n- b\n" }], { path: "h" });
  assert.equal(r.objects.length, 0);
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings[0]!, /^h\/list\.yaml:1: not a Kubernetes object/);
});

test("a YAML syntax error fails the render with file, line and column", () => {
  const err = (() => {
    try {
      renderDirectory([{ path: "g/ok.yaml", content: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n" }, { path: "g/broken.yaml", content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n data: [unclosed\n" }], { path: "g" });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof RenderError);
  assert.equal(err.file, "g/broken.yaml");
  assert.equal(err.line, 5);
  assert.match(err.message, /^g\/broken\.yaml:5:1: /);
});

test("an alias bomb is refused instead of expanding", () => {
  const bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
  assert.throws(() => renderDirectory([{ path: "x/bomb.yaml", content: bomb }], { path: "x" }), (e: unknown) => e instanceof RenderError && /alias/i.test(e.message));
});

test("the same object twice fails the render naming both places", () => {
  const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\n  namespace: ns\n";
  assert.throws(() => renderDirectory([{ path: "d/a.yaml", content: cm }, { path: "d/b.yaml", content: cm }], { path: "d" }), /d\/b\.yaml:1: duplicate object ConfigMap ns\/dup, first defined at d\/a\.yaml:1/);
});
