/**
 * YAML read exactly as kubectl and Argo CD read it. Both decode manifests with
 * sigs.k8s.io/yaml (v1.6.0 in Kubernetes 1.34), i.e. go-yaml v2 (go.yaml.in/yaml/v2 v2.4.2,
 * identical to gopkg.in/yaml.v2 v2.4.0) into `interface{}`, then convert the result to JSON.
 * The `yaml` package only parses here (failsafe schema: every scalar stays text, with its
 * style and tag); everything after parsing is a port of those two libraries:
 *
 * - scalars: go-yaml v2 `resolve.go` `resolve()` — see `resolvePlainScalar` and
 *   `resolveTaggedScalar`; a quoted or block scalar without a tag is a string;
 * - map keys: sigs.k8s.io/yaml `yaml.go` `convertToJSONableObject` — see `jsonKey`;
 * - values: `json.Marshal` (no Infinity or NaN), then kubectl's own JSON decoding
 *   (k8s.io/apimachinery util/json: an integral number is an int64) — see `jsonValue`;
 * - merge keys `<<`: go-yaml v2 `decode.go` `merge()` — merged keys are set when the `<<`
 *   is met, so they override keys written before it and are overridden by keys after it;
 * - aliases: bound at parse time to the last anchor of that name before them (go-yaml v2
 *   `parser.alias`); an anchor containing an alias to itself is an error.
 *
 * Stricter than kubectl, on purpose: a key appearing twice in a map (after resolution: `1`
 * and `0x1`, `yes` and `true`) is an error where kubectl keeps one silently, and aliases are
 * limited like the `yaml` package's `maxAliasCount` (each anchor may be expanded at most
 * `MAX_ALIAS_COUNT` times, weighted by the aliases inside it) so an alias bomb fails fast.
 */
import {
  CST,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  parseAllDocuments,
  visit,
  type Alias,
  type Document,
  type LineCounter,
  type Node,
  type Scalar,
  type ScalarTag,
  type Tags,
  type YAMLMap,
} from "yaml";

/** Most aliases one document may expand (as the `yaml` package's `maxAliasCount`): stops alias bombs. */
export const MAX_ALIAS_COUNT = 100;

/**
 * A scalar as go-yaml v2 resolves it. `int` is an int64 or, above int64's range, a uint64 (Go
 * `int`/`int64`/`uint64`).
 */
export type GoScalar = { type: "null" } | { type: "bool"; value: boolean } | { type: "int"; value: bigint } | { type: "float"; value: number } | { type: "str"; value: string };

/** A value that cannot become JSON as kubectl would send it; `offset` is where in the text. */
export class YamlValueError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "YamlValueError";
  }
}

const TAG = "tag:yaml.org,2002:";
const INT = `${TAG}int`;
const FLOAT = `${TAG}float`;
const BOOL = `${TAG}bool`;
const NULL = `${TAG}null`;
const BINARY = `${TAG}binary`;
const TIMESTAMP = `${TAG}timestamp`;
const MERGE = `${TAG}merge`;

/** go-yaml v2 `resolveTable`: the first character's hint (none: a string). */
function hintOf(text: string): "S" | "D" | "M" | "." | undefined {
  if (text === "") return "M"; // go-yaml: 'N', looked up in the map like 'M'
  const c = text[0]!;
  if (c === "+" || c === "-") return "S";
  if (c >= "0" && c <= "9") return "D";
  if ("yYnNtTfFoO~".includes(c)) return "M";
  return c === "." ? "." : undefined;
}

/**
 * go-yaml v2 `resolveMap`: exact spellings. (Its `<<` entry is unreachable — `<` has no hint —
 * so a plain `<<` resolves to the string "<<"; decode.go `isMerge` makes it a merge as a key.)
 */
const RESOLVE_MAP = new Map<string, GoScalar>([
  ...["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"].map((s) => [s, { type: "bool", value: true }] as const),
  ...["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"].map((s) => [s, { type: "bool", value: false }] as const),
  ...["", "~", "null", "Null", "NULL"].map((s) => [s, { type: "null" }] as const),
  ...[".nan", ".NaN", ".NAN"].map((s) => [s, { type: "float", value: NaN }] as const),
  ...[".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"].map((s) => [s, { type: "float", value: Infinity }] as const),
  ...["-.inf", "-.Inf", "-.INF"].map((s) => [s, { type: "float", value: -Infinity }] as const),
]);

