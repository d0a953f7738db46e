/**
 * Manifests read as kubectl reads them (shared/render/yaml.ts): sigs.k8s.io/yaml over go-yaml v2.
 * The expectations of the scalar table were produced by sigs.k8s.io/yaml v1.6.0 `YAMLToJSON`
 * followed by kubectl's JSON number decoding (integral → int64), and are checked against a
 * real API server by test/integration/yaml-kubectl.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeDocument, goFormatFloat32, goParseInt, goParseUint, jsonKey, parseYamlStream, resolvePlainScalar, resolveTaggedScalar, YamlValueError } from "../../shared/render/yaml.js";
import { renderDirectory, RenderError } from "../../shared/render/directory.js";

/** kubectl refuses it (and so does our reader). */
const FAILS = Symbol("fails");

/** `text` as written after `v: ` (value) and before `: v` (key), and what kubectl makes of each. */
const SCALARS: [text: string, value: unknown, key: string | typeof FAILS][] = [
  // '.' hint: Go ParseFloat, else a string
  [".", ".", "."],
  ["..", "..", ".."],
  [".5", 0.5, "0.5"],
  [".5e3", 500, "500"],
  [".5_0", 0.5, "0.5"],
  ["._5", "._5", "._5"],
  [".e3", ".e3", ".e3"],
  // sign and digit hints: ParseInt (base 0) / ParseUint / yamlStyleFloat, on the text without '_'
  ["+", "+", "+"],
  ["-", FAILS, "-"], // as a value: "block sequence entries are not allowed in this context"
  ["+12", 12, "12"],
  ["-0", 0, "0"],
  ["-0.0", 0, "-0"], // Go sends -0, kubectl's int64 decoding makes it 0; a float key keeps "-0"
  ["+0", 0, "0"],
  ["00", 0, "0"],
  ["0.", 0, "0"],
  ["5.", 5, "5"],
  ["+.5", 0.5, "0.5"],
  ["-.5", -0.5, "-0.5"],
  ["1.0", 1, "1"],
  ["0.1e-2", 0.001, "0.001"],
  ["1e3", 1000, "1000"],
  ["1E3", 1000, "1000"],
  ["1e+3", 1000, "1000"],
  ["12e", "12e", "12e"],
  ["1e400", "1e400", "1e400"], // ParseFloat range error: a string
  ["1e-400", 0, "0"],
  ["0x1F", 31, "31"],
  ["0X1f", 31, "31"],
  ["0o17", 15, "15"],
  ["0O17", 15, "15"],
  ["017", 15, "15"],
  ["08", 8, "8"], // not octal, not an int: the float 8
  ["09.5", 9.5, "9.5"],
  ["0b101", 5, "5"],
  ["0B11", 3, "3"],
  ["-0b101", -5, "-5"],
  ["0x", "0x", "0x"],
  ["0b", "0b", "0b"],
  ["0b2", "0b2", "0b2"],
  ["0x1p3", "0x1p3", "0x1p3"], // Go hex float: not yamlStyleFloat
  ["1_000", 1000, "1000"],
  ["1__0", 10, "10"],
  ["1_", 1, "1"],
  ["_1", "_1", "_1"], // no hint for '_'
  ["-_1", -1, "-1"],
  ["0x_1F", 31, "31"],
  ["1e1_0", 10000000000, "1e+10"],
  ["1.5_5", 1.55, "1.55"],
  ["1_.5", 1.5, "1.5"],
  ["1:30", "1:30", "1:30"], // base 60 in YAML 1.1, a string in go-yaml v2
  ["190:20:30", "190:20:30", "190:20:30"],
  ["2001-12-14", "2001-12-14", "2001-12-14"],
  ["2001-12-14 21:59:43.10", "2001-12-14 21:59:43.10", "2001-12-14 21:59:43.10"],
  // beyond 2^53: the nearest double (as JSON.parse reads the live object); keys exact
  ["9007199254740993", 9007199254740992, "9007199254740993"],
  ["9223372036854775807", 9223372036854775807, "9223372036854775807"],
  ["-9223372036854775808", -9223372036854775808, "-9223372036854775808"],
  ["9223372036854775808", 9223372036854775808, FAILS], // a uint64: "unsupported map key of type: uint64"
  ["18446744073709551615", 18446744073709551615, FAILS],
  ["18446744073709551616", 18446744073709551616, "1.8446744e+19"], // beyond uint64: a float
  ["-9223372036854775809", -9223372036854775809, "-9.223372e+18"],
  ["0x10000000000000000", "0x10000000000000000", "0x10000000000000000"],
  // float keys: Go FormatFloat(f, 'g', -1, 32)
  ["0.1", 0.1, "0.1"],
  ["3.14159265358979", 3.14159265358979, "3.1415927"],
  ["1e6", 1000000, "1e+06"],
  ["1e20", 1e20, "1e+20"],
  ["1234567.0", 1234567, "1.234567e+06"],
  ["0.00001", 0.00001, "1e-05"],
  ["3.5e38", 3.5e38, ".inf"],
  ["2e-45", 2e-45, "1e-45"],
  ["685230.15", 685230.15, "685230.1"],
  ["0.000244140625", 0.000244140625, "0.00024414062"], // a tie: to even with kubectl's Go 1.24 (Go 1.26: ...063)
  ["1049735.25", 1049735.25, "1.0497352e+06"],
  ["6438.71875", 6438.71875, "6438.7188"],
  // map hints: exact spellings only
  ["y", true, "true"],
  ["Y", true, "true"],
  ["n", false, "false"],
  ["N", false, "false"],
  ["yes", true, "true"],
  ["No", false, "false"],
  ["on", true, "true"],
  ["ON", true, "true"],
  ["Off", false, "false"],
  ["true", true, "true"],
  ["False", false, "false"],
  ["yEs", "yEs", "yEs"],
  ["tRUE", "tRUE", "tRUE"],
  ["~", null, FAILS], // a null key: "unsupported map key of type: <nil>"
  ["null", null, FAILS],
  ["Null", null, FAILS],
  ["NULL", null, FAILS],
  ["nULL", "nULL", "nULL"],
  ["", null, FAILS],
  ["=", "=", "="],
  ["<<", "<<", FAILS], // as a key: a merge, whose value must be a map
  [".inf", FAILS, ".inf"], // json: unsupported value: +Inf
  ["+.INF", FAILS, ".inf"],
  ["-.Inf", FAILS, "-.inf"],
  [".nan", FAILS, ".nan"],
  [".NaN", FAILS, ".nan"],
  [".nAn", ".nAn", ".nAn"],
  ["inf", "inf", "inf"],
  ["+inf", "+inf", "+inf"],
  ["nan", "nan", "nan"],
  // explicit tags
  ["!!str 1", "1", "1"],
  ['!!int "12"', 12, "12"],
  ["!!float 1", 1, "1"],
  ["!!bool yes", true, "true"],
  ['!!null ""', null, FAILS],
  ["!!int 1.5", FAILS, FAILS], // cannot decode !!float `1.5` as a !!int
  ["!!timestamp 2001-12-14", "2001-12-14", "2001-12-14"],
  ["!!timestamp foo", FAILS, FAILS],
  ["!!binary aGVsbG8=", "hello", "hello"],
  ["!!binary aGVsbG8", FAILS, FAILS], // padding missing
  ["! 12", "12", "12"],
];

