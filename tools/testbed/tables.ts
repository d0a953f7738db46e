/**
 * Creates Converge's tables on DynamoDB Local from the same key schema the CDK construct
 * uses (`shared/store/schema.ts`), so the local tables are the deployed ones.
 */
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, type AttributeDefinition, type KeySchemaElement, type Projection } from "@aws-sdk/client-dynamodb";
import { TABLES, type IndexSpec, type TableSpec } from "../../shared/store/schema.js";
import type { TableNames } from "../../shared/config.js";

function keySchema(pk: TableSpec["partitionKey"], sk?: TableSpec["sortKey"]): KeySchemaElement[] {
  return [{ AttributeName: pk.name, KeyType: "HASH" }, ...(sk ? [{ AttributeName: sk.name, KeyType: "RANGE" as const }] : [])];
}

/** The index's projection as CreateTable takes it (default ALL). */
function projection(i: IndexSpec): Projection {
  const p = i.projection ?? { type: "ALL" };
  return p.type === "INCLUDE" ? { ProjectionType: "INCLUDE", NonKeyAttributes: p.attributes } : { ProjectionType: p.type };
}

/**
 * Creates the tables named `names` (PAY_PER_REQUEST, GSIs with the spec's projections, TTL where the
 * spec has one). Tables that already exist are left as they are.
 */
export async function createTables(endpoint: string, names: TableNames): Promise<void> {
  const db = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  try {
    await Promise.all(
      (Object.keys(TABLES) as (keyof typeof TABLES)[]).map(async (role) => {
        const spec = TABLES[role];
        const attrs = new Map<string, AttributeDefinition>();
        for (const a of [spec.partitionKey, spec.sortKey, ...spec.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
          if (a) attrs.set(a.name, { AttributeName: a.name, AttributeType: a.type });
        }
        try {
          await db.send(
            new CreateTableCommand({
              TableName: names[role],
              BillingMode: "PAY_PER_REQUEST",
              AttributeDefinitions: [...attrs.values()],
              KeySchema: keySchema(spec.partitionKey, spec.sortKey),
              ...(spec.indexes.length ? { GlobalSecondaryIndexes: spec.indexes.map((i) => ({ IndexName: i.name, KeySchema: keySchema(i.partitionKey, i.sortKey), Projection: projection(i) })) } : {}),
            }),
          );
        } catch (err) {
          if ((err as { name?: string }).name === "ResourceInUseException") return;
          throw err;
        }
        if (spec.ttlAttribute) {
          await db.send(new UpdateTimeToLiveCommand({ TableName: names[role], TimeToLiveSpecification: { AttributeName: spec.ttlAttribute, Enabled: true } }));
        }
      }),
    );
  } finally {
    db.destroy();
  }
}
