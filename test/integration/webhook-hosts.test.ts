/**
 * One webhook URL for every Git host, on real DynamoDB Local and ElasticMQ behind a local
 * Function URL: for GitHub, GitLab, Bitbucket Cloud, Bitbucket Data Center, Gitea and Azure
 * DevOps, each host's documented push payload (test/fixtures/webhooks) signed or authenticated
 * the way that host does enqueues exactly the clusters tracking the repository and branch; a
 * forged, missing or retired proof is 401, a replay 200 with nothing enqueued, an oversized body
 * 413 before parsing, tag pushes and branch deletions 202 "ignored". The webhook secret lists two
 * secrets per host, as during a rotation.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { HOST_NAMES, type HostName } from "../../shared/webhook/host.js";
import { HOSTS, receiveDelivery } from "../../shared/webhook/receive.js";
import { parseWebhookSecrets } from "../../shared/webhook/secrets.js";
import { serveFunctionUrl } from "../../tools/local/lambda.js";
import { isolated, stackEnv, type Isolated, drainTasks } from "../support/stack.js";
import { fixture, pushFor, sendAs, type PushSpec } from "../support/webhooks.js";

const ZERO = "0".repeat(40);
const MAX_BYTES = 64 * 1024;
/** Per host: the current secret, the previous one (still accepted), and one retired before. */
const secretOf = (host: HostName, which: "current" | "previous" | "retired") => (host === "azure-devops" ? `converge:${which}-password` : `${host}-${which}-secret`);

let iso: Isolated;
let url: string;
let close: () => Promise<void>;

before(async () => {
  iso = await isolated("hosts");
  const secrets = Object.fromEntries(HOST_NAMES.map((h) => [h, [secretOf(h, "current"), secretOf(h, "previous")]]));
  Object.assign(process.env, iso.env, { CONVERGE_WEBHOOK_SECRETS: JSON.stringify(secrets), CONVERGE_WEBHOOK_MAX_BYTES: String(MAX_BYTES) });
  delete process.env.CONVERGE_WEBHOOK_SECRET;
  for (const host of HOST_NAMES) {
    const repo = repoOf(host);
    for (const [name, repoUrl, branch] of [
      [`${host}-a`, repo, "main"],
      [`${host}-b`, repo, "main"],
      [`${host}-dev`, repo, "dev"],
      [`${host}-other`, `${stackEnv().gitBase}/other-${host}.git`, "main"],
    ] as const) {
      await iso.services.clusters.add({ name, source: { repoUrl, branch, path: "guestbook" }, namespace: "default", access: { type: "server", server: "https://127.0.0.1:1" }, intervalSeconds: 300 });
    }
  }
  const webhook = await import("../../functions/webhook/index.js");
  const served = await serveFunctionUrl(webhook.handler as Parameters<typeof serveFunctionUrl>[0]);
  url = served.url;
  close = served.close;
});

after(async () => close?.());

/** The repository a host's clusters track, on the test bed's Git server. */
function repoOf(host: HostName): string {
  return `${stackEnv().gitBase}/hooks-${host}.git`;
}

let counter = 0;
/** A fresh pair of commit ids, so no two pushes of this file share a FIFO deduplication id. */
function commits(): { before: string; after: string } {
  counter++;
  return { before: counter.toString(16).padStart(40, "a"), after: counter.toString(16).padStart(40, "b") };
}

function branchPush(host: HostName, branch = "main"): PushSpec {
  return { repoUrl: repoOf(host), ref: `refs/heads/${branch}`, ...commits() };
}

