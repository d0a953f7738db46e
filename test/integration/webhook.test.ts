/**
 * The webhook function's answers to bad input, on real DynamoDB Local and ElasticMQ behind a
 * local Function URL: nothing is enqueued for any of them.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { isolated, stackEnv, type Isolated } from "../support/stack.js";
import { deliver, pushPayload } from "../support/github.js";
import { serveFunctionUrl } from "../../tools/local/lambda.js";

const SECRET = "webhook-test-secret";
let iso: Isolated;
let url: string;
let close: () => Promise<void>;
let repoUrl: string;

before(async () => {
  iso = await isolated("hook");
  Object.assign(process.env, iso.env, { CONVERGE_WEBHOOK_SECRET: SECRET, CONVERGE_WEBHOOK_MAX_BYTES: String(64 * 1024) });
  repoUrl = `${stackEnv().gitBase}/argocd-example-apps.git`;
  await iso.services.clusters.add({
    name: "tracker",
    source: { repoUrl, branch: "master", path: "guestbook" },
    namespace: "default",
    access: { type: "server", server: "https://127.0.0.1:1" },
    intervalSeconds: 300,
  });
  const webhook = await import("../../functions/webhook/index.js");
  const served = await serveFunctionUrl(webhook.handler as Parameters<typeof serveFunctionUrl>[0]);
  url = served.url;
  close = served.close;
});

after(async () => close?.());

const payload = () => pushPayload(repoUrl, "master", "1".repeat(40), "2".repeat(40));

test("ping answers 200 and enqueues nothing", async () => {
  const r = await deliver(url, { zen: "Keep it logically awesome.", hook_id: 1 }, { secret: SECRET, event: "ping" });
  assert.equal(r.status, 200);
  assert.equal(await iso.queueDepth(), 0);
});

test("a body over the cap is 413 before its signature is even checked", async () => {
  const big = { ...payload(), padding: "x".repeat(70 * 1024) };
  const r = await deliver(url, big, { secret: "wrong" });
  assert.equal(r.status, 413);
  assert.match(String(r.body.error), /exceeds the 65536-byte limit/);
});

test("a tampered body with a once-valid signature is 401", async () => {
  const body = JSON.stringify(payload());
  const { sign } = await import("@octokit/webhooks-methods");
  const signature = await sign(SECRET, body);
  const r = await deliver(url, undefined, { secret: SECRET, rawBody: body.replace("master", "main"), signature });
  assert.equal(r.status, 401);
});

test("signed malformed JSON is 400 with the parser's reason", async () => {
  const r = await deliver(url, undefined, { secret: SECRET, rawBody: '{"ref": "refs/heads/master", ' });
  assert.equal(r.status, 400);
  assert.match(String(r.body.error), /malformed JSON/);
});

test("signed JSON that is not a push payload is 400", async () => {
  const r = await deliver(url, { hello: "world" }, { secret: SECRET });
  assert.equal(r.status, 400);
  assert.match(String(r.body.error), /not a push payload/);
});

test("tag pushes, branch deletions and other events are accepted and ignored", async () => {
  const tag = await deliver(url, { ...payload(), ref: "refs/tags/v1" }, { secret: SECRET });
  assert.equal(tag.status, 202);
  assert.match(String(tag.body.ignored), /not a branch/);
  const del = await deliver(url, { ...payload(), deleted: true, after: "0".repeat(40) }, { secret: SECRET });
  assert.match(String(del.body.ignored), /deleted/);
  const issue = await deliver(url, { action: "opened" }, { secret: SECRET, event: "issues" });
  assert.equal(issue.status, 202);
  assert.equal(await iso.queueDepth(), 0, "none of the above enqueued anything");
});

test("a push to another branch enqueues nothing; the tracked branch enqueues its cluster once", async () => {
  const other = await deliver(url, { ...payload(), ref: "refs/heads/dev" }, { secret: SECRET });
  assert.equal(other.status, 202);
  assert.equal(other.body.enqueued, 0);
  const ok = await deliver(url, payload(), { secret: SECRET });
  assert.equal(ok.status, 202);
  assert.deepEqual(ok.body.clusters, ["tracker"]);
  assert.equal(ok.body.host, "github", "the answer names the sender");
  // a second delivery id for the same revision (GitHub sends one per hook) is collapsed by the FIFO deduplication id
  const again = await deliver(url, payload(), { secret: SECRET });
  assert.equal(again.status, 202);
  assert.equal(await iso.queueDepth(), 1);
});
