/**
 * The list semantics a cluster publishes: its OpenAPI v3 documents
 * (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-v3), one per
 * group-version, each addressed with a content hash (`/openapi/v3/apis/apps/v1?hash=<hex>`)
 * that changes whenever the document does (a new server version, a CRD added or changed).
 *
 * Cost: one GET of the small root document per call, plus, per group-version in play, nothing
 * when its hash is in this process's memory (warm Lambda invocations) or in the shared cache
 * (DynamoDB: a fleet fetches each document once), else one GET of the document.
 */
import type { KubeClient } from "./client.js";
import { KubeApiError } from "./client.js";
import { fromOpenApiV3, type OpenApiDocument } from "../schema/openapi.js";
import type { SchemaSet } from "../schema/types.js";

/** A store of compact schemas by document hash, shared by every reconcile (e.g. the snapshots table). */
export interface SchemaCache {
  getSchema(hash: string): Promise<SchemaSet | undefined>;
  putSchema(hash: string, set: SchemaSet): Promise<void>;
}

/** Compact schemas by document hash in this process; bounded, oldest dropped first. */
const memory = new Map<string, Promise<SchemaSet>>();
const MEMORY_ENTRIES = 256;

/** The root's path of a group-version: `v1` → `api/v1`, `apps/v1` → `apis/apps/v1`. */
export function openApiPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `apis/${apiVersion}` : `api/${apiVersion}`;
}

function remember(hash: string, p: Promise<SchemaSet>): Promise<SchemaSet> {
  if (memory.size >= MEMORY_ENTRIES) memory.delete(memory.keys().next().value!);
  memory.set(hash, p);
  p.catch(() => memory.delete(hash));
  return p;
}

async function loadDocument(client: KubeClient, url: string, hash: string, cache?: SchemaCache): Promise<SchemaSet> {
  const cached = await cache?.getSchema(hash);
  if (cached) return cached;
  const doc = await client.request<OpenApiDocument>("GET", url.split("?")[0]!, { query: Object.fromEntries(new URL(url, "http://x").searchParams) });
  const set = fromOpenApiV3(doc);
  await cache?.putSchema(hash, set);
  return set;
}

/**
 * The compact schemas of the group-versions `apiVersions` (e.g. `["v1", "apps/v1"]`) as the
 * cluster behind `client` publishes them. Group-versions the server does not serve are left
 * out. Returns undefined when the server publishes no OpenAPI v3 (HTTP 404, 403): the caller
 * falls back to the built-in schema.
 * @throws ClusterUnreachableError, and KubeApiError other than 403/404.
 */
export async function clusterSchemas(client: KubeClient, apiVersions: Iterable<string>, cache?: SchemaCache): Promise<SchemaSet[] | undefined> {
  let root: { paths?: Record<string, { serverRelativeURL?: string }> };
  try {
    root = await client.request("GET", "/openapi/v3");
  } catch (err) {
    if (err instanceof KubeApiError && (err.code === 404 || err.code === 403)) return undefined;
    throw err;
  }
  const wanted = new Set([...apiVersions].map(openApiPath));
  const loads: Promise<SchemaSet>[] = [];
  for (const path of wanted) {
    const url = root.paths?.[path]?.serverRelativeURL;
    if (!url) continue;
    const hash = new URL(url, "http://x").searchParams.get("hash") ?? "";
    const key = `${path}@${hash}`;
    loads.push(hash ? (memory.get(key) ?? remember(key, loadDocument(client, url, key, cache))) : loadDocument(client, url, key));
  }
  return Promise.all(loads);
}
