/**
 * Ground truth for shared/render/yaml.ts: ONE manifest holding a custom resource with every
 * tricky scalar as a value and as a key (and merges, aliases, tags, block scalars) goes through
 * the test bed's real kubectl (`kubectl apply -f`) to a real API server. What kubectl read
 * (the last-applied-configuration it records) must be exactly what our reader produced, and
 * so must what the server stored for `spec` (`kubectl get -o json`), less the null-valued
 * fields the server prunes. The scalars kubectl refuses are applied one file each: kubectl
 * must fail, and so must our reader.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubectl, stackEnv } from "../support/stack.js";
import { renderDirectory, RenderError } from "../../shared/render/directory.js";

const [cluster] = stackEnv().clusters;
const GROUP = "yaml.converge.dev";
const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: scalars.${GROUP}}
spec:
  group: ${GROUP}
  scope: Cluster
  names: {plural: scalars, singular: scalar, kind: Scalars}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-preserve-unknown-fields: true
`;

/** Plain and tagged scalars kubectl accepts as values (the table of test/unit/yaml.test.ts). */
const VALUES = [
  ...[".", "..", ".5", ".5e3", ".5_0", "._5", ".e3", "+", "+12", "-0", "-0.0", "+0", "00", "0.", "5.", "+.5", "-.5", "1.0", "0.1e-2"],
  ...["1e3", "1E3", "1e+3", "12e", "1e400", "1e-400", "0x1F", "0X1f", "0o17", "0O17", "017", "08", "09.5", "0b101", "0B11", "-0b101"],
  ...["0x", "0b", "0b2", "0x1p3", "1_000", "1__0", "1_", "_1", "-_1", "0x_1F", "1e1_0", "1.5_5", "1_.5", "1:30", "190:20:30"],
  ...["2001-12-14", "2001-12-14 21:59:43.10", "9007199254740993", "9223372036854775807", "-9223372036854775808", "9223372036854775808"],
  ...["18446744073709551615", "18446744073709551616", "-9223372036854775809", "0x10000000000000000", "0.1", "3.14159265358979", "1e6"],
  ...["1e20", "1234567.0", "0.00001", "3.5e38", "2e-45", "685230.15", "0.000244140625", "1049735.25", "6438.71875"],
  ...["y", "Y", "n", "N", "yes", "No", "on", "ON", "Off", "true", "False", "yEs", "tRUE", "~", "null", "Null", "NULL", "nULL", "", "="],
  ...["<<", ".nAn", "inf", "+inf", "nan", "!!str 1", '!!int "12"', "!!float 1", "!!bool yes", '!!null ""', "!!timestamp 2001-12-14"],
  ...["!!binary aGVsbG8=", "! 12"],
];

/** Plain and tagged scalars kubectl accepts as keys. */
const KEYS = [
  ...VALUES.filter((v) => !["~", "null", "Null", "NULL", "", "<<", '!!null ""', "9223372036854775808", "18446744073709551615"].includes(v)),
  ...["-", ".inf", "+.INF", "-.Inf", ".nan", ".NaN"],
];

/** The rest of the spec: merges (go-yaml v2 order), aliases, tags, block and quoted scalars, managedFields-style `.` keys. */
const STRUCTURE = `  merges:
    base: &b {k: 1, j: 1}
    other: &o {k: 3, z: 3}
    before: {k: 2, <<: *b}
    after: {<<: *b, k: 2}
    list: {k: 2, <<: [*b, *o]}
    nested: {<<: {<<: *b, j: 7}}
    tagged: {!!merge <<: *b}
    quoted: {"<<": x}
  aliases:
    a: &x 1
    b: *x
    c: &x 2
    d: *x
    e: &k key
    *k : v
  tags:
    binary: !!binary |
      aGVs
      bG8=
    notUtf8: !!binary gIH/
    local: !foo 0x10
    float: !!float "1_0"
    int: !!int 0b11
  strings:
    literal: |
      0x1F
      yes
    folded: >-
      on
      off
    single: 'yes'
    double: "0x1F"
    flow: [., 0x1F, y, 1:30, '0x1F', "y", {.: {}, 1e6: 1, 'on': on}]
    __proto__: {polluted: true}
  managedFields:
  - fieldsV1:
      f:metadata:
        f:labels:
          .: {}
          f:app: {}
    manager: kubectl
    operation: Update
`;

/** Scalars kubectl refuses: each must make both kubectl and our reader fail. */
const REFUSED: [what: string, spec: string][] = [
  ...[".inf", "-.Inf", "+.INF", ".nan", ".NaN"].map((s): [string, string] => [`value ${s}`, `  v: ${s}\n`]),
  ...["~", "null", "NULL", '!!null ""', "9223372036854775808", "18446744073709551615"].map((s): [string, string] => [`key ${s}`, `  m:\n    ${s}: v\n`]),
  ...["!!int 1.5", "!!timestamp foo", "!!binary aGVsbG8", "!!bool 1", "-"].map((s): [string, string] => [`value ${s}`, `  v: ${s}\n`]),
  ["key !!int 1.5", "  m:\n    !!int 1.5: v\n"],
  ["merge of a scalar", "  m: {<<: 1}\n"],
  ["merge of a sequence alias", "  s: &s [1]\n  m: {<<: *s}\n"],
  ["unknown anchor", "  m: *nope\n"],
  ["anchor containing itself", "  m: &s [1, *s]\n"],
  ["map as a key", "  ? {a: 1}\n  : v\n"],
];