test("each host's documented push payload reads as one branch push with its repository's URLs", () => {
  const expected: Record<HostName, { branch: string; after: string; url: string; changed?: string[] }> = {
    github: { branch: "master", after: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", url: "https://github.com/Codertocat/Hello-World.git", changed: ["README.md"] },
    // total_commits_count (4) is above the 2 listed commits: the file list is incomplete
    gitlab: { branch: "master", after: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", url: "http://example.com/mike/diaspora.git" },
    gitea: { branch: "develop", after: "bffeb74224043ba2feb48d137756c8a9331c449a", url: "http://localhost:3000/gitea/webhooks.git" },
    "bitbucket-cloud": { branch: "name-of-branch", after: "709d658dc5b6d6afcd46049c2f332ee3f515a67d", url: "https://api.bitbucket.org/bitbucket/bitbucket" },
    "bitbucket-server": { branch: "master", after: "22671f0349857934857983457983475ec39f196b", url: "https://bitbucketserver/scm/myproject/test-repo.git" },
    // the documented Azure DevOps sample anonymizes its object ids (not commit ids)
    "azure-devops": { branch: "main", after: "e4e4e4e4-ffff-aaaa-bbbb-c5c5c5c5c5c5", url: "https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/_git/Fabrikam-Fiber-Git" },
  };
  const headers: Record<HostName, Record<string, string>> = {
    github: { "x-github-event": "push", "x-github-delivery": "d" },
    gitlab: { "x-gitlab-event": "Push Hook", "x-gitlab-event-uuid": "d" },
    gitea: { "x-gitea-event": "push", "x-gitea-delivery": "d", "x-github-event": "push" },
    "bitbucket-cloud": { "x-event-key": "repo:push", "x-request-uuid": "d" },
    "bitbucket-server": { "x-event-key": "repo:refs_changed", "x-request-id": "d" },
    "azure-devops": { "x-vss-activityid": "a" },
  };
  for (const name of HOST_NAMES) {
    const host = HOSTS.find((x) => x.recognises(headers[name]))!;
    assert.equal(host.name, name, `headers of ${name} recognised as ${host.name}`);
    const meaning = host.interpret(headers[name], fixture(name));
    assert.ok("pushes" in meaning, `${name}: ${JSON.stringify(meaning)}`);
    assert.equal(meaning.pushes.length, 1, name);
    const [p] = meaning.pushes;
    assert.equal(p!.host, name);
    assert.equal(p!.branch, expected[name].branch, name);
    assert.equal(p!.after, expected[name].after, name);
    assert.equal(p!.deleted, false, name);
    assert.ok(p!.repoUrls.includes(expected[name].url), `${name}: ${p!.repoUrls.join(" ")}`);
    assert.deepEqual(p!.changed, expected[name].changed, `${name} changed paths`);
  }
});

for (const host of HOST_NAMES) {
  test(`${host}: a push enqueues exactly the clusters tracking its repository and branch`, async () => {
    await drainTasks(iso);
    const spec = branchPush(host);
    const r = await sendAs(url, host, pushFor(host, spec), { secret: secretOf(host, "current") });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.host, host);
    assert.equal(r.body.branch, "main");
    assert.equal(r.body.revision, spec.after);
    assert.deepEqual(r.body.clusters, [`${host}-a`, `${host}-b`]);
    const tasks = await drainTasks(iso);
    assert.deepEqual(tasks.map((t) => t.cluster).sort(), [`${host}-a`, `${host}-b`]);
    for (const t of tasks) assert.equal(t.revision, spec.after);
    assert.ok(tasks.every((t) => t.reason === "push" && t.deliveryId === r.delivery));
  });

  test(`${host}: a forged or missing proof is 401 and enqueues nothing`, async () => {
    const payload = pushFor(host, branchPush(host));
    const forged = await sendAs(url, host, payload, { secret: "forged-by-someone" });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.host, host);
    const missing = await sendAs(url, host, payload, { secret: secretOf(host, "current"), proof: null });
    assert.equal(missing.status, 401);
    assert.match(String(missing.body.error), /missing/);
    assert.deepEqual(await drainTasks(iso), []);
  });

  test(`${host}: during a rotation the previous secret is accepted, a retired one is 401`, async () => {
    const prev = await sendAs(url, host, pushFor(host, branchPush(host)), { secret: secretOf(host, "previous") });
    assert.equal(prev.status, 202, JSON.stringify(prev.body));
    assert.equal((await drainTasks(iso)).length, 2);
    const retired = await sendAs(url, host, pushFor(host, branchPush(host)), { secret: secretOf(host, "retired") });
    assert.equal(retired.status, 401);
    assert.deepEqual(await drainTasks(iso), []);
  });

  test(`${host}: a replayed delivery is 200 and enqueues nothing more`, async () => {
    const payload = pushFor(host, branchPush(host));
    const first = await sendAs(url, host, payload, { secret: secretOf(host, "current") });
    assert.equal(first.status, 202);
    assert.equal((await drainTasks(iso)).length, 2);
    const replay = await sendAs(url, host, payload, { secret: secretOf(host, "current"), delivery: first.delivery });
    assert.equal(replay.status, 200);
    assert.equal(replay.body.duplicate, true);
    assert.equal(replay.body.enqueued, 0);
    assert.deepEqual(await drainTasks(iso), []);
  });

  test(`${host}: a body over the cap is 413 before it is parsed or its proof checked`, async () => {
    const notJson = `{"ref": "refs/heads/main", "padding": "${"x".repeat(MAX_BYTES)}`;
    const r = await sendAs(url, host, {}, { secret: "wrong", rawBody: notJson });
    assert.equal(r.status, 413);
    assert.match(String(r.body.error), /exceeds the 65536-byte limit/);
  });

  test(`${host}: a tag push and a branch deletion are 202 ignored and enqueue nothing`, async () => {
    const { before: b, after: a } = commits();
    const tag = await sendAs(url, host, pushFor(host, { repoUrl: repoOf(host), ref: "refs/tags/v1.0.0", before: ZERO, after: a }), {
      secret: secretOf(host, "current"),
      event: host === "gitlab" ? "Tag Push Hook" : undefined,
    });
    assert.equal(tag.status, 202, JSON.stringify(tag.body));
    assert.match(String(tag.body.ignored), /tag|not a branch/);
    const del = await sendAs(url, host, pushFor(host, { repoUrl: repoOf(host), ref: "refs/heads/main", before: b, after: ZERO }), { secret: secretOf(host, "current") });
    assert.equal(del.status, 202, JSON.stringify(del.body));
    assert.match(String(del.body.ignored), /deleted/);
    assert.deepEqual(await drainTasks(iso), []);
  });
}

