/**
 * ElasticMQ (`org.elasticmq:elasticmq-server_2.13` from Maven Central), an SQS-compatible
 * server speaking the JSON protocol of AWS SDK v3 (since 1.4), with FIFO queues and
 * deduplication ids.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateQueueCommand, GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { cacheDir } from "./cache.js";
import { mavenArtifacts } from "./maven.js";
import { freePort, requireTool, startProcess } from "./proc.js";

/** The ElasticMQ version the test bed runs. */
export const ELASTICMQ_VERSION = "1.7.1";

/** A running ElasticMQ. */
export interface ElasticMQ {
  endpoint: string;
  stop(): Promise<void>;
}

function client(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
}

/**
 * Starts ElasticMQ on 127.0.0.1 on a free port (no queue predefined) and waits until it answers ListQueues.
 * @throws Error when Java is missing or it does not start (with its log).
 */
export async function startElasticMQ(): Promise<ElasticMQ> {
  requireTool("java", "Java 17+ runs DynamoDB Local and ElasticMQ (apt-get install openjdk-17-jre-headless)");
  const lib = mavenArtifacts(`elasticmq-${ELASTICMQ_VERSION}`, [`org.elasticmq:elasticmq-server_2.13:${ELASTICMQ_VERSION}`]);
  const port = await freePort();
  const conf = join(cacheDir("elasticmq"), `elasticmq-${port}.conf`);
  writeFileSync(
    conf,
    `include classpath("application.conf")
node-address { protocol = http, host = 127.0.0.1, port = ${port}, context-path = "" }
rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }
rest-stats { enabled = false }
aws { region = us-east-1, accountId = 000000000000 }
`,
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const sqs = client(endpoint);
  const proc = await startProcess({
    name: `elasticmq-${port}`,
    cmd: "java",
    args: [`-Dconfig.file=${conf}`, "-Xmx256m", "-cp", `${lib}/*`, "org.elasticmq.server.Main"],
    readyPort: port,
    readyCheck: async () => (await sqs.send(new ListQueuesCommand({})), true),
    timeoutMs: 60_000,
  });
  return { endpoint, stop: async () => (sqs.destroy(), proc.stop()) };
}

/**
 * Creates the FIFO queue `<name>.fifo` (explicit deduplication ids, visibility timeout 60 s)
 * with its dead-letter queue `<name>-dlq.fifo` (maxReceiveCount 5, as in AWS), and the standard
 * resume queue `<name>-resume` (per-message delays, shared/queue/resume.ts), and the standard
 * image queue `<name>-images` (shared/images/trigger.ts).
 * @returns the queue URLs.
 */
export async function createQueue(endpoint: string, name: string): Promise<{ queueUrl: string; dlqUrl: string; resumeUrl: string; imageQueueUrl: string }> {
  const sqs = client(endpoint);
  try {
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: "true", ContentBasedDeduplication: "false" } }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    const q = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${name}.fifo`,
        Attributes: { FifoQueue: "true", ContentBasedDeduplication: "false", VisibilityTimeout: "60", RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
      }),
    );
    const resume = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-resume`, Attributes: { VisibilityTimeout: "60" } }));
    const images = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-images`, Attributes: { VisibilityTimeout: "300" } }));
    return { queueUrl: q.QueueUrl!, dlqUrl: dlq.QueueUrl!, resumeUrl: resume.QueueUrl!, imageQueueUrl: images.QueueUrl! };
  } finally {
    sqs.destroy();
  }
}