let dir: string;
const suffix = Date.now().toString(36);

const manifest = (name: string, spec: string) => `apiVersion: ${GROUP}/v1\nkind: Scalars\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const pad = (i: number) => String(i).padStart(3, "0");

/** Runs the test bed's kubectl against the first cluster, without throwing. */
function tryKubectl(...args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync(stackEnv().kubectl, ["--kubeconfig", cluster!.kubeconfig, "--context", cluster!.context, ...args], { encoding: "utf8" });
  return { ok: r.status === 0, out: r.stdout, err: r.stderr };
}

/** `v` without the null-valued map entries, as the API server stores a custom resource. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(v)) {
    if (e === null) continue;
    if (k === "__proto__") Object.defineProperty(out, k, { value: withoutNulls(e), enumerable: true, writable: true, configurable: true });
    else out[k] = withoutNulls(e);
  }
  return out;
}

/** Our reader on one file: the object's spec, or the RenderError. */
function ours(file: string, content: string): unknown {
  try {
    return renderDirectory([{ path: file, content }], { path: "" }).objects[0]?.object.spec;
  } catch (e) {
    assert.ok(e instanceof RenderError, `a RenderError, not ${String(e)}`);
    return e;
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "converge-yaml-kubectl-"));
  writeFileSync(join(dir, "crd.yaml"), CRD);
  kubectl(cluster!, "apply", "-f", join(dir, "crd.yaml"));
  kubectl(cluster!, "wait", "--for=condition=Established", "--timeout=30s", `crd/scalars.${GROUP}`);
});

after(() => {
  tryKubectl("delete", "crd", `scalars.${GROUP}`, "--wait=false");
  rmSync(dir, { recursive: true, force: true });
});

test("one manifest with every scalar as a value and as a key: our reader gives exactly what kubectl sent and the server stored", () => {
  const values = VALUES.map((s, i) => `    v${pad(i)}: ${s}\n`).join("");
  const keys = KEYS.map((s, i) => `    k${pad(i)}:\n      ${s}: v\n`).join("");
  const name = `all-${suffix}`;
  const content = manifest(name, `  values:\n${values}  keys:\n${keys}${STRUCTURE}`);
  writeFileSync(join(dir, "all.yaml"), content);
  const mine = ours("all.yaml", content);
  assert.ok(!(mine instanceof Error), `our reader failed: ${String(mine)}`);

  kubectl(cluster!, "apply", "-f", join(dir, "all.yaml"));
  const raw = kubectl(cluster!, "get", `scalars.${GROUP}`, name, "-o", "json");
  const live = JSON.parse(raw) as { spec: unknown; metadata: { annotations: Record<string, string> } };
  // what kubectl read and sent, as client-side apply records it
  const sent = (JSON.parse(live.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]!) as { spec: unknown }).spec;
  assert.deepStrictEqual(mine, sent);
  // what the API server stored: the same, less the null-valued fields it prunes
  assert.deepStrictEqual(withoutNulls(mine), live.spec);

  // the server keeps int64 exactly; as JavaScript numbers both sides are the nearest double
  const v = (text: string) => (mine as { values: Record<string, unknown> }).values[`v${pad(VALUES.indexOf(text))}`];
  assert.match(raw, new RegExp(`"v${pad(VALUES.indexOf("9007199254740993"))}": 9007199254740993\\b`));
  assert.equal(v("9007199254740993"), 9007199254740992);
  // spot checks of what the old resolver got wrong
  assert.equal(v("."), ".");
  assert.equal(v("-_1"), -1);
  assert.equal(v("0X1f"), 31);
  assert.equal(v("1e400"), "1e400");
  assert.equal(v("0x10000000000000000"), "0x10000000000000000");
  assert.equal(v("!!float 1"), 1);
  const key = (text: string) => Object.keys((mine as { keys: Record<string, object> }).keys[`k${pad(KEYS.indexOf(text))}`]!)[0];
  assert.equal(key("1e6"), "1e+06");
  assert.equal(key("-0.0"), "-0");
  assert.equal(key(".inf"), ".inf");
  assert.deepStrictEqual((mine as { merges: Record<string, unknown> }).merges.before, { k: 1, j: 1 });
});

test("what kubectl refuses, our reader refuses too", () => {
  // control: the same kind of file, valid, goes through both
  const control = manifest(`control-${suffix}`, "  v: 1\n");
  writeFileSync(join(dir, "control.yaml"), control);
  assert.ok(tryKubectl("apply", "-f", join(dir, "control.yaml")).ok);
  assert.deepEqual(ours("control.yaml", control), { v: 1 });
  const disagreements: string[] = [];
  REFUSED.forEach(([what, spec], i) => {
    const file = `refused-${pad(i)}.yaml`;
    const content = manifest(`refused-${pad(i)}-${suffix}`, spec);
    writeFileSync(join(dir, file), content);
    const k = tryKubectl("apply", "-f", join(dir, file));
    const mine = ours(file, content);
    if (k.ok || !(mine instanceof RenderError)) {
      disagreements.push(`${what}: kubectl ${k.ok ? "accepted it" : "failed"}, our reader ${mine instanceof RenderError ? `failed (${mine.message})` : `gave ${JSON.stringify(mine)}`}`);
    }
  });
  assert.deepEqual(disagreements, []);
});
