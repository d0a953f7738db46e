/**
 * The non-Kubernetes half of the test bed: DynamoDB Local, ElasticMQ and the Git server,
 * started in parallel, with Converge's tables and queue created and the environment
 * variables Converge reads (see shared/config.ts) ready to pass on.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../shared/config.js";
import { startDynamoDB } from "./dynamodb.js";
import { createQueue, startElasticMQ } from "./elasticmq.js";
import { prepareExampleRepo, startGitServer } from "./gitserver.js";
import { createTables } from "./tables.js";

/** The running services. */
export interface Services {
  env: Record<string, string>;
  /** Folder served by the Git server. */
  gitRoot: string;
  gitBaseUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts the three services; creates the tables (prefix `converge-`) and the queue
 * `converge-reconcile.fifo`; serves the example repository.
 * @throws the first start-up error (what did start is stopped).
 */
export async function startServices(o: { workDir: string; log?: (s: string) => void }): Promise<Services> {
  const gitRoot = join(o.workDir, "git");
  mkdirSync(gitRoot, { recursive: true });
  prepareExampleRepo(gitRoot);
  const t0 = Date.now();
  const [ddb, mq, git] = await Promise.allSettled([startDynamoDB(), startElasticMQ(), startGitServer({ root: gitRoot })]);
  const started = [ddb, mq, git].filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<{ stop(): Promise<void> }>).value);
  const failed = [ddb, mq, git].find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (failed || ddb.status !== "fulfilled" || mq.status !== "fulfilled" || git.status !== "fulfilled") {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw failed?.reason;
  }
  o.log?.(`DynamoDB Local ${ddb.value.endpoint}, ElasticMQ ${mq.value.endpoint}, Git ${git.value.baseUrl} up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const base = {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    CONVERGE_DYNAMODB_ENDPOINT: ddb.value.endpoint,
    CONVERGE_SQS_ENDPOINT: mq.value.endpoint,
    CONVERGE_TABLE_PREFIX: "converge-",
  };
  await createTables(ddb.value.endpoint, loadConfig(base).tables);
  const { queueUrl, resumeUrl, imageQueueUrl } = await createQueue(mq.value.endpoint, "converge-reconcile");
  return {
    env: {
      ...base,
      CONVERGE_QUEUE_URL: queueUrl,
      CONVERGE_RESUME_QUEUE_URL: resumeUrl,
      CONVERGE_IMAGE_QUEUE_URL: imageQueueUrl,
      CONVERGE_GIT_URL: git.value.url("argocd-example-apps"),
      CONVERGE_WORK_DIR: join(o.workDir, "converge"),
    },
    gitRoot,
    gitBaseUrl: git.value.baseUrl,
    stop: async () => void (await Promise.allSettled([ddb.value.stop(), mq.value.stop(), git.value.stop()])),
  };
}