/** go-yaml v2 `yamlStyleFloat`, tried (after ParseInt and ParseUint) on the text without `_`. */
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** What Go's strconv.ParseFloat accepts of a text starting with `.`: Go float syntax, `_` only between digits. */
const GO_DOT_FLOAT = /^\.[0-9](_?[0-9])*([eE][-+]?[0-9](_?[0-9])*)?$/;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MAX = (1n << 63n) - 1n;
/** The digits each Go base prefix allows (`0` alone: octal). */
const DIGITS: Record<string, RegExp> = { "": /^[0-9]+$/, "0b": /^[01]+$/, "0o": /^[0-7]+$/, "0x": /^[0-9a-fA-F]+$/ };

/**
 * Go `strconv.ParseUint(s, 0, 64)` on a text without `_`: `0x`/`0X` hex, `0o`/`0O` octal,
 * `0b`/`0B` binary (each followed by at least one digit), another leading `0` octal, else
 * decimal. Undefined on a syntax or range error.
 */
export function goParseUint(s: string): bigint | undefined {
  let prefix = "";
  let digits = s;
  if (s.length >= 3 && s[0] === "0" && "bBoOxX".includes(s[1]!)) {
    prefix = `0${s[1]!.toLowerCase()}`;
    digits = s.slice(2);
  } else if (s[0] === "0") {
    prefix = "0o";
    digits = s.slice(1) || "0";
  }
  if (!DIGITS[prefix]!.test(digits)) return undefined;
  const n = BigInt(prefix + digits);
  return n <= UINT64_MAX ? n : undefined;
}

/** Go `strconv.ParseInt(s, 0, 64)`: an optional sign, then as `goParseUint`, within int64. */
export function goParseInt(s: string): bigint | undefined {
  const neg = s[0] === "-";
  const u = s[0] === "-" || s[0] === "+" ? goParseUint(s.slice(1)) : goParseUint(s);
  if (u === undefined) return undefined;
  if (neg) return u <= INT64_MAX + 1n ? -u : undefined;
  return u <= INT64_MAX ? u : undefined;
}

/**
 * The digit/sign branch of go-yaml v2 `resolve()`: remove every `_`, then ParseInt (base 0),
 * ParseUint, and, when the text matches `yamlStyleFloat`, ParseFloat (an out-of-range float
 * such as `1e400` is a range error there: not a number). Timestamps are skipped: go-yaml
 * hands them to `interface{}` as their text, and a text that parses as a timestamp never
 * parses as a number, so the result is the same. The trailing `0b`/`-0b` retries of
 * resolve.go cannot succeed where Go ≥ 1.13's base-0 ParseInt failed, so they are left out.
 */
function resolveNumber(text: string): GoScalar | undefined {
  const plain = text.replaceAll("_", "");
  const int = goParseInt(plain) ?? goParseUint(plain);
  if (int !== undefined) return { type: "int", value: int };
  if (YAML_STYLE_FLOAT.test(plain)) {
    const f = Number(plain);
    if (Number.isFinite(f)) return { type: "float", value: f };
  }
  return undefined;
}

/**
 * Resolves a plain (unquoted, untagged) scalar as go-yaml v2 does (resolve.go `resolve("", in)`):
 * 1. first-character hint: `+ -` sign, `0-9` digit, `yYnNtTfFoO~` map, `.` float; any
 *    other first character: a string;
 * 2. exact spellings (`RESOLVE_MAP`): y/yes/true/on (3 casings) → true, n/no/false/off →
 *    false, `` ~ null Null NULL → null, .nan/.inf/+.inf/-.inf (3 casings) → floats;
 * 3. `.` hint: Go ParseFloat of the text (`.5`, `.5e3`, `.5_0`), else a string (`.`, `..`, `.e3`);
 * 4. sign/digit hint: `resolveNumber` (`0x1F`, `0o17`, `017` octal, `0b101`, `1_000`, `08`
 *    → 8.0, `1e3`), else a string (`1:30`, `2001-12-14`, `12e`, `0x`, `-`).
 * @returns the resolved scalar; never throws.
 */
