/**
 * What the reconcile needs of the stores and of Git: small interfaces, each the handful of
 * calls the core makes, so the core depends on these and not on DynamoDB or isomorphic-git.
 * The classes in shared/store and shared/git implement them (the composition in
 * shared/compose/reconcile.ts wires them).
 */
import type { ClusterStore } from "../store/clusters.js";
import type { SnapshotStore } from "../store/snapshots.js";
import type { EventStore } from "../store/events.js";
import type { OperationStore } from "../store/operations.js";
import type { GitSource } from "../git/source.js";

/** The cluster registry: read one cluster, write its status and next due time and its render's inputs, hold its sync lease. */
export type ClusterPort = Pick<ClusterStore, "get" | "setStatus" | "setInputs" | "acquireLease" | "releaseLease">;

/** Desired snapshots (claimed, rendered once, awaited), the observed state, and cached schemas. */
export type SnapshotPort = Pick<SnapshotStore, "getDesired" | "claimRender" | "waitForDesired" | "failRender" | "putDesired" | "getObserved" | "putObserved" | "getSchema" | "putSchema">;

/** Drift events and cluster sync status changes, appended. */
export type EventPort = Pick<EventStore, "put" | "putSyncChanges">;

/** Sync operations: the running one, start, progress, finish. */
export type OperationPort = Pick<OperationStore, "get" | "running" | "start" | "update" | "finish">;

/** Git: resolve a branch or ref, fetch a revision, read its names and files, compare ancestry. */
export type GitPort = Pick<GitSource, "resolveBranch" | "resolveRef" | "fetch" | "listNames" | "readFiles" | "isAncestor">;
