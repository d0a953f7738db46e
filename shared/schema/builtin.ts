/**
 * The schema of the built-in kinds of the Kubernetes version the test bed runs, generated from
 * its API server's `/openapi/v3` (`npx tsx tools/schema/generate.ts`; a test checks the shipped
 * file still equals what the server publishes). Used where no cluster is asked: the offline
 * `converge diff --desired --live`, and as the fallback when a cluster publishes no OpenAPI v3.
 */
import builtin from "./kubernetes.json" with { type: "json" };
import type { SchemaSet } from "./types.js";

/** The built-in schema and the server version (`v1.34.4`) it was generated from. */
export const BUILTIN_SCHEMA = builtin as unknown as SchemaSet & { kubernetesVersion: string };