export function resolvePlainScalar(text: string): GoScalar {
  const hint = hintOf(text);
  if (hint === undefined) return { type: "str", value: text };
  const known = RESOLVE_MAP.get(text);
  if (known) return known;
  if (hint === "." && GO_DOT_FLOAT.test(text)) {
    const f = Number(text.replaceAll("_", ""));
    if (Number.isFinite(f)) return { type: "float", value: f };
  }
  if (hint === "S" || hint === "D") return resolveNumber(text) ?? { type: "str", value: text };
  return { type: "str", value: text };
}

/**
 * go-yaml v2's check of a `!!timestamp` text (resolve.go `parseTimestamp`, Go `time.Parse`
 * with its four layouts): `2006-1-2`, `2006-1-2 15:4:5[.frac]`, `2006-1-2T15:4:5[.frac]Z07:00`
 * (`T` or `t`; zone `Z` or `±hh:mm`), with calendar ranges checked.
 */
function isGoTimestamp(s: string): boolean {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?(?:Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?))?$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, se] = [Number(m[4] ?? m[7] ?? 0), Number(m[5] ?? m[8] ?? 0), Number(m[6] ?? m[9] ?? 0)];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth && h < 24 && mi < 60 && se < 60;
}

/**
 * Go's `string(bytes)` as `json.Marshal` writes it: each byte that does not start a valid
 * UTF-8 sequence becomes one U+FFFD (encoding/json `encodeState.string`).
 */
function goBytesToString(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const n = utf8SequenceLength(bytes, i);
    out += n === 0 ? "\ufffd" : Buffer.from(bytes.subarray(i, i + n)).toString("utf8");
    i += n || 1;
  }
  return out;
}

/** Length of the valid UTF-8 sequence at `i` (Go `utf8.DecodeRune` rules), 0 when invalid. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const b0 = b[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => b[i + k] !== undefined && b[i + k]! >= lo && b[i + k]! <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const [lo, hi] = b0 === 0xe0 ? [0xa0, 0xbf] : b0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const [lo, hi] = b0 === 0xf0 ? [0x90, 0xbf] : b0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/**
 * A `!!binary` text decoded as go-yaml v2 decodes it (decode.go `scalar`: Go
 * `base64.StdEncoding.DecodeString`, which skips `\r` and `\n` and needs the `=` padding),
 * then as a string.
 * @throws Error "!!binary value contains invalid base64 data" (go-yaml's message).
 */
function decodeBinary(text: string): string {
  const b64 = text.replace(/[\r\n]/g, "");
  if (!/^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)) throw new Error("!!binary value contains invalid base64 data");
  return goBytesToString(Buffer.from(b64, "base64"));
}

const SHORT_TAG: Record<GoScalar["type"], string> = { null: "!!null", bool: "!!bool", int: "!!int", float: "!!float", str: "!!str" };
const TAG_TYPE: Record<string, GoScalar["type"]> = { [INT]: "int", [FLOAT]: "float", [BOOL]: "bool", [NULL]: "null" };

/**
 * Resolves a scalar with an explicit tag as go-yaml v2 does (resolve.go `resolve(tag, in)`
 * and decode.go `scalar`): `!!str` → the text; `!!binary` → the base64-decoded text;
 * `!!int`, `!!float`, `!!bool`, `!!null` → the text resolved as if plain, which must then be
 * of that type (an int is accepted as a `!!float`); `!!timestamp` → the text, which must be
 * a timestamp; any other tag (`!`, `!foo`, `!!merge`...) → the text.
 * @param tag the full tag (`tag:yaml.org,2002:int`, `!foo`); `text` the scalar's content (quoted or not).
 * @throws Error "cannot decode !!float `1.5` as a !!int" (go-yaml's message), or a `!!binary` error.
 */
