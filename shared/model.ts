/**
 * The vocabulary of Converge as types, shared by every module of the domain core.
 * Terms follow Argo CD / gitops-engine: desired state (Git), live state (cluster), revision
 * (a commit SHA), Synced / OutOfSync / Unknown, Modified / Missing / Extra.
 */

/** A Kubernetes object as JSON (apiVersion, kind, metadata.name are always present). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** Where a desired object came from in the source: file relative to the repo root, 1-based line. */
export interface SourceLocation {
  file: string;
  line: number;
}

/** One object of the desired state with its origin. */
export interface DesiredObject {
  object: KubeObject;
  source: SourceLocation;
}

/** Sync status of a cluster (Argo CD's terms) plus `Error` when the desired state cannot be computed. */
export type SyncStatus = "Synced" | "OutOfSync" | "Unknown" | "Error";

/** Drift state of one resource. `Synced` resources are not stored in the observed state. */
export type DriftState = "Synced" | "Modified" | "Missing" | "Extra";

/** One differing field: a path such as `spec.template.spec.containers[name=web].image`. */
export interface FieldChange {
  path: string;
  /** Desired value (absent when the field is only live). Secret values are replaced by `sha256:<hex>`. */
  desired?: unknown;
  /** Live value (absent when the field is only desired). Secret values are replaced by `sha256:<hex>`. */
  live?: unknown;
}

/** The drift of one resource, identified by `key` (see `resourceKey`). */
export interface ResourceDrift {
  key: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  state: DriftState;
  /** Changed fields, only for `Modified`, sorted by path. */
  changes: FieldChange[];
  /** `Extra` only: the live object carries `argocd.argoproj.io/sync-options: Prune=false`, so a sync keeps it (Argo CD's PruneSkipped). */
  pruneSkipped?: boolean;
  /** Health of the live object (see shared/health), when its kind has a health check. */
  health?: { status: string; message?: string };
}

/**
 * Identity of a resource across revisions and clusters: `<group>/<kind>/<namespace>/<name>`,
 * the core group and cluster-scoped namespace written as empty strings (e.g. `/Service/default/web`,
 * `apps/Deployment/default/web`, `rbac.authorization.k8s.io/ClusterRole//view`).
 * Follows gitops-engine's ResourceKey (group, kind, namespace, name); the version is left out
 * because one object is served under several versions.
 */
export function resourceKey(o: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): string {
  const slash = o.apiVersion.indexOf("/");
  const group = slash < 0 ? "" : o.apiVersion.slice(0, slash);
  return `${group}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}
