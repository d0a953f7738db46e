/**
 * One small factory per store and for the queue. A Lambda handler builds only the ones it uses,
 * so its bundle holds those stores and nothing else (test/infra/bundles.test.ts checks it):
 * importing this module pulls in no Git, Kubernetes, render or diff code, and esbuild drops the
 * factories (and the store modules) a handler does not call.
 *
 * Every store built from one configuration object shares one DynamoDB document client.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ConvergeConfig } from "../config.js";
import { documentClient } from "../store/client.js";
import { ClusterStore } from "../store/clusters.js";
import { DeliveryStore } from "../store/deliveries.js";
import { EventStore } from "../store/events.js";
import { OperationStore } from "../store/operations.js";
import { SnapshotStore } from "../store/snapshots.js";
import { sqsClient, TaskQueue } from "../queue/tasks.js";
import { ResumeQueue } from "../queue/resume.js";

const clients = new WeakMap<ConvergeConfig, DynamoDBDocumentClient>();

/** The document client of `config` (created once per configuration object). */
export function dynamo(config: ConvergeConfig): DynamoDBDocumentClient {
  let db = clients.get(config);
  if (!db) {
    db = documentClient(config);
    clients.set(config, db);
  }
  return db;
}

/** The cluster registry (specs, status, the `byDue` and `byRepo` indexes). */
export function clusterStore(config: ConvergeConfig): ClusterStore {
  return new ClusterStore(dynamo(config), config.tables.clusters);
}

/** Desired snapshots and cached schemas. */
export function snapshotStore(config: ConvergeConfig): SnapshotStore {
  return new SnapshotStore(dynamo(config), config.tables.snapshots);
}

/** Drift events (kept `config.eventTtlDays`). */
export function eventStore(config: ConvergeConfig): EventStore {
  return new EventStore(dynamo(config), config.tables.events, config.eventTtlDays);
}

/** Webhook deliveries already handled (replay protection). */
export function deliveryStore(config: ConvergeConfig): DeliveryStore {
  return new DeliveryStore(dynamo(config), config.tables.deliveries);
}

/** Sync operations: history, the running one, the last succeeded. */
export function operationStore(config: ConvergeConfig): OperationStore {
  return new OperationStore(dynamo(config), config.tables.operations, { ttlDays: config.operationTtlDays });
}

/** The reconcile FIFO queue; undefined when `config.queueUrl` is not set (callers that enqueue check it). */
export function taskQueue(config: ConvergeConfig): TaskQueue | undefined {
  return config.queueUrl ? new TaskQueue(sqsClient(config), config.queueUrl) : undefined;
}

/** The standard queue of delayed resumptions; undefined when `config.resumeQueueUrl` is not set (the tick brings clusters back). */
export function resumeQueue(config: ConvergeConfig): ResumeQueue | undefined {
  return config.resumeQueueUrl ? new ResumeQueue(sqsClient(config), config.resumeQueueUrl) : undefined;
}
