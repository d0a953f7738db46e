/**
 * From OpenAPI v3 schemas to the compact `SchemaSet` the comparison walks.
 *
 * Rules, as server-side apply derives them (kube-openapi `pkg/schemaconv`, and
 * https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy):
 * - `x-kubernetes-list-type: map` with `x-kubernetes-list-map-keys` → a map list on those keys;
 *   `set` → a set; `atomic` → atomic;
 * - without a list type, `x-kubernetes-patch-strategy: merge` → a map list on
 *   `x-kubernetes-patch-merge-key`, or a set when there is no merge key;
 * - anything else is atomic;
 * - a key field's `default` (a container port's `protocol: TCP`) fills an item that omits it.
 * References are `$ref: #/components/schemas/<name>`, alone or as the single member of `allOf`
 * (how the API server publishes a field with a description or default next to a reference).
 */
import type { FieldType, SchemaSet, TypeRef } from "./types.js";

/** An OpenAPI v3 schema object, as far as this module reads it. */
interface RawSchema {
  $ref?: string;
  allOf?: RawSchema[];
  type?: string;
  properties?: Record<string, RawSchema>;
  additionalProperties?: RawSchema | boolean;
  items?: RawSchema;
  default?: unknown;
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-patch-strategy"?: string;
  "x-kubernetes-patch-merge-key"?: string;
  "x-kubernetes-group-version-kind"?: { group: string; version: string; kind: string }[];
}

/** An OpenAPI v3 document as `/openapi/v3/apis/<group>/<version>` serves it. */
export interface OpenApiDocument {
  components?: { schemas?: Record<string, RawSchema> };
}

const REF_PREFIX = "#/components/schemas/";

function refOf(s: RawSchema): string | undefined {
  const ref = s.$ref ?? (s.allOf?.length === 1 ? s.allOf[0]!.$ref : undefined);
  return ref?.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : undefined;
}

function isEmpty(t: FieldType): boolean {
  return !t.fields && !t.values && !t.items && !t.listType;
}

/** The list semantics of an array schema, with the key defaults read from its item schema. */
function listSemantics(s: RawSchema, itemProps: (s: RawSchema) => Record<string, RawSchema> | undefined): Pick<FieldType, "listType" | "keys" | "keyDefaults"> {
  const declared = s["x-kubernetes-list-type"];
  const merge = (s["x-kubernetes-patch-strategy"] ?? "").split(",").includes("merge");
  let keys: string[] | undefined;
  if (declared === "map") keys = s["x-kubernetes-list-map-keys"];
  else if (declared === undefined && merge && s["x-kubernetes-patch-merge-key"]) keys = [s["x-kubernetes-patch-merge-key"]];
  if (keys?.length) {
    const props = s.items ? itemProps(s.items) : undefined;
    const defaults: Record<string, unknown> = {};
    for (const k of keys) if (props?.[k]?.default !== undefined) defaults[k] = props[k]!.default;
    return { listType: "map", keys: [...keys].sort(), ...(Object.keys(defaults).length ? { keyDefaults: defaults } : {}) };
  }
  if (declared === "set" || (declared === undefined && merge)) return { listType: "set" };
  return {};
}

/** Converts one schema; `itemProps` finds the properties of an item schema (through references). */
function convert(s: RawSchema, itemProps: (s: RawSchema) => Record<string, RawSchema> | undefined): TypeRef | undefined {
  const ref = refOf(s);
  if (ref) return ref;
  const t: FieldType = {};
  if (s.properties) {
    const fields: Record<string, TypeRef> = {};
    for (const [k, v] of Object.entries(s.properties)) {
      const c = convert(v, itemProps);
      if (c !== undefined) fields[k] = c;
    }
    if (Object.keys(fields).length) t.fields = fields;
  }
  if (typeof s.additionalProperties === "object") {
    const v = convert(s.additionalProperties, itemProps);
    if (v !== undefined) t.values = v;
  }
  if (s.items) {
    const i = convert(s.items, itemProps);
    if (i !== undefined) t.items = i;
  }
  if (s.type === "array" || s.items) Object.assign(t, listSemantics(s, itemProps));
  return isEmpty(t) ? undefined : t;
}

