/**
 * List semantics of Kubernetes objects, as server-side apply reads them from the OpenAPI
 * schema the API server publishes (https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy):
 * a list is `atomic` (replaced whole), a `set` (of scalars, order irrelevant) or a `map`
 * (items identified by the values of `x-kubernetes-list-map-keys`). A list the schema does not
 * type is atomic, as server-side apply treats it.
 *
 * The comparison only needs the part of a schema that leads to lists, so a schema is kept in
 * a compact form: named types (the OpenAPI component names, e.g.
 * `io.k8s.api.apps.v1.Deployment`) holding their object fields, map values and list items,
 * and for lists their type and keys. Scalar fields are left out: a field the compact schema
 * does not know is a scalar or an untyped value, whose lists are atomic.
 */

/** Reference to a named type of a `SchemaSet`, or an inline type (custom resource schemas are inline). */
export type TypeRef = string | FieldType;

/** The compact schema of one field's value. Every member is optional: absent means "nothing to know". */
export interface FieldType {
  /** Object fields by name. */
  fields?: Record<string, TypeRef>;
  /** Type of every value of a map (`additionalProperties`). */
  values?: TypeRef;
  /** Type of the items of a list. */
  items?: TypeRef;
  /** List semantics (`x-kubernetes-list-type`); absent on a list means `atomic`. */
  listType?: "set" | "map";
  /** Key fields of a `map` list, sorted by name (the order of server-side apply's FieldsV1 `k:{...}` keys). */
  keys?: string[];
  /** Defaults of key fields that the schema declares (a container port's `protocol: TCP`), applied when an item omits them. */
  keyDefaults?: Record<string, unknown>;
}

/** A compact schema: named types and the type of each kind, keyed `<group>/<version>/<kind>` (core group empty: `/v1/Pod`). */
export interface SchemaSet {
  types: Record<string, FieldType>;
  kinds: Record<string, TypeRef>;
}

/** The key of a kind in `SchemaSet.kinds`: `apps/v1/Deployment`, `/v1/Pod`. */
export function kindKey(apiVersion: string, kind: string): string {
  return `${apiVersion.includes("/") ? apiVersion : `/${apiVersion}`}/${kind}`;
}

/**
 * The schemas of a set of kinds, merged from several `SchemaSet`s (later sets win on a name
 * they share): the built-in kinds of a Kubernetes version, a cluster's group-versions, the
 * CRDs of a desired state.
 */
export class Schemas {
  private readonly types = new Map<string, FieldType>();
  private readonly kinds = new Map<string, TypeRef>();

  constructor(sets: readonly SchemaSet[] = []) {
    for (const s of sets) this.add(s);
  }

  /** Adds the types and kinds of `set`; returns this. */
  add(set: SchemaSet): this {
    for (const [name, t] of Object.entries(set.types)) this.types.set(name, t);
    for (const [k, t] of Object.entries(set.kinds)) this.kinds.set(k, t);
    return this;
  }

  /** True when `apiVersion`/`kind` has a schema here. */
  has(apiVersion: string, kind: string): boolean {
    return this.kinds.has(kindKey(apiVersion, kind));
  }

  /** The type of a whole object of `kind` in `apiVersion`, or undefined when unknown (every list atomic). */
  kindType(apiVersion: string, kind: string): FieldType | undefined {
    return this.resolve(this.kinds.get(kindKey(apiVersion, kind)));
  }

  /** The type a reference names (a named type, or the inline type itself); undefined for none. */
  resolve(ref: TypeRef | undefined): FieldType | undefined {
    if (ref === undefined) return undefined;
    return typeof ref === "string" ? this.types.get(ref) : ref;
  }

  /** The type of field `key` of an object or map of type `t`. */
  child(t: FieldType | undefined, key: string): FieldType | undefined {
    if (!t) return undefined;
    return this.resolve(t.fields?.[key] ?? t.values);
  }

  /** The type of the items of a list of type `t`. */
  itemsOf(t: FieldType | undefined): FieldType | undefined {
    return t ? this.resolve(t.items) : undefined;
  }
}

/** How the items of one list are matched: by position, by set membership, or by key fields. */
export type ListMatch = { type: "atomic" } | { type: "set" } | { type: "map"; keys: string[]; defaults: Record<string, unknown> };

/** The list semantics of a list of type `t` (atomic when the schema says nothing). */
export function listMatch(t: FieldType | undefined): ListMatch {
  if (t?.listType === "map" && t.keys?.length) return { type: "map", keys: t.keys, defaults: t.keyDefaults ?? {} };
  if (t?.listType === "set") return { type: "set" };
  return { type: "atomic" };
}