/** The JSON value of one YAML document, or FAILS on any error (syntax or value). */
function read(text: string): unknown {
  const [doc, ...rest] = parseYamlStream(text);
  if (!doc || rest.length > 0 || doc.errors.length > 0) return FAILS;
  try {
    return decodeDocument(doc);
  } catch (e) {
    assert.ok(e instanceof YamlValueError, `a YamlValueError, not ${String(e)}`);
    return FAILS;
  }
}

const valueOf = (text: string) => {
  const r = read(`v: ${text}\n`);
  return r === FAILS ? r : (r as { v: unknown }).v;
};
const keyOf = (text: string) => {
  const r = read(`${text}: v\n`);
  if (r === FAILS) return r;
  const keys = Object.keys(r as object);
  assert.equal(keys.length, 1);
  return keys[0]!;
};

describe("scalars as kubectl reads them", () => {
  test("as values and as keys, the whole table", () => {
    assert.deepStrictEqual(
      SCALARS.map(([text]) => [text, valueOf(text), keyOf(text)]),
      SCALARS,
    );
  });

  test("in flow collections and quoted: the same rules, quoted and block scalars are strings", () => {
    assert.deepStrictEqual(read("a: [., 0x1F, y, 1:30, '0x1F', \"y\"]\nb: {.: {}, 1e6: 1, 'on': on}\nc: |\n  yes\nd: >-\n  0x1F\n"), {
      a: [".", 31, true, "1:30", "0x1F", "y"],
      b: { ".": {}, "1e+06": 1, on: true },
      c: "yes\n",
      d: "0x1F",
    });
  });

  test("resolvePlainScalar keeps Go's types: ints exact (bigint), floats, uint64", () => {
    assert.deepStrictEqual(resolvePlainScalar("017"), { type: "int", value: 15n });
    assert.deepStrictEqual(resolvePlainScalar("08"), { type: "float", value: 8 });
    assert.deepStrictEqual(resolvePlainScalar("1e3"), { type: "float", value: 1000 });
    assert.deepStrictEqual(resolvePlainScalar("18446744073709551615"), { type: "int", value: 18446744073709551615n });
    assert.deepStrictEqual(resolvePlainScalar("<<"), { type: "str", value: "<<" }); // a merge only as a key
    assert.deepStrictEqual(resolvePlainScalar("."), { type: "str", value: "." });
    assert.deepStrictEqual(resolvePlainScalar(""), { type: "null" });
    assert.deepStrictEqual(resolveTaggedScalar("tag:yaml.org,2002:float", "0x10"), { type: "float", value: 16 });
    assert.deepStrictEqual(resolveTaggedScalar("!local", "0x10"), { type: "str", value: "0x10" });
    assert.throws(() => resolveTaggedScalar("tag:yaml.org,2002:bool", "1"), /cannot decode !!int `1` as a !!bool/);
    assert.throws(() => jsonKey({ type: "null" }), /unsupported map key/);
  });

  test("Go strconv.ParseInt / ParseUint with base 0", () => {
    const cases: [string, bigint | undefined, bigint | undefined][] = [
      ["0", 0n, 0n],
      ["", undefined, undefined],
      ["0x", undefined, undefined],
      ["0b102", undefined, undefined],
      ["-0x10", -16n, undefined],
      ["+0o17", 15n, undefined],
      ["-9223372036854775808", -9223372036854775808n, undefined],
      ["9223372036854775808", undefined, 9223372036854775808n],
      ["0xffffffffffffffff", undefined, 18446744073709551615n],
      ["18446744073709551616", undefined, undefined],
      ["--1", undefined, undefined],
    ];
    assert.deepStrictEqual(
      cases.map(([s]) => [s, goParseInt(s), goParseUint(s)]),
      cases,
    );
  });

  test("Go FormatFloat(x, 'g', -1, 32), as sigs.k8s.io/yaml writes float keys", () => {
    const cases: [number, string][] = [
      [0, "0"],
      [-0, "-0"],
      [100000, "100000"],
      [1e6, "1e+06"],
      [0.0001, "0.0001"],
      [1.5e-7, "1.5e-07"],
      [16777217, "1.6777216e+07"],
      [-123456.7, "-123456.7"],
      [3.4e38, "3.4e+38"],
      [1e39, ".inf"],
      [-Infinity, "-.inf"],
      [NaN, ".nan"],
    ];
    assert.deepStrictEqual(
      cases.map(([x]) => [x, goFormatFloat32(x)]),
      cases,
    );
  });
});

