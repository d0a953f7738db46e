/**
 * Commit statuses: what Converge tells a Git host about a commit it deploys — one status per
 * cluster (context `converge/<cluster>`) and a rollup over the fleet (context `converge`), in
 * the states GitHub's commit status API takes (https://docs.github.com/en/rest/commits/statuses),
 * which Gitea's API accepts under the same names. Pure: writing them is a CommitStatusPort's job.
 */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterRecord } from "../store/clusters.js";

/** One commit status. `description` is at most 140 characters (GitHub refuses longer ones). */
export interface CommitStatus {
  context: string;
  state: "pending" | "success" | "failure" | "error";
  description: string;
  targetUrl?: string;
}

/**
 * Writes one status on a commit of a cluster's source repository.
 * Implementations throw an Error naming the host, repository, commit and HTTP status when the
 * write fails; the caller logs it and carries on (a status never fails a reconcile).
 */
export interface CommitStatusPort {
  write(source: ClusterRecord["spec"]["source"], sha: string, status: CommitStatus): Promise<void>;
}

/** GitHub's limit on a status description, in characters. */
export const DESCRIPTION_MAX = 140;

/** The rollup's context. */
export const ROLLUP_CONTEXT = "converge";

/** `text` cut to DESCRIPTION_MAX characters (code points), ending with `…` when cut. */
export function statusDescription(text: string): string {
  const chars = Array.from(text.replace(/\s+/g, " ").trim());
  return chars.length <= DESCRIPTION_MAX ? chars.join("") : `${chars.slice(0, DESCRIPTION_MAX - 1).join("")}…`;
}

function make(context: string, state: CommitStatus["state"], description: string): CommitStatus {
  return { context, state, description: statusDescription(description) };
}

/**
 * The per-cluster status, context `converge/<cluster>`, for commit `revision`:
 * - `failure` when the last reconcile left the cluster `Error` or `Unknown` (with its message:
 *   the desired state could not be computed, or the cluster API could not be reached), when
 *   the last sync of `revision` failed (`failedRevision`), or when it is Synced at `revision`
 *   but `Degraded`;
 * - `pending` while an operation is syncing `revision`, or when it is Synced at `revision` and
 *   its health is `Progressing`, `Missing` or `Unknown` (Argo CD's states on the way to Healthy);
 * - `success` when Synced at `revision` and Healthy (or Suspended, or without health-checked kinds);
 * - undefined when there is nothing to say: never reconciled, at another revision, or OutOfSync
 *   without an operation (sync policy `detect`).
 */
export function clusterCommitStatus(cluster: string, status: ClusterStatus, revision: string): CommitStatus | undefined {
  const context = `${ROLLUP_CONTEXT}/${cluster}`;
  const here = status.revision === revision;
  if (!status.lastReconcileAt) return undefined;
  if (status.sync === "Error" || status.sync === "Unknown") return make(context, "failure", `${status.sync}: ${status.message ?? "no message"}`);
  if (!here) return undefined;
  if (status.operation) return make(context, "pending", `Syncing ${revision.slice(0, 7)} to ${cluster}`);
  if (status.failedRevision === revision) return make(context, "failure", `Sync of ${revision.slice(0, 7)} failed${status.message ? `: ${status.message}` : ""}`);
  if (status.sync !== "Synced") return undefined;
  const health = status.health ?? "Healthy";
  if (health === "Degraded") return make(context, "failure", `Synced, Degraded${status.message ? `: ${status.message}` : ""}`);
  if (health === "Progressing" || health === "Missing" || health === "Unknown") return make(context, "pending", `Synced, ${health}`);
  return make(context, "success", `Synced and ${health}`);
}

/**
 * The rollup over the clusters tracking the commit, context `converge`: `failure` when one
 * cluster's status is a failure (`Failed on 1 of 12 clusters, synced on 10: eu-1`, the names
 * last so that a cut keeps the counts),
 * else `pending` while any is not yet a success (`Synced on 10 of 12 clusters, 2 pending`),
 * else `success` (`Synced on 12 of 12 clusters`; also for an empty fleet, `0 of 0`).
 * A cluster with nothing to say (see clusterCommitStatus) counts as pending.
 */
export function rollupCommitStatus(fleet: { cluster: string; status: ClusterStatus }[], revision: string): CommitStatus {
  const states = fleet.map((c) => ({ cluster: c.cluster, state: clusterCommitStatus(c.cluster, c.status, revision)?.state ?? "pending" }));
  const synced = states.filter((s) => s.state === "success").length;
  const failed = states.filter((s) => s.state === "failure" || s.state === "error").map((s) => s.cluster);
  const n = fleet.length;
  if (failed.length > 0) return make(ROLLUP_CONTEXT, "failure", `Failed on ${failed.length} of ${n} clusters, synced on ${synced}: ${failed.join(", ")}`);
  if (synced < n) return make(ROLLUP_CONTEXT, "pending", `Synced on ${synced} of ${n} clusters, ${n - synced} pending`);
  return make(ROLLUP_CONTEXT, "success", `Synced on ${n} of ${n} clusters`);
}
