/**
 * Normalization before comparison.
 *
 * Live objects: what the API server populates on every object is never drift — `status`,
 * metadata `uid`, `resourceVersion`, `generation`, `creationTimestamp`, `managedFields`,
 * `selfLink`, `deletionTimestamp`, `deletionGracePeriodSeconds`, and the annotations written
 * by kubectl (`last-applied-configuration`) and the Deployment controller (`revision`).
 * Sources: the ObjectMeta reference (fields marked "Populated by the system. Read-only."),
 * https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/object-meta/, and
 * gitops-engine's `diff` normalization / Argo CD's default ignored fields.
 *
 * Desired objects: a namespaced object without `metadata.namespace` goes to the default
 * namespace of the target (as `kubectl apply -n <ns>` and an Argo CD Application's
 * `destination.namespace` do); a cluster-scoped object loses any namespace written in Git,
 * as kubectl and Argo CD ignore it (the API server stores cluster-scoped objects without one).
 */
import type { KubeObject } from "../model.js";

/** metadata fields populated by the API server (read-only for clients). */
export const SERVER_METADATA: readonly string[] = ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"];

/** Annotations written by tools and controllers, never by Git. */
export const SERVER_ANNOTATIONS: readonly string[] = ["kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision"];

/**
 * Well-known cluster-scoped kinds as `<group>/<kind>` (core group = empty string), from the
 * built-in API of Kubernetes 1.34. Any other kind — including every custom resource — is
 * taken as namespaced unless an `isNamespaced` callback backed by API discovery says otherwise.
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  "/Namespace",
  "/Node",
  "/PersistentVolume",
  "/ComponentStatus",
  "rbac.authorization.k8s.io/ClusterRole",
  "rbac.authorization.k8s.io/ClusterRoleBinding",
  "apiextensions.k8s.io/CustomResourceDefinition",
  "apiregistration.k8s.io/APIService",
  "admissionregistration.k8s.io/MutatingWebhookConfiguration",
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
  "admissionregistration.k8s.io/ValidatingAdmissionPolicy",
  "admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding",
  "admissionregistration.k8s.io/MutatingAdmissionPolicy",
  "admissionregistration.k8s.io/MutatingAdmissionPolicyBinding",
  "storage.k8s.io/StorageClass",
  "storage.k8s.io/CSIDriver",
  "storage.k8s.io/CSINode",
  "storage.k8s.io/VolumeAttachment",
  "scheduling.k8s.io/PriorityClass",
  "networking.k8s.io/IngressClass",
  "networking.k8s.io/IPAddress",
  "networking.k8s.io/ServiceCIDR",
  "node.k8s.io/RuntimeClass",
  "certificates.k8s.io/CertificateSigningRequest",
  "flowcontrol.apiserver.k8s.io/FlowSchema",
  "flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration",
  "resource.k8s.io/DeviceClass",
]);

/** The API group of an apiVersion: `apps/v1` → `apps`, `v1` → `` (core). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/**
 * Default scope answer from `CLUSTER_SCOPED_KINDS`: false for the well-known cluster-scoped
 * kinds, true for everything else (custom resources included — pass a discovery-backed
 * callback to `normalizeDesired` for those).
 */
export function isNamespacedKind(apiVersion: string, kind: string): boolean {
  return !CLUSTER_SCOPED_KINDS.has(`${groupOf(apiVersion)}/${kind}`);
}

/**
 * A copy of a live object without server-populated fields and `status` (see the module doc).
 * An `annotations` map left empty is removed. The input is not modified.
 */
export function normalizeLive(o: KubeObject): KubeObject {
  const { status: _status, ...rest } = o;
  const metadata: KubeObject["metadata"] = { ...o.metadata };
  for (const f of SERVER_METADATA) delete metadata[f];
  if (metadata.annotations) {
    const annotations = { ...metadata.annotations };
    for (const a of SERVER_ANNOTATIONS) delete annotations[a];
    if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
    else delete metadata.annotations;
  }
  return { ...rest, metadata } as KubeObject;
}

/**
 * A desired object placed in its namespace: a namespaced object without
 * `metadata.namespace` gets `defaultNamespace` (left without one when no default is given);
 * a cluster-scoped object loses any `metadata.namespace`. Run it before `diffAll`, whose
 * matching by `resourceKey` includes the namespace. The input is not modified: a copy is
 * returned when something changes, `o` itself otherwise.
 * @param isNamespaced scope of a kind; defaults to `isNamespacedKind` (built-in table).
 *   Give a callback backed by API discovery to place custom resources correctly.
 */
export function normalizeDesired(o: KubeObject, defaultNamespace?: string, isNamespaced: (apiVersion: string, kind: string) => boolean = isNamespacedKind): KubeObject {
  if (isNamespaced(o.apiVersion, o.kind)) {
    if (o.metadata.namespace || !defaultNamespace) return o;
    return { ...o, metadata: { ...o.metadata, namespace: defaultNamespace } };
  }
  if (o.metadata.namespace === undefined) return o;
  const { namespace: _ns, ...metadata } = o.metadata;
  return { ...o, metadata } as KubeObject;
}
