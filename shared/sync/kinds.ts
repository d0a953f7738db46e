/**
 * The order in which kinds are applied inside one sync wave, as gitops-engine has it
 * (`pkg/sync/sync_tasks.go`, `kindOrder`, taken from Helm's `releaseutil/kind_sorter.go`).
 */

/** gitops-engine's kind order, first applied first. Kinds not listed (custom resources, webhooks...) come after all of them. */
export const KIND_ORDER: readonly string[] = [
  "Namespace",
  "NetworkPolicy",
  "ResourceQuota",
  "LimitRange",
  "PodSecurityPolicy",
  "PodDisruptionBudget",
  "ServiceAccount",
  "Secret",
  "SecretList",
  "ConfigMap",
  "StorageClass",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleList",
  "ClusterRoleBinding",
  "ClusterRoleBindingList",
  "Role",
  "RoleList",
  "RoleBinding",
  "RoleBindingList",
  "Service",
  "DaemonSet",
  "Pod",
  "ReplicationController",
  "ReplicaSet",
  "Deployment",
  "HorizontalPodAutoscaler",
  "StatefulSet",
  "Job",
  "CronJob",
  "IngressClass",
  "Ingress",
  "APIService",
];

const RANK = new Map(KIND_ORDER.map((kind, i) => [kind, i]));

/**
 * The rank of `kind` in `KIND_ORDER`: 0 for Namespace … 34 for APIService, and 35
 * (`KIND_ORDER.length`) for every kind not listed, so all unknown kinds tie and are then ordered
 * by name, as in gitops-engine (where they share the rank 0 above every negative known rank).
 * Only the kind string counts, not the group (`Service` of any group is a Service), as there.
 */
export function kindRank(kind: string): number {
  return RANK.get(kind) ?? KIND_ORDER.length;
}