export function resolveTaggedScalar(tag: string, text: string): GoScalar {
  if (tag === BINARY) return { type: "str", value: decodeBinary(text) };
  if (tag === TIMESTAMP) {
    if (/^\d{4}-/.test(text) && isGoTimestamp(text)) return { type: "str", value: text };
    throw new Error(`cannot decode ${SHORT_TAG[resolvePlainScalar(text).type]} \`${text}\` as a !!timestamp`);
  }
  const want = TAG_TYPE[tag];
  if (want === undefined) return { type: "str", value: text };
  const r = resolvePlainScalar(text);
  if (r.type === want) return r;
  if (want === "float" && r.type === "int") return { type: "float", value: Number(r.value) };
  throw new Error(`cannot decode ${SHORT_TAG[r.type]} \`${text}\` as a ${SHORT_TAG[want]}`);
}

/**
 * The JSON value kubectl sends for a resolved scalar: Go `json.Marshal` (an int exactly, a
 * float in shortest form), decoded again by kubectl's k8s.io/apimachinery util/json (integral
 * numbers become int64: so `-0.0`, sent as `-0`, is 0). As a JavaScript number, an integer
 * beyond ±2^53 is rounded to the nearest double — the same rounding JSON.parse applies to
 * the live object, so both sides compare alike.
 * @throws Error for .inf/.nan ("json: unsupported value", as kubectl fails).
 */
export function jsonValue(s: GoScalar): unknown {
  switch (s.type) {
    case "null":
      return null;
    case "int":
      return Number(s.value);
    case "float":
      if (!Number.isFinite(s.value)) throw new Error(`json: unsupported value: ${Number.isNaN(s.value) ? "NaN" : s.value > 0 ? "+Inf" : "-Inf"} (JSON has no Infinity or NaN)`);
      return s.value === 0 ? 0 : s.value;
    default:
      return s.value;
  }
}

/** An exact rational num/den (den > 0). */
type Ratio = [bigint, bigint];

/** A finite double as an exact Ratio (its denominator a power of two). */
function exactRatio(x: number): Ratio {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  const mantissa = (bits & ((1n << 52n) - 1n)) | (biased ? 1n << 52n : 0n);
  const e2 = (biased || 1) - 1075;
  const num = x < 0 ? -mantissa : mantissa;
  return e2 >= 0 ? [num << BigInt(e2), 1n] : [num, 1n << BigInt(-e2)];
}

/** Sign of a − b. */
function compare([an, ad]: Ratio, [bn, bd]: Ratio): number {
  const d = an * bd - bn * ad;
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

const midpoint = ([an, ad]: Ratio, [bn, bd]: Ratio): Ratio => [an * bd + bn * ad, 2n * ad * bd];
const distance = ([an, ad]: Ratio, [bn, bd]: Ratio): Ratio => [an * bd > bn * ad ? an * bd - bn * ad : bn * ad - an * bd, ad * bd];

/** The float32 next to `f` (> 0) downwards or upwards (beyond the largest: as far as the one below). */
function float32Neighbor(f: number, step: -1 | 1): Ratio {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, f);
  view.setUint32(0, view.getUint32(0) + step);
  const n = view.getFloat32(0);
  if (Number.isFinite(n)) return exactRatio(n);
  const [pn, pd] = float32Neighbor(f, -1);
  const [fn, fd] = exactRatio(f);
  return [2n * fn * pd - pn * fd, fd * pd];
}

/**
 * The shortest decimal digits that read back as the float32 `f` (> 0) — nearest to `f` among
 * the shortest, an exact tie to the even digit — with the decimal exponent of the first digit:
 * the digits of Go `strconv.FormatFloat(f, 'g', -1, 32)` as Go 1.24 (Ryū), which builds
 * kubectl 1.34, computes them (exact rational arithmetic here). Go 1.26's new algorithm breaks
 * the one tie at a power of two, 2^-12 (`0.00024414062`), upwards.
 */
