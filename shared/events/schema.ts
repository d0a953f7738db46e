/**
 * The events Converge publishes: one per transition of a cluster, an operation, a branch's
 * fleet or a push, never one per reconcile. In AWS they go to an EventBridge bus (source
 * `converge`, `detail-type` one of `DETAIL_TYPES`, `detail` one of the shapes below); locally
 * they are JSON lines in `.converge/events.log` (see ./publisher.ts). The envelope follows
 * EventBridge's PutEvents entry (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html),
 * so a rule pattern such as `{"source": ["converge"], "detail-type": ["Cluster Diverged"]}`
 * selects them (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html).
 *
 * Every detail carries the repository (URL as registered), branch, revision, time and a
 * `command` to look further; cluster events carry the cluster, and `url` its page of the web
 * view when `CONVERGE_UI_URL` is set. No detail ever holds a Secret's value: drift values of
 * Secrets are digests already (shared/diff/secret.ts) and events copy no drift values at all;
 * operation results of Secrets keep their status, not their message.
 */
import { createHash } from "node:crypto";
import type { SyncStatus } from "../model.js";
import type { HealthStatus } from "../health/index.js";
import type { ResourceCounts } from "../cluster/status.js";
import type { OperationPhase, OperationTrigger, ResultCounts, ResultStatus } from "../store/operations.js";

/** The `source` of every Converge event. */
export const EVENT_SOURCE = "converge";

/** The `detail-type` of each event. */
export const DETAIL_TYPES = {
  syncStatusChanged: "Cluster Sync Status Changed",
  healthChanged: "Cluster Health Changed",
  operationStarted: "Sync Operation Started",
  operationSucceeded: "Sync Operation Succeeded",
  operationFailed: "Sync Operation Failed",
  diverged: "Cluster Diverged",
  revisionConverged: "Revision Converged",
  pushReceived: "Push Received",
} as const;

/** One of `DETAIL_TYPES`' values. */
export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** Fields of every detail. */
export interface DetailBase {
  /**
   * A stable id of the transition (hex, 32 characters): the same transition seen twice (two
   * reconciles of one cluster racing, see ./announce.ts) has the same id, so a consumer may
   * drop duplicates on it. Not EventBridge's own event `id`, which differs per PutEvents entry.
   */
  eventId: string;
  /** Repository URL as registered (`--repo`). */
  repository: string;
  branch: string;
  /** Commit SHA the event is about (absent when none was resolved, e.g. a first reconcile failing on Git). */
  revision?: string;
  /** ISO time of the transition. */
  time: string;
  /** One line saying what happened, for people (chat, email): e.g. `prod-eu-1: Synced → OutOfSync at 0d521c6e0498`. */
  summary: string;
  /** A CLI command that shows more, e.g. `converge cluster get prod-eu-1`. */
  command: string;
  /** The cluster's page of the web view, when its address is configured (`CONVERGE_UI_URL`). */
  url?: string;
}

/** Fields of the events about one cluster. */
export interface ClusterDetailBase extends DetailBase {
  cluster: string;
}

/** `Cluster Sync Status Changed`: the sync status differs from the previous reconcile's (the first reconcile counts, from `Unknown`). */
export interface SyncStatusChangedDetail extends ClusterDetailBase {
  from: SyncStatus;
  to: SyncStatus;
  /** Why Error / Unknown, or what the sync stage said (at most 1,000 characters). */
  message?: string;
  /** Resource counts of the reconcile (drift: modified, missing, extra). */
  counts: ResourceCounts;
}

/** A resource whose health is Degraded (shared/health: Argo CD's health checks). */
export interface DegradedResource {
  /** Resource key, `<group>/<kind>/<namespace>/<name>`. */
  key: string;
  message?: string;
}

/** `Cluster Health Changed`: the worst health of the desired resources changed (`from` absent at the first reconcile computing it). */
export interface HealthChangedDetail extends ClusterDetailBase {
  from?: HealthStatus;
  to: HealthStatus;
  /** Degraded resources, at most `LIST_MAX`; `degradedTotal` counts them all. */
  degraded: DegradedResource[];
  degradedTotal: number;
}

