/**
 * Three-way detection from `metadata.managedFields`: a field this source applied before
 * (owned by Converge's field manager through server-side apply) that Git no longer sets but
 * that is still live is drift — the server would remove it on the next apply
 * (https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management).
 * FieldsV1 keys: `f:<field>`, `k:<json merge key>` (list item by key), `v:<json>` (set item),
 * `i:<index>`; `.` marks the node itself.
 */
import type { FieldChange, KubeObject } from "../model.js";
import { builtinSchemas, listMatch, type FieldType, type Schemas } from "../schema/index.js";
import { appendKey, itemKey, keySegment, memberSegment } from "./compare.js";

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
      p = `${path}[${keySegment(Object.entries(JSON.parse(k.slice(2)) as Record<string, Json>))}]`;
    } else if (k.startsWith("i:")) p = `${path}[${k.slice(2)}]`;
    else if (k.startsWith("v:")) p = `${path}[${memberSegment(JSON.parse(k.slice(2)))}]`;
    else continue;
    out.push(...fieldsV1Paths(fields[k], p));
  }
  return out;
}

/**
 * Every path (leaves and the maps and items above them) that `o` sets, in the comparison's
 * syntax: map-list items by key, set members by value, atomic items by index. `type` is the
 * schema type of `o` (the kind's type for a whole object).
 */
export function objectPaths(o: Json, type: FieldType | undefined, schemas: Schemas, path = "", out = new Set<string>()): Set<string> {
  if (path) out.add(path);
  if (isMap(o)) for (const [k, v] of Object.entries(o)) objectPaths(v, schemas.child(type, k), schemas, appendKey(path, k), out);
  else if (Array.isArray(o)) {
    const match = listMatch(type);
    const itemType = schemas.itemsOf(type);
    o.forEach((item, i) => {
      const seg = match.type === "map" ? itemKey(item, match) : match.type === "set" ? memberSegment(item) : String(i);
      objectPaths(item, itemType, schemas, `${path}[${seg}]`, out);
    });
  }
  return out;
}

/**
 * Fields owned by `manager` through Apply on `live` that `desired` does not set, as changes
 * with the live side only (the shortest such path per removed subtree). Status and metadata
 * bookkeeping are not considered.
 */
export function removedOwnedFields(desired: KubeObject, live: KubeObject, manager: string, schemas: Schemas = builtinSchemas()): FieldChange[] {
  const entries = ((live.metadata.managedFields as { manager?: string; operation?: string; subresource?: string; fieldsV1?: Json }[] | undefined) ?? []).filter(
    (m) => m.manager === manager && m.operation === "Apply" && !m.subresource,
  );
  if (entries.length === 0) return [];
  const type = schemas.kindType(desired.apiVersion, desired.kind);
  const want = objectPaths(desired, type, schemas);
  const livePaths = objectPaths(live, type, schemas);
  const reported = new Set<string>();
  const out: FieldChange[] = [];
  for (const leaf of entries.flatMap((e) => fieldsV1Paths(e.fieldsV1))) {
    if (leaf.startsWith("status") || (leaf.startsWith("metadata.annotations") && leaf.includes("converge.dev"))) continue;
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
