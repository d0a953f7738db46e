/**
 * Webhook deliveries naming values too long for a DynamoDB key (2048 bytes: the delivery id
 * the claim is keyed by, the repository URL and branch of the tracking index), validly signed,
 * on real DynamoDB Local and ElasticMQ: each is a 400 with its reason, claims nothing and
 * enqueues nothing, where it used to fail the request with a 500 (found by the "hostile
 * webhooks" check of `npm run chaos`). A push of ordinary size still enqueues.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { HostName } from "../../shared/webhook/host.js";
import { MAX_KEY_BYTES, receiveDelivery, type WebhookDeps } from "../../shared/webhook/receive.js";
import { isolated, stackEnv, type Isolated } from "../support/stack.js";
import { headersFor, pushFor, type PushSpec } from "../support/webhooks.js";

const SECRET = "limits-secret";
let iso: Isolated;
let deps: WebhookDeps;
let n = 0;

before(async () => {
  iso = await isolated("limits");
  deps = { secrets: { github: [SECRET], gitlab: [SECRET] }, clusters: iso.services.clusters, deliveries: iso.services.deliveries, queue: iso.services.queue! };
  await iso.services.clusters.add({
    name: "limits-a",
    source: { repoUrl: repoUrl(), branch: "main", path: "guestbook" },
    namespace: "default",
    access: { type: "server", server: "https://127.0.0.1:1" },
    intervalSeconds: 300,
  });
});

const repoUrl = () => `${stackEnv().gitBase}/limits.git`;

function spec(over: Partial<PushSpec> = {}): PushSpec {
  n++;
  return { repoUrl: repoUrl(), ref: "refs/heads/main", before: n.toString(16).padStart(40, "a"), after: n.toString(16).padStart(40, "b"), ...over };
}

/** Sends `s` as `host` with a valid proof through `receiveDelivery`. */
function send(host: HostName, s: PushSpec, delivery: string = randomUUID()) {
  const body = JSON.stringify(pushFor(host, s));
  return receiveDelivery({ headers: headersFor(host, body, delivery, { secret: SECRET }), body }, deps);
}

test("a delivery id over the key limit is 400 and claims and enqueues nothing", async () => {
  const id = "d".repeat(MAX_KEY_BYTES + 10);
  const r = await send("github", spec(), id);
  assert.equal(r.statusCode, 400, JSON.stringify(r.body));
  assert.match(String(r.body.error), /2048-byte key limit/);
  assert.equal(await iso.queueDepth(), 0);
});

test("a branch or a repository URL over the key limit is 400 and enqueues nothing", async () => {
  const branch = await send("gitlab", spec({ ref: `refs/heads/${"b".repeat(10_000)}` }));
  assert.equal(branch.statusCode, 400, JSON.stringify(branch.body).slice(0, 300));
  assert.match(String(branch.body.error), /key limit/);
  const repo = await send("github", spec({ repoUrl: `https://example.com/${"r".repeat(200_000)}.git` }));
  assert.equal(repo.statusCode, 400, JSON.stringify(repo.body).slice(0, 300));
  assert.equal(await iso.queueDepth(), 0);
});

test("a push of ordinary size to the tracked branch still enqueues its cluster", async () => {
  const r = await send("github", spec());
  assert.equal(r.statusCode, 202, JSON.stringify(r.body));
  assert.deepEqual(r.body.clusters, ["limits-a"]);
  assert.equal(await iso.queueDepth(), 1);
});
