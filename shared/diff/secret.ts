/**
 * Secret values never leave the process in clear (design brief: "no Secret value is ever
 * stored or logged (store a hash)"). Every value of a Secret's `data` and `stringData` becomes
 * `sha256:<hex>` of its decoded bytes, so the two sides still compare (equal digests = equal
 * values) and a diff shows *that* a value changed, never the value.
 *
 * `stringData` is merged into `data` the way the API server does on write: "stringData ...
 * is provided as a write-only input field for convenience. All keys and values are merged
 * into the data field on write, overwriting any existing values"
 * (https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/secret-v1/).
 * A desired `stringData.password: hunter2` and a live `data.password: aHVudGVyMg==` therefore
 * both become `data.password: sha256:f52f…` and compare equal.
 *
 * Text about a Secret (an error message quoting what it could not read) is cleared of its
 * values with `redactMaterial` over `secretValues`: a piece of `WHOLE_WORD_BELOW` characters or
 * more is replaced by `REDACTED` wherever it occurs, a shorter one only as a whole word (not
 * touching a letter, digit or `_`), so a value like `abc` cannot blank out parts of other words.
 */
import { createHash } from "node:crypto";
import type { KubeObject } from "../model.js";

/** The form of a redacted value: `sha256:` and 64 lowercase hex digits. */
export const SECRET_DIGEST = /^sha256:[0-9a-f]{64}$/;

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** `sha256:<hex>` of the bytes (a string is taken as UTF-8). */
export function digestValue(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** True for a core `v1` Secret, the only kind whose values `redactSecret` replaces. */
export function isSecret(o: { apiVersion: string; kind: string }): boolean {
  return o.kind === "Secret" && o.apiVersion === "v1";
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A copy of a Secret with every value replaced by its digest; any other object is returned
 * as it is. Shape of the result: `data` holds `sha256:<hex>` of the base64-decoded `data`
 * values and of the UTF-8 `stringData` values (stringData wins on a shared key), `stringData`
 * is removed, and so is kubectl's `last-applied-configuration` annotation (it holds the values
 * in clear). A `null` value is the empty value (Go decodes it into an empty `[]byte` /
 * `string`, so the API server stores the key with an empty value): `""` and `null` get the
 * same digest. A `null` `data` stays `null`. A malformed `data` or
 * `stringData` that is not a map makes `data` one digest of both. Idempotent: a value already
 * in digest form is kept, so stored snapshots can be redacted again. Never throws; the input
 * is not modified.
 */
export function redactSecret(o: KubeObject): KubeObject {
  if (!isSecret(o)) return o;
  const { stringData, data, ...rest } = o;
  const out: KubeObject = { ...rest, metadata: { ...o.metadata } };
  if (o.metadata.annotations && LAST_APPLIED in o.metadata.annotations) {
    const { [LAST_APPLIED]: _lastApplied, ...annotations } = o.metadata.annotations;
    out.metadata.annotations = annotations;
  }
  if (data === undefined && stringData === undefined) return out;
  const malformed = (v: unknown) => v !== undefined && v !== null && !isMap(v);
  if (malformed(data) || malformed(stringData)) {
    out.data = digestValue(JSON.stringify({ data, stringData }));
    return out;
  }
  if (!isMap(data) && !isMap(stringData)) {
    if (data === null) out.data = null;
    return out;
  }
  const redacted: Record<string, unknown> = {};
  const put = (k: string, v: unknown, encoding: "base64" | "utf8") => {
    if (v === null || v === undefined) redacted[k] = digestValue("");
    else if (typeof v === "string" && SECRET_DIGEST.test(v)) redacted[k] = v;
    else redacted[k] = digestValue(Buffer.from(typeof v === "string" ? v : JSON.stringify(v), encoding));
  };
  if (isMap(data)) for (const [k, v] of Object.entries(data)) put(k, v, "base64");
  if (isMap(stringData)) for (const [k, v] of Object.entries(stringData)) put(k, v, "utf8");
  out.data = redacted;
  return out;
}

/** What replaces a secret value in text. */
export const REDACTED = "[redacted]";

/** A piece of secret material shorter than this (characters) is replaced only as a whole word. */
export const WHOLE_WORD_BELOW = 6;

/** Pieces of secret text to keep out of messages, deduplicated. */
export class SecretMaterial {
  private readonly pieces = new Set<string>();

  /**
   * Adds `text` and each of its lines, trimmed, each also in its JSON-escaped form (as Go's
   * `%q` and `%#v` quote a string); blank text adds nothing.
   */
  add(text: string | undefined): void {
    if (text === undefined) return;
    for (const piece of [text, ...text.split(/\r?\n/)]) {
      const t = piece.trim();
      if (!t) continue;
      this.pieces.add(t);
      this.pieces.add(JSON.stringify(t).slice(1, -1));
    }
  }

  /** The pieces, longest first (the order `redactMaterial` needs). */
  list(): string[] {
    return [...this.pieces].sort((a, b) => b.length - a.length);
  }
}

/** The text a `data` value encodes (base64 as the API server reads it, whitespace ignored), or undefined when it is no base64. */
export function decodedValue(v: string): string | undefined {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(v.replace(/\s/g, "")) ? Buffer.from(v, "base64").toString("utf8") : undefined;
}

/** Adds every string and number under `v` (booleans and nulls are no secret). */
function addLeaves(v: unknown, out: SecretMaterial): void {
  if (typeof v === "string") out.add(v);
  else if (typeof v === "number" || typeof v === "bigint") out.add(String(v));
  else if (Array.isArray(v)) for (const x of v) addLeaves(x, out);
  else if (isMap(v)) for (const x of Object.values(v)) addLeaves(x, out);
}

/**
 * The values of a Secret (`[]` for any other object) as material for `redactMaterial`: every
 * string and number under `data` and `stringData`, whatever their shape, and the `data`
 * strings base64-decoded. Longest first.
 */
export function secretValues(o: KubeObject): string[] {
  if (!isSecret(o)) return [];
  const out = new SecretMaterial();
  addLeaves(o.stringData, out);
  addLeaves(o.data, out);
  if (isMap(o.data)) {
    for (const v of Object.values(o.data)) if (typeof v === "string") out.add(decodedValue(v));
  }
  return out.list();
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `text` with every piece of `material` (longest first) replaced by `REDACTED` (short pieces only as whole words: see the module doc). */
export function redactMaterial(text: string, material: readonly string[]): string {
  let out = text;
  for (const piece of material) {
    if (!out.includes(piece)) continue;
    out = piece.length >= WHOLE_WORD_BELOW ? out.split(piece).join(REDACTED) : out.replace(new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegExp(piece)}(?![\\p{L}\\p{N}_])`, "gu"), REDACTED);
  }
  return out;
}
