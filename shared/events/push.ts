/**
 * `Push Received`: what the webhook publishes once it accepted a push and enqueued its
 * clusters (a duplicate delivery, which enqueues nothing, publishes nothing).
 */
import { DETAIL_TYPES, eventIdOf, LIST_MAX, shortSha, type ConvergeEvent, type EventPublisher } from "./schema.js";

/** A push as the webhook saw it. */
export interface PushReceived {
  /** Git host, e.g. `github.com`. */
  host: string;
  /** Repository URL as the push names it (clone URL). */
  repository: string;
  branch: string;
  /** The pushed head commit (SHA). */
  revision: string;
  /** The host's delivery id (GitHub's `X-GitHub-Delivery`), when it sends one. */
  delivery?: string;
  /** Names of the clusters enqueued. */
  clusters: string[];
}

/** The `Push Received` event of `push`, at `now` (epoch ms). Its `eventId` depends on the delivery (else the push), not the time. */
export function pushReceivedEvent(push: PushReceived, now = Date.now()): ConvergeEvent {
  return {
    detailType: DETAIL_TYPES.pushReceived,
    detail: {
      eventId: eventIdOf(DETAIL_TYPES.pushReceived, push.host, push.repository, push.branch, push.revision, push.delivery),
      repository: push.repository,
      branch: push.branch,
      revision: push.revision,
      time: new Date(now).toISOString(),
      summary: `push ${push.branch} ${shortSha(push.revision)} to ${push.repository}: ${push.clusters.length} cluster(s) enqueued`,
      command: "converge status",
      host: push.host,
      ...(push.delivery ? { delivery: push.delivery } : {}),
      clustersEnqueued: push.clusters.length,
      clusters: push.clusters.slice(0, LIST_MAX),
    },
  };
}

/** Publishes the `Push Received` event of `push` (never throws: the publisher logs its failures). */
export async function announcePush(publisher: EventPublisher, push: PushReceived, now = Date.now()): Promise<void> {
  await publisher.publish([pushReceivedEvent(push, now)]);
}
