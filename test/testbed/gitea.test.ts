/**
 * The test bed's real Gitea (tools/testbed/gitea.ts, built from the Go module proxy): it
 * starts, a repository is created through its API, two commits are pushed over HTTP with the
 * git CLI, and the second push's webhook it delivers to a local HTTP server carries an `X-Gitea-Signature`
 * that verifies as HMAC-SHA256 of the body with the hook's secret. The delivery received is
 * saved as test/fixtures/webhooks/gitea/push.gitea-<version>.json when that file is missing or
 * CONVERGE_UPDATE_FIXTURES=1 (see test/fixtures/webhooks/README-gitea.md).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GITEA_VERSION, addWebhook, createRepo, pushFiles, type Gitea } from "../../tools/testbed/gitea.js";
import { GITEA_START_TIMEOUT_MS, gitea, stopGitea } from "../support/gitea.js";
import { waitFor } from "../support/wait.js";

const fixture = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "webhooks", "gitea", `push.gitea-${GITEA_VERSION.slice(1)}.json`);

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
}

let g: Gitea;
let server: http.Server;
const deliveries: Delivery[] = [];
let hookUrl = "";

before(
  async () => {
    g = await gitea();
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(202, { "content-type": "application/json" }).end('{"accepted":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  },
  { timeout: GITEA_START_TIMEOUT_MS },
);

after(async () => {
  await new Promise((r) => server?.close(r));
  await stopGitea();
});

test("Gitea answers its API with the version built", async () => {
  const v = await g.api<{ version: string }>("GET", "/version");
  assert.equal(v.version, GITEA_VERSION.slice(1));
  const me = await g.api<{ login: string; is_admin: boolean }>("GET", "/user");
  assert.deepEqual([me.login, me.is_admin], [g.username, true]);
});

test("pushes over HTTP are delivered as signed gitea webhooks to a loopback URL", { timeout: 120_000 }, async () => {
  const repo = await createRepo(g, "deploy");
  assert.equal(repo.full_name, `${g.username}/deploy`);
  const secret = randomBytes(16).toString("hex");
  await addWebhook(g, repo.full_name, hookUrl, secret);
  const configMap = (color: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook\ndata:\n  color: ${color}\n`;
  const first = await pushFiles(g, repo.full_name, { "guestbook/configmap.yaml": configMap("blue") }, { message: "guestbook: a ConfigMap" });
  const sha = await pushFiles(g, repo.full_name, { "guestbook/configmap.yaml": configMap("green") }, { message: "guestbook: green" });
  assert.match(sha, /^[0-9a-f]{40}$/);

  // the first push creates the branch (before = 0000...); the second is an ordinary branch push
  const d = await waitFor("the second push's delivery", () => deliveries.find((x) => x.headers["x-gitea-event"] === "push" && (JSON.parse(x.body) as { after: string }).after === sha));
  const expected = createHmac("sha256", secret).update(d.body).digest();
  const signature = Buffer.from(String(d.headers["x-gitea-signature"]), "hex");
  assert.equal(signature.length, 32, "X-Gitea-Signature is a hex SHA-256 HMAC");
  assert.ok(timingSafeEqual(signature, expected), "X-Gitea-Signature verifies with the secret");
  assert.equal(d.headers["x-hub-signature-256"], `sha256=${expected.toString("hex")}`, "GitHub's header is sent too");
  assert.match(String(d.headers["x-gitea-delivery"]), /^[0-9a-f-]{36}$/);
  assert.equal(d.headers["content-type"], "application/json");

  const payload = JSON.parse(d.body) as { ref: string; before: string; after: string; repository: { full_name: string; clone_url: string }; commits: { id: string; message: string }[] };
  assert.equal(payload.ref, "refs/heads/main");
  assert.equal(payload.before, first);
  assert.equal(payload.after, sha);
  assert.equal(payload.repository.full_name, repo.full_name);
  assert.equal(payload.repository.clone_url, g.cloneUrl(repo.full_name, false));
  assert.deepEqual(
    payload.commits.map((c) => [c.id, c.message.trim()]),
    [[sha, "guestbook: green"]],
  );

  if (!existsSync(fixture) || process.env.CONVERGE_UPDATE_FIXTURES === "1") {
    mkdirSync(dirname(fixture), { recursive: true });
    const capture = { capturedWith: `Gitea ${GITEA_VERSION} (test/testbed/gitea.test.ts)`, secret, headers: d.headers, body: d.body };
    writeFileSync(fixture, `${JSON.stringify(capture, null, 2)}\n`);
  }
  const saved = JSON.parse(readFileSync(fixture, "utf8")) as Delivery & { secret: string };
  assert.equal(saved.headers["x-gitea-signature"], createHmac("sha256", saved.secret).update(saved.body).digest("hex"), "the saved delivery's signature verifies");
  assert.deepEqual(Object.keys(JSON.parse(saved.body)).sort(), Object.keys(payload).sort(), "the saved payload has the fields Gitea sends today");
});
