/**
 * Secret material kept out of render errors and warnings (shared/render/secret-material.ts):
 * what counts as material for each source type, how it is replaced, and directory sources
 * whose YAML errors quote a Secret's value (no tool runs: the Kustomize and Helm cases run
 * through the real binaries in test/integration/secrets.test.ts).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RenderError, type SourceFile } from "../../shared/render/directory.js";
import { renderSource } from "../../shared/render/source.js";
import { REDACTED, redactMaterial, secretValues } from "../../shared/diff/secret.js";
import { secretMaterial } from "../../shared/render/secret-material.js";

const V = "cvg-secret-5f1e0c9a";
const b64 = (s: string) => Buffer.from(s).toString("base64");
const files = (o: Record<string, string>): SourceFile[] => Object.entries(o).map(([path, content]) => ({ path, content }));
const secret = (body: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n${body}`;

/** The RenderError a directory render of `content` (as `a/s.yaml`) throws. */
async function dirError(content: string): Promise<RenderError> {
  const err = await renderSource(files({ "a/s.yaml": content }), { path: "a" }, { namespace: "default" }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof RenderError, `expected a RenderError, got ${String(err)}`);
  return err;
}

describe("the material of a source", () => {
  test("Secret documents: data (as written and decoded), stringData, aliases, List items; other kinds and keys are not material", () => {
    const m = secretMaterial(
      files({
        "a/s.yaml": `${secret(`data:\n  k: ${b64(V)}\nstringData:\n  pw: "${V}-sd"\n  al: *${V}-al\n`)}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: not-a-secret}\n`,
        "a/l.json": JSON.stringify({ apiVersion: "v1", kind: "List", items: [{ apiVersion: "v1", kind: "Secret", metadata: { name: "j" }, stringData: { j: `${V}-json` } }] }),
      }),
      { path: "a", type: "directory" },
    );
    for (const want of [b64(V), V, `${V}-sd`, `${V}-al`, `${V}-json`]) assert.ok(m.includes(want), want);
    for (const not of ["not-a-secret", "pw", "k", "s"]) assert.ok(!m.includes(not), not);
  });

  test("kustomize: secretGenerator literals, env lines and files, relative to the kustomization", () => {
    const m = secretMaterial(
      files({
        "k/kustomization.yaml": `secretGenerator:\n- name: s\n  literals: [${V}, "user=${V}-u"]\n  envs: [env/s.env]\n  files: [pw=files/pw.txt]\nconfigMapGenerator:\n- name: c\n  literals: [mode=open]\n`,
        "k/env/s.env": `TOKEN=${V}-env\n`,
        "k/files/pw.txt": `${V}-file\nsecond-line\n`,
      }),
      { path: "k", type: "kustomize" },
    );
    for (const want of [V, `user=${V}-u`, `${V}-u`, `TOKEN=${V}-env`, `${V}-env`, `${V}-file`, "second-line"]) assert.ok(m.includes(want), want);
    assert.ok(!m.includes("mode=open") && !m.includes("open"), "a configMapGenerator is not secret");
  });

  test("Helm: string values of values.yaml, subcharts, value files and inline values; plain numbers and booleans are not", () => {
    const m = secretMaterial(
      files({
        "h/Chart.yaml": "apiVersion: v2\nname: h\nversion: 0.1.0\n",
        "h/values.yaml": `password: ${V}\nreplicas: 3\nenabled: true\nlist: ["${V}-item"]\n`,
        "h/charts/sub/values.yaml": `token: ${V}-sub\n`,
        "h/prod.yaml": `password: ${V}-prod\n`,
      }),
      { path: "h", type: "helm", helm: { valueFiles: ["prod.yaml", { path: "/tmp/local.yaml", content: `x: ${V}-local\n` }], values: `y: ${V}-inline\n` } },
    );
    for (const want of [V, `${V}-item`, `${V}-sub`, `${V}-prod`, `${V}-local`, `${V}-inline`]) assert.ok(m.includes(want), want);
    for (const not of ["3", "true", "password"]) assert.ok(!m.includes(not), not);
  });
});

describe("redaction", () => {
  test("long pieces wherever they occur, longest first; short ones only as whole words; JSON-escaped forms too", () => {
    assert.equal(redactMaterial(`a ${V}x and ${V}`, [`${V}x`, V]), `a ${REDACTED} and ${REDACTED}`);
    assert.equal(redactMaterial("abc, abcd and xabc", ["abc"]), `${REDACTED}, abcd and xabc`);
    const quoted = 'pa"ss\nword';
    const m = secretMaterial(files({ "a/s.yaml": secret(`stringData:\n  k: ${JSON.stringify(quoted)}\n`) }), { path: "a", type: "directory" });
    assert.equal(redactMaterial(`got "${JSON.stringify(quoted).slice(1, -1)}"`, m), `got "${REDACTED}"`);
  });
});

describe("the values of a Secret object (what an API server's refusal may quote)", () => {
  test("strings and numbers under data and stringData whatever their shape, data decoded; nothing for other kinds", () => {
    const o = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { a: b64(V), m: { n: `${V}-nested` } }, stringData: { pin: 123456789, l: [`${V}-item`], on: true } };
    const m = secretValues(o);
    for (const want of [b64(V), V, `${V}-nested`, "123456789", `${V}-item`]) assert.ok(m.includes(want), want);
    assert.ok(!m.includes("true"), "a boolean is no secret");
    assert.equal(
      redactMaterial(".stringData.pin: expected string, got &value.valueUnstructured{Value:123456789}", m),
      `.stringData.pin: expected string, got &value.valueUnstructured{Value:${REDACTED}}`,
    );
    assert.deepEqual(secretValues({ ...o, kind: "ConfigMap" }), []);
  });
});

describe("directory sources: errors quoting a Secret's value", () => {
  test("an unquoted value starting with * (an alias to no anchor) names file, line and cause, not the value", async () => {
    const err = await dirError(secret(`stringData:\n  password: *${V}\n`));
    assert.equal(err.message, `a/s.yaml:6:13: unknown anchor '${REDACTED}' referenced`);
  });

  test("a mistagged value, in stringData and in data", async () => {
    assert.equal((await dirError(secret(`stringData:\n  pin: !!int ${V}\n`))).message, `a/s.yaml:6:14: cannot decode !!str \`${REDACTED}\` as a !!int`);
    const err = await dirError(secret(`data:\n  pin: !!int ${b64(V)}\n`));
    assert.ok(!err.message.includes(b64(V)) && err.message.includes(REDACTED), err.message);
  });

  test("the same errors outside a Secret still quote the text", async () => {
    const err = await dirError(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: *${V}\n`);
    assert.equal(err.message, `a/s.yaml:6:6: unknown anchor '${V}' referenced`);
  });
});
