/**
 * Webhook deliveries from any supported Git host turned into reconcile tasks, independent of
 * how the HTTP request arrived (Lambda Function URL, local server). One URL serves every host:
 * the sender is recognised from its headers the way Argo CD's `/api/webhook` does
 * (util/webhook in argoproj/argo-cd), Gitea/Forgejo/Gogs before GitHub since they also send
 * `X-GitHub-Event`.
 *
 * Order of checks, each answering before any state changes:
 * 1. size cap on the raw body (413) — before parsing or hashing anything big;
 * 2. the host, from its headers (401 when none is recognised), and its secrets (401 when the
 *    webhook secret has no entry for it);
 * 3. the host's proof — HMAC signature, token or basic auth — against each of its secrets in
 *    constant time (401 when missing or wrong; see `hosts/*.ts`);
 * 4. JSON parse and the host's payload shape (400); pings answer 200, other events, tag pushes
 *    and branch deletions 202 "ignored";
 * 5. the host's delivery id claimed with a conditional write (a replay answers 200, enqueues 0;
 *    400 when the id, a repository URL or the branch cannot fit a DynamoDB key);
 * 6. per pushed branch, the clusters tracking the repository and branch that the push
 *    concerns (`fanOut`: the `byRepoWithInputs` index gives each cluster's render inputs,
 *    `./concerned.ts` matches them against the changed files — from the payload, else from Git
 *    within a budget, `./changed.ts`): one FIFO message each, pages enqueued while the next is
 *    read (202 with the count), then a `Push Received` event. If enqueueing fails, the delivery
 *    id is released and the error thrown (500), so the host's retry is processed.
 */
import { normalizeRepoUrl } from "../git/url.js";
import type { TaskQueue, ReconcileTask } from "../queue/tasks.js";
import type { Log } from "../reconcile/reconcile.js";
import type { PushReceived } from "../events/push.js";
import { type ClusterStore, TRACKING_PAGE, type TrackedCluster } from "../store/clusters.js";
import type { DeliveryStore } from "../store/deliveries.js";
import { COMMIT_SHA, type GitHost, type Headers, type HostName, type Push } from "./host.js";
import { azureDevops } from "./hosts/azure-devops.js";
import { bitbucketCloud } from "./hosts/bitbucket-cloud.js";
import { bitbucketServer } from "./hosts/bitbucket-server.js";
import { gitea } from "./hosts/gitea.js";
import { github } from "./hosts/github.js";
import { gitlab } from "./hosts/gitlab.js";
import type { ChangedFiles } from "./changed.js";
import { concerned } from "./concerned.js";
import type { WebhookSecrets } from "./secrets.js";

/** Default body cap: 2 MiB. GitHub caps payloads at 25 MB; a push of a normal size is far smaller. */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * DynamoDB's limit on a partition key value, bytes
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-partition-sort-keys).
 * The delivery claim is keyed by the delivery id and the tracking index by repository URL and
 * branch: a push naming a longer one cannot be claimed, and no cluster can track it.
 */
export const MAX_KEY_BYTES = 2048;

/** The hosts in the order they are recognised: the first whose headers match handles the delivery. */
export const HOSTS: readonly GitHost[] = [gitea, github, gitlab, bitbucketCloud, bitbucketServer, azureDevops];

/** An HTTP request as received: header names in any case, raw body. */
export interface WebhookRequest {
  headers: Record<string, string | undefined>;
  body: string | undefined;
  isBase64Encoded?: boolean;
}

/** The HTTP answer: status and a JSON body. */
export interface WebhookResponse {
  statusCode: number;
  body: Record<string, unknown>;
}

/** What handling a delivery needs. */
export interface WebhookDeps {
  /** Accepted secrets per host (`secrets.ts`). */
  secrets: WebhookSecrets;
  clusters: ClusterStore;
  deliveries: DeliveryStore;
  queue: TaskQueue;
  /** The files a push changed when its payload does not say (`./changed.ts`); default: unknown, every tracking cluster is enqueued. */
  changedFiles?: ChangedFiles;
  /** Publishes `Push Received` (shared/events/push.ts); its failures are its own to log. */
  announce?: (push: PushReceived) => Promise<void>;
  maxBodyBytes?: number;
  log?: Log;
  now?: () => number;
}

/**
 * Handles one delivery. Never throws for bad input (4xx); throws only when DynamoDB or SQS
 * fail (the caller answers 500).
 */
export async function receiveDelivery(req: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> {
  const h: Headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const raw = req.body === undefined ? Buffer.alloc(0) : Buffer.from(req.body, req.isBase64Encoded ? "base64" : "utf8");
  const max = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (raw.length > max) return { statusCode: 413, body: { error: `payload of ${raw.length} bytes exceeds the ${max}-byte limit` } };
  const host = HOSTS.find((x) => x.recognises(h));
  if (!host) return { statusCode: 401, body: { error: "unrecognised sender: no X-GitHub-Event, X-Gitlab-Event, X-Event-Key, X-Gitea-Event/X-Forgejo-Event/X-Gogs-Event or Azure DevOps basic auth" } };
  const secrets = deps.secrets[host.name];
  if (!secrets?.length) return { statusCode: 401, body: { host: host.name, error: `no webhook secret is configured for ${host.name}` } };
  const refused = host.verify(h, raw, secrets);
  if (refused) return { statusCode: 401, body: { host: host.name, error: refused } };
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    return { statusCode: 400, body: { host: host.name, error: `malformed JSON: ${(err as Error).message}` } };
  }
  const meaning = host.interpret(h, payload);
  if ("ping" in meaning) return { statusCode: 200, body: { host: host.name, ok: true, event: "ping" } };
  if ("ignored" in meaning) return { statusCode: 202, body: { host: host.name, ignored: meaning.ignored, enqueued: 0 } };
  if ("error" in meaning) return { statusCode: 400, body: { host: host.name, error: meaning.error } };
  return enqueuePushes(host.name, meaning.pushes, deps);
}

