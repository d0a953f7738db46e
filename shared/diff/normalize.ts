/**
 * Normalization of live objects before comparison: what the API server populates on every
 * object is not part of the desired state and never drift (metadata.uid, resourceVersion,
 * generation, creationTimestamp, managedFields, selfLink, status, and the annotations kubectl
 * and the Deployment controller write). Follows gitops-engine's `normalizers` and Argo CD's
 * default ignore rules.
 */
import type { KubeObject } from "../model.js";

/** metadata fields the server owns. */
export const SERVER_METADATA = ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"];

/** Annotations written by tools and controllers, never by Git. */
export const SERVER_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision"];

/** A copy of a live object without server-populated fields and `status`. */
export function normalizeLive(o: KubeObject): KubeObject {
  const { status: _status, ...rest } = o;
  const metadata: KubeObject["metadata"] = { ...o.metadata };
  for (const f of SERVER_METADATA) delete metadata[f];
  if (metadata.annotations) {
    const annotations = { ...metadata.annotations };
    for (const a of SERVER_ANNOTATIONS) delete annotations[a];
    metadata.annotations = annotations;
  }
  return { ...rest, metadata } as KubeObject;
}
