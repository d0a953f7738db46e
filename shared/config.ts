/**
 * Runtime configuration of Converge, read from environment variables.
 *
 * The same variables drive the Lambda functions in AWS (set by the CDK app in `infra/`) and
 * the local mode (set by `tools/testbed` / `npm run demo`, or by hand for the CLI):
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `AWS_REGION` | region of every AWS client | `us-east-1` |
 * | `CONVERGE_DYNAMODB_ENDPOINT` | endpoint override, e.g. DynamoDB Local `http://127.0.0.1:8000` | AWS |
 * | `CONVERGE_SQS_ENDPOINT` | endpoint override, e.g. ElasticMQ `http://127.0.0.1:9324` | AWS |
 * | `CONVERGE_TABLE_PREFIX` | prefix of the table names | `converge-` |
 * | `CONVERGE_CLUSTERS_TABLE` ... `CONVERGE_DELIVERIES_TABLE`, `CONVERGE_OPERATIONS_TABLE` | explicit table names | prefix + `clusters` ... `operations` |
 * | `CONVERGE_QUEUE_URL` | URL of the reconcile FIFO queue | required to enqueue |
 * | `CONVERGE_RESUME_QUEUE_URL` | URL of the standard queue that brings a waiting reconcile back after a delay | unset: the tick brings it back |
 * | `CONVERGE_WEBHOOK_SECRET` | GitHub webhook secret (local mode) | — |
 * | `CONVERGE_WEBHOOK_SECRETS` | webhook secrets per Git host as JSON, `{"gitlab": ["token"], ...}` (local mode; shared/webhook/secrets.ts) | — |
 * | `CONVERGE_WEBHOOK_SECRET_ARN` | Secrets Manager secret holding the webhook secrets, in the same JSON or as the GitHub secret alone (AWS) | — |
 * | `CONVERGE_IMAGE_QUEUE_URL` | URL of the standard queue of image triggers (registry notifications, ECR events; shared/images/trigger.ts) | required to receive image events |
 * | `CONVERGE_REGISTRY_TOKEN` | bearer token registries send with their notifications (local mode) | — |
 * | `CONVERGE_REGISTRY_TOKEN_SECRET_ARN` | Secrets Manager secret holding that token (AWS) | — |
 * | `CONVERGE_WORK_DIR` | scratch space for Git fetches | `$TMPDIR/converge` |
 * | `CONVERGE_EVENT_TTL_DAYS` | days drift events are kept (DynamoDB TTL) | 90 |
 * | `CONVERGE_OPERATIONS_TTL_DAYS` | days sync operations are kept (DynamoDB TTL); unset, empty, `0` or not a positive number: forever | forever |
 */
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Names of the DynamoDB tables. */
export interface TableNames {
  clusters: string;
  snapshots: string;
  events: string;
  deliveries: string;
  operations: string;
}

/** Resolved configuration; see the module docstring for the variables behind each field. */
export interface ConvergeConfig {
  region: string;
  dynamodbEndpoint?: string;
  sqsEndpoint?: string;
  tables: TableNames;
  queueUrl?: string;
  /** Standard queue of delayed resumptions (shared/queue/resume.ts). */
  resumeQueueUrl?: string;
  webhookSecret?: string;
  /** `CONVERGE_WEBHOOK_SECRETS`: per-host webhook secrets as JSON text. */
  webhookSecrets?: string;
  webhookSecretArn?: string;
  /** Standard queue of image triggers (shared/images/trigger.ts). */
  imageQueueUrl?: string;
  /** The registries' notification bearer token (local mode). */
  registryToken?: string;
  registryTokenSecretArn?: string;
  workDir: string;
  eventTtlDays: number;
  /** Days sync operations are kept; undefined: forever. */
  operationTtlDays?: number;
}

/**
 * Reads the configuration from `env` (default `process.env`). Never throws: missing values
 * that only some callers need (queue URL, webhook secret) are checked where they are used.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConvergeConfig {
  const prefix = env.CONVERGE_TABLE_PREFIX ?? "converge-";
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    dynamodbEndpoint: env.CONVERGE_DYNAMODB_ENDPOINT || undefined,
    sqsEndpoint: env.CONVERGE_SQS_ENDPOINT || undefined,
    tables: {
      clusters: env.CONVERGE_CLUSTERS_TABLE || `${prefix}clusters`,
      snapshots: env.CONVERGE_SNAPSHOTS_TABLE || `${prefix}snapshots`,
      events: env.CONVERGE_EVENTS_TABLE || `${prefix}drift-events`,
      deliveries: env.CONVERGE_DELIVERIES_TABLE || `${prefix}deliveries`,
      operations: env.CONVERGE_OPERATIONS_TABLE || `${prefix}operations`,
    },
    queueUrl: env.CONVERGE_QUEUE_URL || undefined,
    resumeQueueUrl: env.CONVERGE_RESUME_QUEUE_URL || undefined,
    webhookSecret: env.CONVERGE_WEBHOOK_SECRET || undefined,
    webhookSecrets: env.CONVERGE_WEBHOOK_SECRETS || undefined,
    webhookSecretArn: env.CONVERGE_WEBHOOK_SECRET_ARN || undefined,
    imageQueueUrl: env.CONVERGE_IMAGE_QUEUE_URL || undefined,
    registryToken: env.CONVERGE_REGISTRY_TOKEN || undefined,
    registryTokenSecretArn: env.CONVERGE_REGISTRY_TOKEN_SECRET_ARN || undefined,
    workDir: env.CONVERGE_WORK_DIR || join(tmpdir(), "converge"),
    eventTtlDays: Number(env.CONVERGE_EVENT_TTL_DAYS ?? 90),
    operationTtlDays: Number(env.CONVERGE_OPERATIONS_TTL_DAYS) > 0 ? Number(env.CONVERGE_OPERATIONS_TTL_DAYS) : undefined,
  };
}