test("a push to a branch no cluster tracks is 202 with nothing enqueued; the dev cluster gets its own branch", async () => {
  const none = await sendAs(url, "gitlab", pushFor("gitlab", branchPush("gitlab", "feature")), { secret: secretOf("gitlab", "current") });
  assert.equal(none.status, 202);
  assert.equal(none.body.enqueued, 0);
  const dev = await sendAs(url, "bitbucket-server", pushFor("bitbucket-server", branchPush("bitbucket-server", "dev")), { secret: secretOf("bitbucket-server", "current") });
  assert.deepEqual(dev.body.clusters, ["bitbucket-server-dev"]);
  assert.deepEqual(
    (await drainTasks(iso)).map((t) => t.cluster),
    ["bitbucket-server-dev"],
  );
});

test("Bitbucket Data Center's connection test (diagnostics:ping) is 200", async () => {
  const r = await sendAs(url, "bitbucket-server", { test: true }, { secret: secretOf("bitbucket-server", "current"), event: "diagnostics:ping" });
  assert.equal(r.status, 200);
  assert.equal(r.body.event, "ping");
});

test("a request no host's headers describe is 401", async () => {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(fixture("github")) });
  assert.equal(res.status, 401);
  assert.match(String(((await res.json()) as { error: string }).error), /unrecognised sender/);
});

test("a host with no secret configured is refused with 401 and the reason", async () => {
  const secrets = parseWebhookSecrets(JSON.stringify({ github: "only-github" }));
  const body = JSON.stringify(pushFor("gitlab", branchPush("gitlab")));
  const r = await receiveDelivery(
    { headers: { "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "anything", "X-Gitlab-Event-UUID": "u-1" }, body },
    { secrets, clusters: iso.services.clusters, deliveries: iso.services.deliveries, queue: iso.services.queue! },
  );
  assert.equal(r.statusCode, 401);
  assert.equal(r.body.error, "no webhook secret is configured for gitlab");
  assert.deepEqual(await drainTasks(iso), []);
});

test("the webhook secret: a plain string is the GitHub secret, JSON lists secrets per host, unknown keys are refused", () => {
  assert.deepEqual(parseWebhookSecrets("s3cr3t"), { github: ["s3cr3t"] });
  assert.deepEqual(parseWebhookSecrets('{"gitlab": "t", "azure-devops": ["u:p", "u:q"]}'), { gitlab: ["t"], "azure-devops": ["u:p", "u:q"] });
  assert.throws(() => parseWebhookSecrets('{"gihtub": ["x"]}'), /unknown host key\(s\) gihtub/);
  assert.throws(
    () => parseWebhookSecrets('{"github": [""]}'),
    (err: Error) => !err.message.includes('""') && /github/.test(err.message),
  );
});
