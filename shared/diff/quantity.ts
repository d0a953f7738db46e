/**
 * Kubernetes resource quantities (`500m`, `0.5`, `1Gi`, `1073741824`, `1e3`) compared by value.
 *
 * Grammar (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/):
 *
 *     <quantity> ::= <signedNumber><suffix>
 *     <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *     <suffix>   ::= <binarySI> | <decimalExponent> | <decimalSI>
 *     <binarySI> ::= Ki | Mi | Gi | Ti | Pi | Ei
 *     <decimalSI>::= m | "" | k | M | G | T | P | E
 *     <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
 *
 * The API server stores a quantity in canonical form with at most three decimal places,
 * rounding any finer value up (away from zero): `0.1m` becomes `1m`. Observed on a v1.34.4
 * API server: `cpu: "0.30000000000000004"` is stored as `301m`, `ephemeral-storage: 100n` as
 * `1m`, `0.5` as `500m`, `1.5Gi` as `1536Mi`, `1e9` as `1G`. So two quantities are equal
 * when their values rounded up to milli-units are equal; the arithmetic is exact (bigint).
 *
 * Also accepted, as apimachinery's `resource.ParseQuantity` does: the `n` and `u` suffixes
 * (nano, micro) and integer exponents only (`1e3`, not `1e1.5`).
 */

const DECIMAL_SI: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SI: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

/** Longest string considered a quantity, and largest decimal exponent: bounds the bigint work on hostile input. */
const MAX_LENGTH = 100;
const MAX_EXPONENT = 100;

/**
 * The value of a quantity in milli-units (thousandths), rounded away from zero to a whole
 * milli-unit as the API server does: `parseQuantity("0.5") === 500n`,
 * `parseQuantity("1Gi") === 1073741824000n`, `parseQuantity(0.5) === 500n`,
 * `parseQuantity("100n") === 1n`.
 * @param v a quantity string, or a JSON number (YAML `cpu: 0.5` is a number until the API server stores `"500m"`)
 * @returns undefined when `v` is not a quantity (other types, other strings, non-finite
 *   numbers, strings over 100 characters or exponents beyond ±100). Never throws.
 */
export function parseQuantity(v: unknown): bigint | undefined {
  let s: string;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return undefined;
    s = String(v); // shortest round-trip form, e.g. 0.5, 1e+21, 5e-7
  } else if (typeof v === "string") {
    s = v.trim();
  } else {
    return undefined;
  }
  if (s.length === 0 || s.length > MAX_LENGTH) return undefined;
  const m = QUANTITY.exec(s);
  if (!m) return undefined;
  const [, sign, number = "", exponent, suffix] = m;
  const dot = number.indexOf(".");
  const digits = dot < 0 ? number : number.slice(0, dot) + number.slice(dot + 1);
  // value = digits × 10^pow10 × 2^pow2, in units; milli-units add 3 to pow10
  let pow10 = (dot < 0 ? 0 : -(number.length - dot - 1)) + 3;
  let pow2 = 0;
  if (exponent !== undefined) {
    const e = Number(exponent);
    if (Math.abs(e) > MAX_EXPONENT) return undefined;
    pow10 += e;
  } else if (suffix !== undefined && suffix in BINARY_SI) {
    pow2 = BINARY_SI[suffix]!;
  } else {
    pow10 += DECIMAL_SI[suffix ?? ""]!;
  }
  let num = BigInt(digits || "0") * 2n ** BigInt(pow2);
  let den = 1n;
  if (pow10 >= 0) num *= 10n ** BigInt(pow10);
  else den = 10n ** BigInt(-pow10);
  let milli = num / den;
  if (milli * den !== num) milli += 1n; // round up, as the API server does
  return sign === "-" ? -milli : milli;
}

/**
 * True when both `a` and `b` are quantities (see `parseQuantity`) of the same value once
 * rounded to milli-units: `"0.5"` = `"500m"` = `0.5`, `"1Gi"` = `"1073741824"` = `"1024Mi"`,
 * `"1e9"` = `"1G"`. False when either is not a quantity. Never throws.
 */
export function quantitiesEqual(a: unknown, b: unknown): boolean {
  const x = parseQuantity(a);
  if (x === undefined) return false;
  const y = parseQuantity(b);
  return y !== undefined && x === y;
}