function shortestFloat32(f: number): { digits: string; exp: number } {
  const exact = exactRatio(f);
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, f);
  const inclusive = view.getUint32(0) % 2 === 0; // a tie reads back as the even mantissa
  const [lo, hi] = [midpoint(float32Neighbor(f, -1), exact), midpoint(exact, float32Neighbor(f, 1))];
  const within = (c: Ratio) => (inclusive ? compare(c, lo) >= 0 && compare(c, hi) <= 0 : compare(c, lo) > 0 && compare(c, hi) < 0);
  for (let p = 1; p <= 9; p++) {
    const [m, e] = f.toExponential(p - 1).split("e") as [string, string];
    const scale = Number(e) - (p - 1);
    const ratio = (d: bigint): Ratio => (scale >= 0 ? [d * 10n ** BigInt(scale), 1n] : [d, 10n ** BigInt(-scale)]);
    const mantissa = BigInt(m.replace(".", ""));
    const best = [mantissa - 1n, mantissa, mantissa + 1n]
      .filter((d) => d > 0n && within(ratio(d)))
      .sort((a, b) => compare(distance(ratio(a), exact), distance(ratio(b), exact)) || Number(a % 2n) - Number(b % 2n))[0];
    if (best !== undefined) {
      const s = best.toString();
      return { digits: s.replace(/0+$/, "") || "0", exp: scale + s.length - 1 };
    }
  }
  throw new Error(`no float32 digits for ${f}`);
}

/**
 * Go `strconv.FormatFloat(x, 'g', -1, 32)`, with sigs.k8s.io/yaml's spellings of the
 * specials (`.inf`, `-.inf`, `.nan`): x rounded to float32, its shortest digits, exponent
 * form (`1e+06`, `1e-05`) when the exponent is < -4 or ≥ 6 (Go's %g with shortest precision).
 */
export function goFormatFloat32(x: number): string {
  const f = Math.fround(x);
  if (Number.isNaN(f)) return ".nan";
  if (!Number.isFinite(f)) return f > 0 ? ".inf" : "-.inf";
  if (f === 0) return Object.is(f, -0) ? "-0" : "0";
  const sign = f < 0 ? "-" : "";
  const { digits, exp } = shortestFloat32(Math.abs(f));
  if (exp < -4 || exp >= 6) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const frac = digits.slice(exp + 1);
  return `${sign}${int}${frac ? `.${frac}` : ""}`;
}

/**
 * The JSON key sigs.k8s.io/yaml makes of a resolved map key (`convertToJSONableObject`): a
 * string as is, an int in decimal (exact), a float by `goFormatFloat32` (so `.inf` keys are
 * fine, `1e6` is `1e+06`, `0.1` is `0.1`), a bool `true`/`false`.
 * @throws Error for a null key (`~`, `null`, empty) and an int above int64 (a Go uint64):
 *   sigs.k8s.io/yaml's "unsupported map key of type".
 */
export function jsonKey(s: GoScalar): string {
  switch (s.type) {
    case "str":
      return s.value;
    case "bool":
      return String(s.value);
    case "float":
      return goFormatFloat32(s.value);
    case "int":
      if (s.value > INT64_MAX) throw new Error(`unsupported map key of type: uint64, key: ${s.value}`);
      return s.value.toString();
    default:
      throw new Error("unsupported map key of type: <nil> (a null key)");
  }
}

/** Scalar tags known by name only, so an explicit `!!int` parses without a warning; resolution is ours. */
const RAW_TAGS: ScalarTag[] = [INT, FLOAT, BOOL, NULL, BINARY, TIMESTAMP, MERGE].map((tag) => ({ tag, default: false, resolve: (s: string) => s }));

/** Parser options: every scalar stays text (failsafe schema), duplicate keys are checked after resolution. */
const PARSE_OPTIONS = {
  version: "1.1",
  schema: "failsafe",
  customTags: (tags: Tags) => [...tags, ...RAW_TAGS],
  resolveKnownTags: false,
  uniqueKeys: false,
  prettyErrors: true,
} as const;

/**
 * Most YAML nodes (scalars, aliases, collections, pairs) one repository file may hold: 250,000.
 * Parsing takes 0.5-1 KB of memory per node whatever the text (measured here: a flow sequence
 * `[1,1,...]` of 1 MiB, 524,000 nodes, took 520 MB and 5 s to read; of 10 MiB it exhausted a
 * 4 GB heap), while manifests hold 40,000-90,000 nodes per MB (Argo CD's 1.9 MB install
 * manifest: 82,000); so the file size limit (10 MiB) bounds typical files and this one dense
 * ones, within the reconcile function's 512 MB.
 */
export const MAX_YAML_NODES = 250_000;

