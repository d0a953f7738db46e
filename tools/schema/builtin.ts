/**
 * The built-in schema Converge ships (`shared/schema/kubernetes.json`), generated from a real
 * API server of the test bed's Kubernetes version: every group-version its `/openapi/v3` root
 * lists, except the groups of its CustomResourceDefinitions, converted to the compact form and
 * merged: the built-in kinds only, whatever the cluster has installed.
 *
 *   npx tsx tools/schema/generate.ts      # starts a test-bed cluster, rewrites the file
 */
import type { KubeClient } from "../../shared/kube/client.js";
import { clusterSchemas } from "../../shared/kube/openapi.js";
import type { SchemaSet } from "../../shared/schema/types.js";

/** The shipped file's shape: the server version it was generated from, and the merged set. */
export interface BuiltinSchemaFile extends SchemaSet {
  kubernetesVersion: string;
}

/** Sorts the keys of a JSON value, so the generated file is stable and reviewable. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/**
 * Reads every group-version the server behind `client` publishes and merges them.
 * @throws KubeApiError / ClusterUnreachableError; Error when the server publishes no OpenAPI v3.
 */
export async function generateBuiltinSchema(client: KubeClient): Promise<BuiltinSchemaFile> {
  const version = await client.request<{ gitVersion: string }>("GET", "/version");
  const root = await client.request<{ paths: Record<string, unknown> }>("GET", "/openapi/v3");
  const crds = await client.request<{ items: { spec: { group: string } }[] }>("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
  const custom = new Set(crds.items.map((c) => c.spec.group));
  const apiVersions = Object.keys(root.paths)
    .filter((p) => /^api\/v[^/]+$|^apis\/[^/]+\/[^/]+$/.test(p))
    .map((p) => p.replace(/^apis?\//, ""))
    .filter((gv) => !custom.has(gv.split("/")[0]!) || !gv.includes("/"));
  const sets = await clusterSchemas(client, apiVersions);
  if (!sets) throw new Error("the server publishes no OpenAPI v3");
  const merged: SchemaSet = { types: {}, kinds: {} };
  for (const s of sets) {
    Object.assign(merged.types, s.types);
    Object.assign(merged.kinds, s.kinds);
  }
  return sorted({ kubernetesVersion: version.gitVersion, ...merged }) as BuiltinSchemaFile;
}
