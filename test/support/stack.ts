/**
 * What integration tests get from the test bed started by `tools/run-tests.ts`: endpoints in
 * the environment (see `stackEnv`), fresh tables and a fresh FIFO queue per test file so files
 * never see each other's data, private copies of the example repository on the real Git
 * server, and the kubeconfigs of the real clusters.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { loadConfig } from "../../shared/config.js";
import { createServices, type Services } from "../../shared/services.js";
import { type ReconcileTask, sqsClient } from "../../shared/queue/tasks.js";
import { createTables } from "../../tools/testbed/tables.js";
import { createQueue } from "../../tools/testbed/elasticmq.js";

/** A real cluster of the test bed. */
export interface TestCluster {
  name: string;
  kubeconfig: string;
  context: string;
}

/** The test bed as `tools/run-tests.ts` published it in the environment. */
export interface StackEnv {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  /** Folder the Git server serves (`<name>.git` bare repositories). */
  gitRoot: string;
  /** Base URL of the Git server: a repository is `${gitBase}/<name>.git`. */
  gitBase: string;
  clusters: TestCluster[];
  kubectl: string;
}

/**
 * Reads the test bed from the environment.
 * @throws Error telling to run the tests through `npm test` when it is missing.
 */
export function stackEnv(): StackEnv {
  const e = process.env;
  if (!e.CONVERGE_DYNAMODB_ENDPOINT || !e.CONVERGE_TEST_GIT_ROOT || !e.CONVERGE_TEST_CLUSTERS) {
    throw new Error("the test bed is not running: run the tests with `npm test` (tools/run-tests.ts starts it)");
  }
  return {
    dynamodbEndpoint: e.CONVERGE_DYNAMODB_ENDPOINT,
    sqsEndpoint: e.CONVERGE_SQS_ENDPOINT!,
    gitRoot: e.CONVERGE_TEST_GIT_ROOT,
    gitBase: e.CONVERGE_TEST_GIT_BASE!,
    clusters: JSON.parse(e.CONVERGE_TEST_CLUSTERS) as TestCluster[],
    kubectl: e.CONVERGE_TEST_KUBECTL!,
  };
}

/** An isolated Converge installation on the shared test bed: own tables, own queue. */
export interface Isolated {
  env: NodeJS.ProcessEnv;
  services: Services;
  queueUrl: string;
  /** Approximate number of messages waiting in the queue (visible + in flight). */
  queueDepth(): Promise<number>;
  purge(): Promise<void>;
}

/** Creates tables `<prefix>-<random>-*` and a queue for one test file. */
export async function isolated(prefix: string): Promise<Isolated> {
  const stack = stackEnv();
  const id = `${prefix}-${randomBytes(3).toString("hex")}`;
  const base = { ...process.env, CONVERGE_TABLE_PREFIX: `${id}-`, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" };
  const cfg0 = loadConfig(base);
  await createTables(stack.dynamodbEndpoint, cfg0.tables);
  const q = await createQueue(stack.sqsEndpoint, id);
  const env = {
    ...base,
    CONVERGE_QUEUE_URL: q.queueUrl,
    CONVERGE_RESUME_QUEUE_URL: q.resumeUrl,
    CONVERGE_IMAGE_QUEUE_URL: q.imageQueueUrl,
    CONVERGE_WORK_DIR: join(process.env.CONVERGE_TEST_WORK ?? "/tmp", id),
  };
  const cfg = loadConfig(env);
  const sqs = sqsClient(cfg);
  return {
    env,
    services: createServices(cfg),
    queueUrl: q.queueUrl,
    async queueDepth() {
      const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
      return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    },
    async purge() {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: q.queueUrl }));
    },
  };
}

/**
 * A private copy of the example repository on the Git server, `master` reset to `at` when
 * given, plus a working clone to commit and push from.
 * @returns the repository URL and helpers to commit and push through the real server.
 */
export function exampleRepo(name: string, at?: string): { url: string; work: string; git(...args: string[]): string; push(): string } {
  const stack = stackEnv();
  const bare = join(stack.gitRoot, `${name}.git`);
  execFileSync("git", ["clone", "-q", "--bare", join(stack.gitRoot, "argocd-example-apps.git"), bare]);
  for (const [k, v] of [
    ["uploadpack.allowAnySHA1InWant", "true"],
    ["uploadpack.allowReachableSHA1InWant", "true"],
    ["http.receivepack", "true"],
  ]) {
    execFileSync("git", ["-C", bare, "config", k!, v!]);
  }
  if (at) execFileSync("git", ["-C", bare, "update-ref", "refs/heads/master", at]);
  const url = `${stack.gitBase}/${name}.git`;
  const work = join(stack.gitRoot, "..", `work-${name}`);
  execFileSync("git", ["clone", "-q", url, work]);
  const git = (...args: string[]) => execFileSync("git", ["-C", work, "-c", "user.name=Converge Test", "-c", "user.email=test@converge.local", ...args], { encoding: "utf8" }).trim();
  return { url, work, git, push: () => (git("push", "-q", "origin", "HEAD:master"), git("rev-parse", "HEAD")) };
}

/** Runs the test bed's kubectl against `cluster`. */
export function kubectl(cluster: TestCluster, ...args: string[]): string {
  return execFileSync(stackEnv().kubectl, ["--kubeconfig", cluster.kubeconfig, "--context", cluster.context, ...args], { encoding: "utf8" });
}

/**
 * Captures the JSON lines `fn` writes to stdout (EMF metrics, Powertools logs) while still
 * returning its result. Other writes pass through: the test runner reports results on stdout.
 */
export async function captureStdout<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const original = process.stdout.write.bind(process.stdout);
  const lines: string[] = [];
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    if (!text.startsWith("{")) return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    lines.push(...text.split("\n").filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  try {
    return { result: await fn(), lines };
  } finally {
    process.stdout.write = original;
  }
}

/** Receives and deletes every message on `iso`'s FIFO queue; returns their tasks. */
export async function drainTasks(iso: Pick<Isolated, "env" | "queueUrl">): Promise<ReconcileTask[]> {
  const sqs = sqsClient(loadConfig(iso.env));
  const tasks: ReconcileTask[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: iso.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const messages = out.Messages ?? [];
    if (!messages.length) return tasks;
    tasks.push(...messages.map((m) => JSON.parse(m.Body!) as ReconcileTask));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: iso.queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
}
