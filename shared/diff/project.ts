/**
 * Projection of a live object onto the fields a desired object sets (list items matched with
 * the same list semantics as the comparison), so a diff shows what Git specifies and not the
 * dozens of server defaults around it, and a dry-run result becomes "what applying Git would
 * store" for exactly the fields Git owns.
 */
import { builtinSchemas, listMatch, type FieldType, type Schemas } from "../schema/index.js";
import { itemKey } from "./compare.js";

type Json = unknown;
const isMap = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

function projectList(live: Json[], desired: Json[], type: FieldType | undefined, schemas: Schemas): Json[] {
  const match = listMatch(type);
  const itemType = schemas.itemsOf(type);
  if (match.type === "map") {
    const byKey = new Map(live.map((i) => [itemKey(i, match), i]));
    return desired.flatMap((d) => {
      const k = itemKey(d, match);
      return byKey.has(k) ? [projectOnto(byKey.get(k), d, itemType, schemas)] : [];
    });
  }
  if (match.type === "set") {
    const members = new Set(live.map((l) => JSON.stringify(l)));
    return desired.filter((d) => members.has(JSON.stringify(d)));
  }
  // atomic: applying Git replaces the whole list, defaults of its items included
  return live;
}

/**
 * The part of `live` covering the fields `desired` sets; fields absent live stay absent.
 * Map lists keep desired's order and drop unmatched live items; sets keep the desired members
 * present live; atomic lists are kept whole. `type` is the schema type of this value (use
 * `projectObject` for a whole object).
 */
export function projectOnto(live: Json, desired: Json, type: FieldType | undefined, schemas: Schemas): Json {
  if (isMap(desired)) {
    if (!isMap(live)) return live;
    const out: Record<string, Json> = {};
    for (const k of Object.keys(desired)) if (k in live) out[k] = projectOnto(live[k], desired[k], schemas.child(type, k), schemas);
    return out;
  }
  if (Array.isArray(desired) && Array.isArray(live)) return projectList(live, desired, type, schemas);
  return live;
}

/** `projectOnto` of a whole object, typed by `desired`'s kind (default: the built-in schema). */
export function projectObject(live: Json, desired: { apiVersion: string; kind: string }, schemas: Schemas = builtinSchemas()): Json {
  return projectOnto(live, desired, schemas.kindType(desired.apiVersion, desired.kind), schemas);
}
