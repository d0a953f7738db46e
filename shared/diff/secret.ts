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
