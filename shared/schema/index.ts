/**
 * The schema package: list semantics (atomic / set / map and its keys) of every kind, from a
 * cluster's OpenAPI v3 documents, CRD objects, or the shipped built-in schema.
 */
export { BUILTIN_SCHEMA } from "./builtin.js";
export { fromCrd, fromOpenApiV3, OBJECT_META, type OpenApiDocument } from "./openapi.js";
export { kindKey, listMatch, Schemas, type FieldType, type ListMatch, type SchemaSet, type TypeRef } from "./types.js";

import { BUILTIN_SCHEMA } from "./builtin.js";
import { fromCrd } from "./openapi.js";
import { Schemas, type SchemaSet } from "./types.js";

/**
 * Schemas for a comparison: the built-in kinds, then the custom resource definitions among
 * `objects` (a CRD in the desired state types its custom resources even before a cluster
 * serves them), then `sets` (what a cluster publishes wins: it is what its objects were
 * stored under).
 */
export function schemasFor(sets: readonly SchemaSet[] = [], objects: readonly { apiVersion: string; kind: string; spec?: unknown }[] = []): Schemas {
  return new Schemas([BUILTIN_SCHEMA, ...objects.filter((o) => o.kind === "CustomResourceDefinition").map(fromCrd), ...sets]);
}

let builtinOnly: Schemas | undefined;

/** The built-in schema alone (shared instance): the default of the diff functions. */
export function builtinSchemas(): Schemas {
  builtinOnly ??= new Schemas([BUILTIN_SCHEMA]);
  return builtinOnly;
}
