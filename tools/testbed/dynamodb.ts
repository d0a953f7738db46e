/**
 * DynamoDB Local (`software.amazon.dynamodb:DynamoDBLocal` 3.x from Maven Central), in memory,
 * on a free port. sqlite4java's native library comes from Maven too
 * (`com.almworks.sqlite4java:libsqlite4java-linux-amd64`, type `so`) and is found through
 * `java.library.path`.
 */
import { ListTablesCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mavenArtifacts } from "./maven.js";
import { freePort, requireTool, startProcess } from "./proc.js";

/** The DynamoDB Local version the test bed runs. */
export const DYNAMODB_LOCAL_VERSION = "3.1.0";
const SQLITE4JAVA_VERSION = "1.0.392";

/** A running DynamoDB Local. */
export interface DynamoDBLocal {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local in memory on 127.0.0.1 and waits until it answers ListTables.
 * @throws Error when Java is missing or it does not start (with its log).
 */
export async function startDynamoDB(): Promise<DynamoDBLocal> {
  requireTool("java", "Java 17+ runs DynamoDB Local and ElasticMQ (apt-get install openjdk-17-jre-headless)");
  const lib = mavenArtifacts(`dynamodb-local-${DYNAMODB_LOCAL_VERSION}`, [
    `software.amazon.dynamodb:DynamoDBLocal:${DYNAMODB_LOCAL_VERSION}`,
    `com.almworks.sqlite4java:libsqlite4java-linux-amd64:${SQLITE4JAVA_VERSION}:so`,
  ]);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
  const proc = await startProcess({
    name: `dynamodb-local-${port}`,
    cmd: "java",
    args: [`-Djava.library.path=${lib}`, "-Xmx512m", "-cp", `${lib}/*`, "software.amazon.dynamodb.services.local.main.ServerRunner", "-inMemory", "-port", String(port), "-disableTelemetry"],
    readyPort: port,
    readyCheck: async () => (await client.send(new ListTablesCommand({})), true),
    timeoutMs: 60_000,
  });
  return { endpoint, stop: async () => (client.destroy(), proc.stop()) };
}
