/**
 * Webhook delivery deduplication: a conditional write of the Git host's delivery id
 * (`X-GitHub-Delivery`, `X-Gitea-Delivery`, GitLab's `Idempotency-Key`, ...: shared/webhook/hosts) with a
 * TTL. A host redelivers with the same id (manual "Redeliver" or retries), so a seen id is
 * answered without enqueueing anything again.
 */
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { isConditionFailed } from "./client.js";

/** Seconds a delivery id is remembered: 7 days, longer than GitHub's redelivery window (3 days) and the other hosts' retries. */
export const DELIVERY_TTL_SECONDS = 7 * 86400;

/** Claims and releases delivery ids in the `deliveries` table. */
export class DeliveryStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Claims `id`: true when this is its first delivery, false when it was seen before
   * (and has not expired). One conditional PutItem.
   */
  async claim(id: string, info: Record<string, unknown> = {}, now = Date.now()): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...info, id, receivedAt: new Date(now).toISOString(), expiresAt: Math.floor(now / 1000) + DELIVERY_TTL_SECONDS },
          ConditionExpression: "attribute_not_exists(id) OR expiresAt < :now",
          ExpressionAttributeValues: { ":now": Math.floor(now / 1000) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** Forgets `id`, so that the host's retry of a delivery we failed to process is accepted. */
  async release(id: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { id } }));
  }
}
