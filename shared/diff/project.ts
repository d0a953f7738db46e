/**
 * Projection of a live object onto the fields a desired object sets (list items matched by
 * the same merge keys as the comparison), so a diff shows what Git specifies and not the
 * dozens of server defaults around it.
 */
import { listKey } from "./compare.js";

type Json = unknown;
const isMap = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The part of `live` covering the fields `desired` sets; fields absent live stay absent.
 * Lists matched by merge key keep desired's order; unmatched live items are dropped.
 */
export function projectOnto(live: Json, desired: Json): Json {
  if (isMap(desired)) {
    if (!isMap(live)) return live;
    const out: Record<string, Json> = {};
    for (const k of Object.keys(desired)) if (k in live) out[k] = projectOnto(live[k], desired[k]);
    return out;
  }
  if (Array.isArray(desired) && Array.isArray(live)) {
    const key = listKey(desired);
    if (key && (live.length === 0 || listKey(live))) {
      const byKey = new Map(live.map((i) => [key(i), i]));
      return desired.flatMap((d) => (byKey.has(key(d)) ? [projectOnto(byKey.get(key(d)), d)] : []));
    }
    return live.map((l, i) => (i < desired.length ? projectOnto(l, desired[i]) : l));
  }
  return live;
}