/** Why a delivery whose refs include no pushed branch is ignored. */
function ignoredReason(pushes: Push[]): string {
  const p = pushes[0];
  if (!p) return "the push changed no ref";
  if (p.branch !== undefined && p.deleted) return "branch deleted";
  return `ref ${p.ref} is not a branch`;
}

/** Whether the delivery id (with its host prefix) or a repository URL form with the branch would not fit a DynamoDB key. */
function overKeyLimit(p: Push): boolean {
  const bytes = (s: string) => Buffer.byteLength(s, "utf8");
  return bytes(`${p.host}:${p.deliveryId}`) >= MAX_KEY_BYTES || p.repoUrls.some((u) => bytes(`${u}#${p.branch}`) >= MAX_KEY_BYTES);
}

/** Claims the delivery and fans each pushed branch out; releases the claim if enqueueing fails. */
async function enqueuePushes(host: HostName, pushes: Push[], deps: WebhookDeps): Promise<WebhookResponse> {
  const branches = pushes.filter((p) => p.branch !== undefined && !p.deleted);
  if (!branches.length) return { statusCode: 202, body: { host, ignored: ignoredReason(pushes), enqueued: 0 } };
  if (branches.some((p) => !COMMIT_SHA.test(p.after))) return { statusCode: 400, body: { host, error: "push payload 'after' is not a commit SHA" } };
  if (branches.some(overKeyLimit)) return { statusCode: 400, body: { host, error: `push delivery id, repository URL or branch over the ${MAX_KEY_BYTES}-byte key limit` } };
  const first = branches[0]!;
  const delivery = first.deliveryId;
  // GitHub's ids are claimed bare, as before other hosts were accepted; others carry their host
  const claimId = host === "github" ? delivery : `${host}:${delivery}`;
  if (!(await deps.deliveries.claim(claimId, { host, repository: first.repoUrls[0], after: first.after }))) {
    deps.log?.info("duplicate delivery ignored", { host, delivery });
    return { statusCode: 200, body: { host, duplicate: true, delivery, enqueued: 0 } };
  }
  try {
    const enqueuedAt = new Date((deps.now ?? Date.now)()).toISOString();
    const names = new Set<string>();
    let enqueued = 0;
    for (const push of branches) enqueued += await fanOut(push, deps, enqueuedAt, names);
    deps.log?.info("push enqueued", { host, delivery, repository: first.repoUrls[0], branch: first.branch, revision: first.after, clusters: names.size });
    const clusters = [...names].sort();
    const body: Record<string, unknown> = { host, delivery, revision: first.after, branch: first.branch, enqueued, clusters };
    if (branches.length > 1) body.refs = branches.map((p) => ({ branch: p.branch, revision: p.after }));
    await deps.announce?.({ host, repository: first.repoUrls[0] ?? "", branch: first.branch!, revision: first.after, delivery, clusters }).catch(() => undefined);
    return { statusCode: 202, body };
  } catch (err) {
    await deps.deliveries.release(claimId).catch(() => undefined);
    throw err;
  }
}

/**
 * Enqueues one task per cluster tracking `push`'s repository (any of its URL forms, one index
 * Query each, in parallel) and branch that the push concerns (`concerned`), adding their names
 * to `names`. With the changed files in the payload, each page is enqueued while the next is
 * read; without them, the tracking clusters are read first, then the files compared in Git
 * (`deps.changedFiles`; only when some cluster has recorded inputs). A cluster has one
 * repository key, so the URL forms' queries never name one cluster twice.
 * @returns the number of messages SQS accepted.
 */
async function fanOut(push: Push, deps: WebhookDeps, enqueuedAt: string, names: Set<string>): Promise<number> {
  const repos = new Map<string, string>();
  for (const url of push.repoUrls) {
    try {
      repos.set(normalizeRepoUrl(url), url);
    } catch {
      // a URL form we cannot normalize; another form of the same repository will match
    }
  }
  let enqueued = 0;
  const enqueue = async (page: TrackedCluster[], changed: string[] | undefined) => {
    const fresh = concerned(page, changed).filter((n) => !names.has(n));
    for (const n of fresh) names.add(n);
    const tasks: ReconcileTask[] = fresh.map((cluster) => ({ cluster, revision: push.after, reason: "push", deliveryId: push.deliveryId, enqueuedAt }));
    enqueued += await deps.queue.send(tasks);
  };
  const forEach = (onPage: (page: TrackedCluster[]) => Promise<unknown>) => Promise.all([...repos.values()].map((url) => deps.clusters.forEachTracking(url, push.branch!, onPage)));
  if (push.changed || !deps.changedFiles) {
    await forEach((page) => enqueue(page, push.changed));
    return enqueued;
  }
  const tracked: TrackedCluster[] = [];
  await forEach(async (page) => tracked.push(...page));
  const rendered = tracked.find((c) => c.inputs);
  const changed = rendered ? await deps.changedFiles(push, rendered.name) : undefined;
  if (rendered) deps.log?.info("changed files from Git", { delivery: push.deliveryId, before: push.before, after: push.after, files: changed?.length ?? "unknown" });
  for (let i = 0; i < tracked.length; i += TRACKING_PAGE) await enqueue(tracked.slice(i, i + TRACKING_PAGE), changed);
  return enqueued;
}
