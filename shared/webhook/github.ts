/**
 * GitHub webhook deliveries (`push`, `ping`) turned into reconcile tasks, independent of how
 * the HTTP request arrived (Lambda Function URL, local server).
 *
 * Order of checks, each answering before any state changes:
 * 1. size cap on the raw body (413) — before parsing or hashing anything big;
 * 2. `X-Hub-Signature-256` HMAC-SHA256 of the raw body with the shared secret, compared in
 *    constant time by @octokit/webhooks-methods (401 when missing or wrong)
 *    (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries);
 * 3. JSON parse and payload shape (400);
 * 4. `X-GitHub-Delivery` claimed with a conditional write (a replay answers 200, enqueues 0);
 * 5. clusters tracking the pushed repository and branch through the `byRepo` index (keys only,
 *    one Query per URL form, in parallel, pages of 1,000 names); one FIFO message each, each
 *    page sent in parallel batches of 10 while the next page is read (202 with the count:
 *    10,000 clusters are 1,000 SQS requests and 10 index pages). If enqueueing fails, the
 *    delivery id is released and 500 returned, so GitHub's redelivery is processed.
 */
import { verify } from "@octokit/webhooks-methods";
import * as z from "zod";
import type { ClusterStore } from "../store/clusters.js";
import { normalizeRepoUrl } from "../git/url.js";
import type { DeliveryStore } from "../store/deliveries.js";
import type { TaskQueue, ReconcileTask } from "../queue/tasks.js";
import type { Log } from "../reconcile/reconcile.js";

/** Default body cap: 2 MiB. GitHub caps payloads at 25 MB; a push of a normal size is far smaller. */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

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
  secret: string;
  clusters: ClusterStore;
  deliveries: DeliveryStore;
  queue: TaskQueue;
  maxBodyBytes?: number;
  log?: Log;
  now?: () => number;
}

const PushPayload = z.object({
  ref: z.string(),
  after: z.string(),
  deleted: z.boolean().optional(),
  repository: z.object({
    full_name: z.string().optional(),
    clone_url: z.string().optional(),
    ssh_url: z.string().optional(),
    html_url: z.string().optional(),
    git_url: z.string().optional(),
  }),
});

const ZERO_SHA = "0".repeat(40);

/**
 * Handles one delivery. Never throws for bad input (4xx); throws only when DynamoDB fails
 * before anything was enqueued (the caller answers 500).
 */
export async function handleGithubDelivery(req: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> {
  const h = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const raw = req.body === undefined ? Buffer.alloc(0) : Buffer.from(req.body, req.isBase64Encoded ? "base64" : "utf8");
  const max = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (raw.length > max) return { statusCode: 413, body: { error: `payload of ${raw.length} bytes exceeds the ${max}-byte limit` } };
  const signature = h["x-hub-signature-256"];
  if (!signature) return { statusCode: 401, body: { error: "missing X-Hub-Signature-256 header" } };
  const text = raw.toString("utf8");
  let valid = false;
  try {
    valid = await verify(deps.secret, text, signature);
  } catch {
    valid = false;
  }
  if (!valid) return { statusCode: 401, body: { error: "signature does not match the payload" } };

  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    return { statusCode: 400, body: { error: `malformed JSON: ${(err as Error).message}` } };
  }
  const event = h["x-github-event"];
  const delivery = h["x-github-delivery"];
  if (event === "ping") return { statusCode: 200, body: { ok: true, event: "ping" } };
  if (event !== "push") return { statusCode: 202, body: { ignored: `event "${event ?? "(none)"}" is not handled`, enqueued: 0 } };
  if (!delivery) return { statusCode: 400, body: { error: "missing X-GitHub-Delivery header" } };
  const parsed = PushPayload.safeParse(payload);
  if (!parsed.success) return { statusCode: 400, body: { error: `not a push payload: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}` } };
  const push = parsed.data;
  if (!push.ref.startsWith("refs/heads/")) return { statusCode: 202, body: { ignored: `ref ${push.ref} is not a branch`, enqueued: 0 } };
  if (push.deleted || push.after === ZERO_SHA) return { statusCode: 202, body: { ignored: "branch deleted", enqueued: 0 } };
  if (!/^[0-9a-f]{40}$/.test(push.after)) return { statusCode: 400, body: { error: "push payload 'after' is not a commit SHA" } };
  const branch = push.ref.slice("refs/heads/".length);

  if (!(await deps.deliveries.claim(delivery, { event, repository: push.repository.full_name, after: push.after }))) {
    deps.log?.info("duplicate delivery ignored", { delivery });
    return { statusCode: 200, body: { duplicate: true, delivery, enqueued: 0 } };
  }
  try {
    // the payload names one repository in up to four URL forms; query each distinct one once
    const repos = new Map<string, string>();
    for (const url of [push.repository.clone_url, push.repository.ssh_url, push.repository.html_url, push.repository.git_url]) {
      if (!url) continue;
      try {
        repos.set(normalizeRepoUrl(url), url);
      } catch {
        // a URL form we cannot normalize; another form of the same repository will match
      }
    }
    // each page of tracking clusters is enqueued while the next is read; a cluster has one
    // repository key, so the URL forms' queries never name one cluster twice
    const enqueuedAt = new Date((deps.now ?? Date.now)()).toISOString();
    const names = new Set<string>();
    let enqueued = 0;
    const enqueue = async (page: string[]) => {
      const fresh = page.filter((n) => !names.has(n));
      for (const n of fresh) names.add(n);
      const tasks: ReconcileTask[] = fresh.map((cluster) => ({ cluster, revision: push.after, reason: "push", deliveryId: delivery, enqueuedAt }));
      const n = await deps.queue.send(tasks);
      enqueued += n;
    };
    await Promise.all([...repos.values()].map((url) => deps.clusters.forEachTrackingPage(url, branch, enqueue)));
    deps.log?.info("push enqueued", { delivery, repository: push.repository.full_name, branch, revision: push.after, clusters: names.size });
    return { statusCode: 202, body: { delivery, revision: push.after, branch, enqueued, clusters: [...names].sort() } };
  } catch (err) {
    await deps.deliveries.release(delivery).catch(() => undefined);
    throw err;
  }
}
