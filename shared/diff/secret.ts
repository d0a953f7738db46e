/**
 * Secret values never leave the process in clear: `data` and `stringData` values become
 * `sha256:<hex>` of the decoded bytes, so two sides can still be compared (equal digests =
 * equal values) and a diff shows *that* a value changed, never the value.
 * `stringData` is merged into `data` as the API server does on write
 * (https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/secret-v1/).
 */
import { createHash } from "node:crypto";
import type { KubeObject } from "../model.js";

/** The redacted form of one value: `sha256:<hex>` of its bytes. */
export function digestValue(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * A copy of `o` with every Secret value replaced by its digest; other kinds are returned as
 * they are. Also drops kubectl's last-applied annotation from Secrets (it holds the values).
 * Idempotent: an already-redacted value (`sha256:...`) is kept.
 */
export function redactSecret(o: KubeObject): KubeObject {
  if (o.kind !== "Secret" || (o.apiVersion !== "v1" && o.apiVersion !== "/v1")) return o;
  const data: Record<string, string> = {};
  const isDigest = (v: unknown) => typeof v === "string" && /^sha256:[0-9a-f]{64}$/.test(v);
  for (const [k, v] of Object.entries((o.data as Record<string, unknown> | undefined) ?? {})) {
    data[k] = isDigest(v) ? (v as string) : digestValue(Buffer.from(String(v ?? ""), "base64"));
  }
  for (const [k, v] of Object.entries((o.stringData as Record<string, unknown> | undefined) ?? {})) {
    data[k] = isDigest(v) ? (v as string) : digestValue(Buffer.from(String(v ?? ""), "utf8"));
  }
  const { stringData: _s, data: _d, ...rest } = o;
  const annotations = { ...(o.metadata.annotations ?? {}) };
  delete annotations[LAST_APPLIED];
  const metadata = { ...o.metadata, ...(o.metadata.annotations ? { annotations } : {}) };
  return { ...rest, metadata, ...(o.data !== undefined || o.stringData !== undefined ? { data } : {}) } as KubeObject;
}
