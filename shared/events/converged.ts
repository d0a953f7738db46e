/**
 * Once-per-revision markers of `Revision Converged`: one conditional PutItem per (repository
 * + branch, revision), so when two clusters complete the fleet at the same moment and both see
 * it converged, one publishes. Items live in the drift-events table (which the reconcile writes
 * already) under partition `converged#<repo key>`, sort key the revision; they carry neither
 * `resource` nor `day`, so the `byResource` and `byTime` indexes (and every drift query) never
 * see them, and expire with the table's TTL like drift events.
 */
import { PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { isConditionFailed } from "../store/client.js";

/** Claims `Revision Converged` markers. */
export class ConvergedMarkers {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    /** The drift-events table. */
    private readonly table: string,
    private readonly ttlDays = 90,
  ) {}

  /**
   * Claims (`repoKey`, `revision`): true the first time, false when it was claimed before (and
   * has not expired). One conditional PutItem.
   * @param repoKey normalized repository URL + `#` + branch (shared/git/url.ts `repoKey`).
   * @param clusters the converged clusters' names (kept on the item, at most 100).
   */
  async claim(repoKey: string, revision: string, clusters: string[], now = Date.now()): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            cluster: `converged#${repoKey}`,
            sk: revision,
            at: new Date(now).toISOString(),
            clusters: clusters.slice(0, 100),
            clusterCount: clusters.length,
            expiresAt: Math.floor(now / 1000) + this.ttlDays * 86400,
          },
          ConditionExpression: "attribute_not_exists(sk)",
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }
}
