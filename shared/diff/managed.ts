/**
 * Three-way detection from `metadata.managedFields`: a field this source applied before
 * (owned by Converge's field manager through server-side apply) that Git no longer sets but
 * that is still live is drift — the server would remove it on the next apply
 * (https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management).
 * FieldsV1 keys: `f:<field>`, `k:<json merge key>` (list item by key), `v:<json>` (set item),
 * `i:<index>`; `.` marks the node itself.
 */
import type { FieldChange, KubeObject } from "../model.js";
import { appendKey, listKey } from "./compare.js";

type Json = unknown;
const isMap = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);


/** Leaf paths (in the comparison's path syntax) of a FieldsV1 set. */
export function fieldsV1Paths(fields: Json, path = ""): string[] {
  if (!isMap(fields)) return [];
  const out: string[] = [];
  const keys = Object.keys(fields).filter((k) => k !== ".");
  if (keys.length === 0 && path) return [path];
  for (const k of keys) {
    let p: string;
    if (k.startsWith("f:")) p = appendKey(path, k.slice(2));
    else if (k.startsWith("k:")) {
      const key = JSON.parse(k.slice(2)) as Record<string, Json>;
      p = `${path}[${Object.entries(key).map(([a, b]) => `${a}=${String(b)}`).join(",")}]`;
    } else if (k.startsWith("i:")) p = `${path}[${k.slice(2)}]`;
    else if (k.startsWith("v:")) p = `${path}[value=${k.slice(2)}]`;
    else continue;
    out.push(...fieldsV1Paths(fields[k], p));
  }
  return out;
}

/** Every path (leaves and the maps and items above them) that `o` sets, in the comparison's syntax. */
export function objectPaths(o: Json, path = "", out = new Set<string>()): Set<string> {
  if (path) out.add(path);
  if (isMap(o)) for (const [k, v] of Object.entries(o)) objectPaths(v, appendKey(path, k), out);
  else if (Array.isArray(o)) {
    const key = listKey(o);
    o.forEach((item, i) => objectPaths(item, `${path}[${key ? key(item) : i}]`, out));
    for (const item of o) if (!isMap(item)) out.add(`${path}[value=${JSON.stringify(item)}]`);
  }
  return out;
}

/**
 * Fields owned by `manager` through Apply on `live` that `desired` does not set, as changes
 * with the live side only (the shortest such path per removed subtree). Status and metadata
 * bookkeeping are not considered.
 */
export function removedOwnedFields(desired: KubeObject, live: KubeObject, manager: string): FieldChange[] {
  const entries = ((live.metadata.managedFields as { manager?: string; operation?: string; subresource?: string; fieldsV1?: Json }[] | undefined) ?? []).filter(
    (m) => m.manager === manager && m.operation === "Apply" && !m.subresource,
  );
  if (entries.length === 0) return [];
  const want = objectPaths(desired);
  const livePaths = objectPaths(live);
  const reported = new Set<string>();
  const out: FieldChange[] = [];
  for (const leaf of entries.flatMap((e) => fieldsV1Paths(e.fieldsV1))) {
    if (leaf.startsWith("status") || leaf.startsWith("metadata.annotations") && leaf.includes("converge.dev")) continue;
    if (want.has(leaf)) continue;
    // the shortest prefix of `leaf` that Git no longer has
    const parts = leaf.match(/(\[[^\]]*\]|[^.[\]]+)/g) ?? [];
    let prefix = "";
    for (const part of parts) {
      prefix = part.startsWith("[") ? prefix + part : prefix ? `${prefix}.${part}` : part;
      if (!want.has(prefix)) break;
    }
    if (reported.has(prefix) || !livePaths.has(prefix)) continue;
    reported.add(prefix);
    out.push({ path: prefix });
  }
  return out;
}