/** The lexer's token types that each become a node or a pair once parsed. */
const NODE_TOKENS = new Set(["scalar", "single-quoted-scalar", "double-quoted-scalar", "alias", "flow-map-start", "flow-seq-start", "seq-item-ind", "map-value-ind", "explicit-key-ind"]);

/** The lexer's control tokens, which are not part of the text (`CST.DOCUMENT`, `CST.FLOW_END`, `CST.SCALAR`). */
const CONTROL_TOKENS = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

/**
 * Where in `text` its YAML nodes first exceed `max`: the offset of the first node over, or
 * undefined when it holds at most `max`. Counted with the `yaml` package's lexer, which keeps no
 * tree: a fraction of a parse's time and memory, and it stops at the limit.
 */
export function nodeLimitOffset(text: string, max = MAX_YAML_NODES): number | undefined {
  let nodes = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    if (NODE_TOKENS.has(CST.tokenType(token) ?? "") && ++nodes > max) return offset;
    if (!CONTROL_TOKENS.has(token)) offset += token.length;
  }
  return undefined;
}

/**
 * Parses a YAML stream (multi-document) for `decodeDocument`.
 * @returns the documents, each with its own `errors` (syntax) and `warnings` to check; never throws on bad YAML.
 */
export function parseYamlStream(text: string, lineCounter?: LineCounter): Document.Parsed[] {
  const docs = parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter });
  return Array.isArray(docs) ? docs : [];
}

/** What the decoder knows about an anchored node: its value, and how often it was aliased. */
interface AnchorUse {
  value?: unknown;
  busy: boolean;
  count: number;
  aliasCount: number;
}

/** Decodes one parsed document; see the module doc. */
class Decoder {
  private readonly targets = new Map<Alias, Node>();
  private readonly anchors = new Map<Node, AnchorUse>();

  constructor(
    doc: Document.Parsed,
    private readonly maxAliasCount: number,
  ) {
    // go-yaml v2 binds an alias to the last anchor of its name parsed before it
    const last = new Map<string, Node>();
    visit(doc, {
      Node: (_key, node) => {
        if (isAlias(node)) {
          const target = last.get(node.source);
          if (target) this.targets.set(node, target);
        } else if (node.anchor) last.set(node.anchor, node);
      },
    });
  }

  /** The JSON value of `node` (null for an absent node, as go-yaml reads an empty node). */
  value(node: unknown): unknown {
    if (isAlias(node)) return this.alias(node);
    if (!isScalar(node) && !isMap(node) && !isSeq(node)) return null;
    const use: AnchorUse | undefined = node.anchor ? { busy: true, count: 0, aliasCount: 0 } : undefined;
    if (use) this.anchors.set(node, use);
    const value = isScalar(node) ? at(node, () => jsonValue(scalarOf(node))) : isMap(node) ? this.map(node) : node.items.map((item) => this.value(item));
    if (use) Object.assign(use, { value, busy: false });
    return value;
  }

  /** The value an alias stands for, counted against the alias limit (the `yaml` package's rule). */
  private alias(node: Alias): unknown {
    const target = this.targets.get(node);
    if (!target) throw new YamlValueError(`unknown anchor '${node.source}' referenced`, node.range?.[0] ?? 0);
    let use = this.anchors.get(target);
    if (use?.busy) throw new YamlValueError(`anchor '${node.source}' value contains itself`, node.range?.[0] ?? 0);
    if (!use) {
      this.value(target);
      use = this.anchors.get(target)!;
    }
    use.count += 1;
    if (use.aliasCount === 0) use.aliasCount = this.aliasCount(target);
    if (this.maxAliasCount >= 0 && use.count * use.aliasCount > this.maxAliasCount) {
      throw new YamlValueError("Excessive alias count indicates a resource exhaustion attack", node.range?.[0] ?? 0);
    }
    return use.value;
  }

  /** The `yaml` package's `getAliasCount`: how many expansions one use of `node` stands for. */
  private aliasCount(node: unknown): number {
    if (isAlias(node)) {
      const use = this.anchors.get(this.targets.get(node)!);
      return use ? use.count * use.aliasCount : 0;
    }
    if (isMap(node)) return Math.max(0, ...node.items.map((p) => Math.max(this.aliasCount(p.key), this.aliasCount(p.value))));
    if (isSeq(node)) return Math.max(0, ...node.items.map((i) => this.aliasCount(i)));
    return 1;
  }