describe("maps, merges and aliases as go-yaml v2 builds them", () => {
  test("a << merge sets its keys where it stands: it overrides the keys before it", () => {
    const doc = [
      "base: &b {k: 1, j: 1}",
      "other: &o {k: 3, z: 3}",
      "before: {k: 2, <<: *b}",
      "after: {<<: *b, k: 2}",
      "list: {k: 2, <<: [*b, *o]}",
      "nested: {<<: {<<: *b, j: 7}}",
      "inline: {<<: {k: 5}}",
      "tagged: {!!merge <<: *b}",
      'quoted: {"<<": x}',
    ].join("\n");
    assert.deepStrictEqual(read(doc), {
      base: { k: 1, j: 1 },
      other: { k: 3, z: 3 },
      before: { k: 1, j: 1 },
      after: { k: 2, j: 1 },
      list: { k: 1, j: 1, z: 3 },
      nested: { k: 1, j: 7 },
      inline: { k: 5 },
      tagged: { k: 1, j: 1 },
      quoted: { "<<": "x" },
    });
    for (const bad of ["a: &s [1]\nb: {<<: *s}\n", "a: {<<: [{k: 1}, 3]}\n", "a: {<<: 1}\n", "a: {<<: }\n"]) assert.equal(read(bad), FAILS, bad);
  });

  test("an alias is the last anchor of its name before it, keys included; unknown and self-containing anchors fail", () => {
    assert.deepStrictEqual(read("a: &x 1\nb: *x\nc: &x 2\nd: *x\ne: &k key\n*k : v\n"), { a: 1, b: 1, c: 2, d: 2, e: "key", key: "v" });
    assert.equal(read("a: *nope\n"), FAILS);
    assert.equal(read("a: [*x]\nb: &x 1\n"), FAILS);
    assert.equal(read("a: &s [1, *s]\n"), FAILS);
    assert.equal(read("a: &m {b: *m}\n"), FAILS);
  });

  test("keys are compared after resolution: 1 and 0x1 collide (an error), 'yes' and yes do not", () => {
    assert.equal(read("a: {1: x, 0x1: y}\n"), FAILS);
    assert.equal(read("a: {true: x, on: y}\n"), FAILS);
    assert.equal(read("a: {1.0: x, 1: y}\n"), FAILS);
    assert.deepStrictEqual(read("a: {'yes': x, yes: z}\n"), { a: { yes: "x", true: "z" } });
  });

  test("a map or a sequence as a key fails; __proto__ is an ordinary key", () => {
    assert.equal(read("? [1, 2]\n: x\n"), FAILS);
    assert.equal(read("? {a: 1}\n: x\n"), FAILS);
    const o = read("__proto__: {polluted: true}\n") as Record<string, unknown>;
    assert.deepStrictEqual(Object.keys(o), ["__proto__"]);
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test("!!binary: base64 across lines, the text decoded; bytes that are not UTF-8 become U+FFFD each (Go json.Marshal)", () => {
    assert.deepStrictEqual(read("a: !!binary |\n  aGVs\n  bG8=\nb: !!binary gIH/\nc: !!binary 4oI=\n"), { a: "hello", b: "\ufffd\ufffd\ufffd", c: "\ufffd\ufffd" });
    assert.equal(read("a: !!binary aGVs bG8=\n"), FAILS);
  });

  test("a tag go-yaml ignores gives the text and a warning; !!timestamp needs a real date", () => {
    const [doc] = parseYamlStream("a: !foo 0x10\nb: !!set {x}\nc: !!timestamp 2001-12-14t21:59:43.10-05:00\n");
    assert.deepStrictEqual(decodeDocument(doc!), { a: "0x10", b: { x: null }, c: "2001-12-14t21:59:43.10-05:00" });
    assert.equal(doc!.warnings.length, 2);
    assert.equal(read("a: !!timestamp 2001-2-30\n"), FAILS);
    assert.equal(read("a: !!timestamp 2001-12-14T21:59:43\n"), FAILS, "T needs a zone");
  });
});

describe("through renderDirectory", () => {
  const manifest = (spec: string) => `apiVersion: example.com/v1\nkind: Probe\nmetadata:\n  name: p\nspec:\n${spec}`;

  test("value errors carry the file, line and column of the scalar", () => {
    const at = (spec: string) => {
      try {
        renderDirectory([{ path: "m/x.yaml", content: manifest(spec) }], { path: "m" });
      } catch (e) {
        assert.ok(e instanceof RenderError);
        return `${e.line}:${e.column} ${e.reason}`;
      }
      return "no error";
    };
    assert.equal(at("  ok: 1\n  bad: .inf\n"), "7:8 json: unsupported value: +Inf (JSON has no Infinity or NaN)");
    assert.equal(at("  m:\n    ~: x\n"), "7:5 unsupported map key of type: <nil> (a null key)");
    assert.equal(at("  a: 1\n  0x1: 2\n  1: 3\n"), '8:3 map keys must be unique: "1" appears twice');
    assert.equal(at("  a: !!int 1.5\n"), "6:12 cannot decode !!float `1.5` as a !!int");
  });

  test("managedFields as `kubectl get -o yaml` prints them read back (the `.` keys)", () => {
    const spec = "  managedFields:\n  - fieldsV1:\n      f:metadata:\n        f:labels:\n          .: {}\n          f:app: {}\n    manager: kubectl\n    operation: Update\n";
    const r = renderDirectory([{ path: "m/x.yaml", content: manifest(spec) }], { path: "m" });
    assert.deepStrictEqual(r.objects[0]!.object.spec, {
      managedFields: [{ fieldsV1: { "f:metadata": { "f:labels": { ".": {}, "f:app": {} } } }, manager: "kubectl", operation: "Update" }],
    });
  });
});
