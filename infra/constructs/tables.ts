/**
 * The DynamoDB tables, generated from the key schema in `shared/store/schema.ts` (the
 * same one the local test bed creates): on-demand, point-in-time recovery, TTL where events,
 * deliveries and (when configured) sync operations expire, retained on stack deletion (drift
 * and sync history are the product).
 */
import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption, type Attribute } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { TABLES, type KeyAttr } from "../../shared/store/schema.js";
import type { TableNames } from "../../shared/config.js";

function attr(a: KeyAttr): Attribute {
  return { name: a.name, type: a.type === "S" ? AttributeType.STRING : AttributeType.NUMBER };
}

/** `clusters`, `snapshots`, `events`, `deliveries`, `operations`, keyed like `TableNames`. */
export class ConvergeTables extends Construct {
  readonly tables: Record<keyof TableNames, Table>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const make = (role: keyof TableNames, cid: string) => {
      const spec = TABLES[role];
      const table = new Table(this, cid, {
        partitionKey: attr(spec.partitionKey),
        ...(spec.sortKey ? { sortKey: attr(spec.sortKey) } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: TableEncryption.AWS_MANAGED,
        removalPolicy: RemovalPolicy.RETAIN,
        ...(spec.ttlAttribute ? { timeToLiveAttribute: spec.ttlAttribute } : {}),
      });
      for (const i of spec.indexes) {
        const p = i.projection ?? { type: "ALL" };
        table.addGlobalSecondaryIndex({
          indexName: i.name,
          partitionKey: attr(i.partitionKey),
          ...(i.sortKey ? { sortKey: attr(i.sortKey) } : {}),
          projectionType: ProjectionType[p.type],
          ...(p.type === "INCLUDE" ? { nonKeyAttributes: p.attributes } : {}),
        });
      }
      return table;
    };
    this.tables = {
      clusters: make("clusters", "Clusters"),
      snapshots: make("snapshots", "Snapshots"),
      events: make("events", "DriftEvents"),
      deliveries: make("deliveries", "Deliveries"),
      operations: make("operations", "Operations"),
    };
  }

  /** The environment variables naming the tables (see shared/config.ts). */
  environment(): Record<string, string> {
    return {
      CONVERGE_CLUSTERS_TABLE: this.tables.clusters.tableName,
      CONVERGE_SNAPSHOTS_TABLE: this.tables.snapshots.tableName,
      CONVERGE_EVENTS_TABLE: this.tables.events.tableName,
      CONVERGE_DELIVERIES_TABLE: this.tables.deliveries.tableName,
      CONVERGE_OPERATIONS_TABLE: this.tables.operations.tableName,
    };
  }
}