  /** A map, keys as sigs.k8s.io/yaml makes them, `<<` merged where it stands (go-yaml v2). */
  private map(node: YAMLMap): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const written = new Set<string>();
    for (const pair of node.items) {
      if (isMergeKey(pair.key)) {
        this.merge(out, pair.value, offsetOf(pair.key, node));
        continue;
      }
      const key = this.key(pair.key, node);
      if (written.has(key)) throw new YamlValueError(`map keys must be unique: ${JSON.stringify(key)} appears twice`, offsetOf(pair.key, node));
      written.add(key);
      setKey(out, key, this.value(pair.value));
    }
    return out;
  }

  /** go-yaml v2 `merge()`: a map, an alias to one, or a sequence of those (earlier ones win). */
  private merge(out: Record<string, unknown>, value: unknown, offset: number): void {
    const sources = isSeq(value) ? [...value.items].reverse() : [value];
    for (const source of sources) {
      const target = isAlias(source) ? this.targets.get(source) : source;
      if (target !== undefined && !isMap(target)) throw new YamlValueError("map merge requires map or sequence of maps as the value", offset);
      const merged = this.value(source) as Record<string, unknown>;
      for (const k of Object.keys(merged)) setKey(out, k, merged[k]);
    }
  }

  /** The JSON key of a key node (a scalar or an alias to one). */
  private key(node: unknown, map: Node): string {
    const offset = offsetOf(node, map);
    if (node === null || node === undefined) return at(offset, () => jsonKey({ type: "null" }));
    const scalar = isAlias(node) ? (this.value(node), this.targets.get(node)) : node;
    if (!isScalar(scalar)) throw new YamlValueError("invalid map key: a map or a sequence", offset);
    return at(offset, () => jsonKey(scalarOf(scalar)));
  }
}

/** go-yaml v2 `isMerge`: the scalar `<<`, plain and untagged (or tagged `!` or `!!merge`). */
function isMergeKey(node: unknown): boolean {
  return isScalar(node) && node.source === "<<" && ((node.type === "PLAIN" && !node.tag) || node.tag === "!" || node.tag === MERGE);
}

/** A scalar node resolved: plain and untagged by the plain rules, tagged by its tag, else a string. */
function scalarOf(node: Scalar): GoScalar {
  const text = node.source ?? String(node.value ?? "");
  if (node.tag) return resolveTaggedScalar(node.tag, text);
  return node.type === "PLAIN" ? resolvePlainScalar(text) : { type: "str", value: text };
}

/** Runs `f`, turning its Error into a YamlValueError at the node (or offset). */
function at<T>(where: Node | number, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof YamlValueError) throw err;
    throw new YamlValueError((err as Error).message, typeof where === "number" ? where : (where.range?.[0] ?? 0));
  }
}

/** Where `node` starts in the text, or where `fallback` does. */
function offsetOf(node: unknown, fallback: Node): number {
  return (node as Node | null)?.range?.[0] ?? fallback.range?.[0] ?? 0;
}

/** Sets `key` on a plain object, `__proto__` included (as an own property). */
function setKey(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/**
 * Decodes a parsed document (from `parseYamlStream`, without errors) to the JSON value kubectl
 * would send: objects, arrays, strings, numbers, booleans, null; undefined for an empty document.
 * @param opts.maxAliasCount alias limit (default `MAX_ALIAS_COUNT`; -1: none).
 * @throws YamlValueError with the offset of the offending node: .inf/.nan values, a null or
 *   uint64 key, a map or sequence as a key, duplicate keys, a bad `<<` value, a tag that does
 *   not fit its text, an unknown or self-containing anchor, an alias bomb.
 */
export function decodeDocument(doc: Document.Parsed, opts: { maxAliasCount?: number } = {}): unknown {
  if (doc.contents === null) return undefined;
  return new Decoder(doc, opts.maxAliasCount ?? MAX_ALIAS_COUNT).value(doc.contents);
}