/** `t` without references to names outside `useful`; undefined when nothing is left. */
function prune(ref: TypeRef, useful: ReadonlySet<string>): TypeRef | undefined {
  if (typeof ref === "string") return useful.has(ref) ? ref : undefined;
  const out: FieldType = { ...ref };
  if (ref.fields) {
    const fields: Record<string, TypeRef> = {};
    for (const [k, v] of Object.entries(ref.fields)) {
      const p = prune(v, useful);
      if (p !== undefined) fields[k] = p;
    }
    if (Object.keys(fields).length) out.fields = fields;
    else delete out.fields;
  }
  for (const m of ["values", "items"] as const) {
    const p = ref[m] === undefined ? undefined : prune(ref[m], useful);
    if (p === undefined) delete out[m];
    else out[m] = p;
  }
  return isEmpty(out) ? undefined : out;
}

/** Drops every type that leads to no list semantics, until nothing changes (types may be recursive). */
function pruneAll(types: Record<string, TypeRef>): Record<string, FieldType> {
  let current = types;
  for (;;) {
    const useful = new Set(Object.keys(current));
    const next: Record<string, TypeRef> = {};
    for (const [name, t] of Object.entries(current)) {
      const p = prune(t, useful);
      if (p !== undefined) next[name] = p;
    }
    const stable = Object.keys(next).length === Object.keys(current).length && JSON.stringify(next) === JSON.stringify(current);
    current = next;
    if (stable) break;
  }
  // a named type that is only a reference to another name is an alias: resolve it
  const out: Record<string, FieldType> = {};
  for (const [name, t] of Object.entries(current)) {
    let r: TypeRef | undefined = t;
    for (let hops = 0; typeof r === "string" && hops < 10; hops++) r = current[r];
    if (r !== undefined && typeof r !== "string") out[name] = r;
  }
  return out;
}

/** A resolver of item properties over the components of `doc` (following references). */
function propsResolver(schemas: Record<string, RawSchema>): (s: RawSchema) => Record<string, RawSchema> | undefined {
  return (s) => {
    let cur: RawSchema | undefined = s;
    for (let hops = 0; cur && hops < 10; hops++) {
      const ref = refOf(cur);
      if (!ref) return cur.properties;
      cur = schemas[ref];
    }
    return undefined;
  };
}

/**
 * The compact schema of an OpenAPI v3 document of one group-version (`/openapi/v3/api/v1`,
 * `/openapi/v3/apis/apps/v1`, a CRD's group-version): every component schema that leads to a
 * list, and every kind named by `x-kubernetes-group-version-kind`. Never throws on odd input:
 * what it does not understand is left out (atomic).
 */
export function fromOpenApiV3(doc: OpenApiDocument): SchemaSet {
  const schemas = doc.components?.schemas ?? {};
  const itemProps = propsResolver(schemas);
  const converted: Record<string, TypeRef> = {};
  const kinds: Record<string, TypeRef> = {};
  for (const [name, s] of Object.entries(schemas)) {
    const c = convert(s, itemProps);
    if (c !== undefined) converted[name] = c;
    for (const gvk of s["x-kubernetes-group-version-kind"] ?? []) kinds[`${gvk.group}/${gvk.version}/${gvk.kind}`] = name;
  }
  const types = pruneAll(converted);
  for (const [k, name] of Object.entries(kinds)) if (typeof name === "string" && !types[name]) delete kinds[k];
  return { types, kinds };
}

/** Name of ObjectMeta's type in the built-in schema: every custom resource's `metadata`. */
export const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/**
 * The compact schema of the custom resources a CustomResourceDefinition object declares
 * (`spec.versions[].schema.openAPIV3Schema`; `metadata` is ObjectMeta, resolved from the
 * built-in set merged next to it). For offline comparison: a cluster publishes the same in
 * its OpenAPI v3 document. Not a CRD, or no schema: an empty set.
 */
export function fromCrd(crd: { apiVersion: string; kind: string; spec?: unknown }): SchemaSet {
  const out: SchemaSet = { types: {}, kinds: {} };
  if (crd.kind !== "CustomResourceDefinition" || !crd.apiVersion.startsWith("apiextensions.k8s.io/")) return out;
  const spec = crd.spec as { group?: string; names?: { kind?: string }; versions?: { name: string; schema?: { openAPIV3Schema?: RawSchema } }[] } | undefined;
  if (!spec?.group || !spec.names?.kind) return out;
  const itemProps = (s: RawSchema) => s.properties;
  for (const v of spec.versions ?? []) {
    const raw = v.schema?.openAPIV3Schema;
    if (!raw) continue;
    const t = (convert(raw, itemProps) ?? {}) as FieldType;
    const pruned = (prune(t, new Set()) ?? {}) as FieldType;
    out.kinds[`${spec.group}/${v.name}/${spec.names.kind}`] = { ...pruned, fields: { ...pruned.fields, metadata: OBJECT_META } };
  }
  return out;
}