/** A resource result of an operation that did not succeed (SyncFailed, Failed, PruneSkipped). */
export interface FailedResult {
  key: string;
  status: ResultStatus;
  /** The API server's or the hook's message; never given for Secrets. */
  message?: string;
}

/** `Sync Operation Started` / `Succeeded` / `Failed` (Failed covers the phases Failed and Error). */
export interface OperationDetail extends ClusterDetailBase {
  operationId: string;
  trigger: OperationTrigger;
  /** The trigger in words: `push`, `self-heal #2`, `manual by alice`... */
  triggerText: string;
  phase: OperationPhase;
  message?: string;
  startedAt: string;
  finishedAt?: string;
  /** Resource results: how many, by status, and the ones that did not succeed (at most `LIST_MAX`). */
  results: { total: number; counts: ResultCounts; failed: FailedResult[] };
}

/** `Cluster Diverged`: OutOfSync for `thresholdMinutes` without a Synced reconcile in between (once per divergence). */
export interface DivergedDetail extends ClusterDetailBase {
  /** ISO time of the first reconcile that found it OutOfSync. */
  outOfSyncSince: string;
  /** Whole minutes OutOfSync at this reconcile. */
  minutes: number;
  thresholdMinutes: number;
  counts: ResourceCounts;
}

/** `Revision Converged`: every cluster tracking the repository and branch is Synced and Healthy at `revision` (once per revision). */
export interface RevisionConvergedDetail extends DetailBase {
  revision: string;
  /** The clusters, at most `LIST_MAX` names; `clusterCount` counts them all. */
  clusters: string[];
  clusterCount: number;
}

/** `Push Received`: a push webhook was accepted and its clusters enqueued. */
export interface PushReceivedDetail extends DetailBase {
  revision: string;
  /** Git host of the repository, e.g. `github.com`. */
  host: string;
  /** The host's delivery id (GitHub's `X-GitHub-Delivery`), when it sends one. */
  delivery?: string;
  /** Clusters enqueued: the count, and at most `LIST_MAX` names. */
  clustersEnqueued: number;
  clusters: string[];
}

/** The detail shape of each detail type. */
export interface DetailMap {
  "Cluster Sync Status Changed": SyncStatusChangedDetail;
  "Cluster Health Changed": HealthChangedDetail;
  "Sync Operation Started": OperationDetail;
  "Sync Operation Succeeded": OperationDetail;
  "Sync Operation Failed": OperationDetail;
  "Cluster Diverged": DivergedDetail;
  "Revision Converged": RevisionConvergedDetail;
  "Push Received": PushReceivedDetail;
}

/** One event: its detail type and detail (the source is always `EVENT_SOURCE`). */
export type ConvergeEvent = { [K in DetailType]: { detailType: K; detail: DetailMap[K] } }[DetailType];

/** Names, resources and results listed in one detail at most (the rest are counted). */
export const LIST_MAX = 50;

/** Where the events go. Implementations never throw: a failure is logged (./publisher.ts). */
export interface EventPublisher {
  publish(events: ConvergeEvent[]): Promise<void>;
}

/** The page of cluster `name` in the web view at `uiUrl` (the route of ui/src: `#/clusters/<name>`). */
export function clusterPageUrl(uiUrl: string, name: string): string {
  return `${uiUrl.replace(/\/+$/, "")}/#/clusters/${encodeURIComponent(name)}`;
}

/** Longest message copied into a detail (characters). */
export const MESSAGE_MAX = 1000;

/** `s` cut to `max` characters (an ellipsis marks the cut). */
export function clip(s: string | undefined, max = MESSAGE_MAX): string | undefined {
  return s === undefined || s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** The first 12 characters of a commit SHA (or `?` when there is none), as summaries show it. */
export function shortSha(sha: string | undefined): string {
  return sha ? sha.slice(0, 12) : "?";
}

/** A stable `eventId` (32 hex digits) of a transition, from the parts that identify it. */
export function eventIdOf(...parts: (string | undefined)[]): string {
  return createHash("sha256")
    .update(parts.map((p) => p ?? "").join("\u0000"))
    .digest("hex")
    .slice(0, 32);
}
