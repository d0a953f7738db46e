/** The query API function on DynamoDB Local, called with HTTP API (payload 2.0) events. */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { isolated, type Isolated } from "../support/stack.js";
import { localContext } from "../../tools/local/lambda.js";

let iso: Isolated;
let handler: (e: APIGatewayProxyEventV2, c: unknown) => Promise<{ statusCode: number; body: string }>;

const get = async (path: string, query: Record<string, string> = {}) => {
  const event = { version: "2.0", rawPath: path, queryStringParameters: query, requestContext: { http: { method: "GET", path } }, headers: {} } as unknown as APIGatewayProxyEventV2;
  const r = await handler(event, localContext("converge-api"));
  return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> };
};

before(async () => {
  iso = await isolated("api");
  Object.assign(process.env, iso.env);
  for (const name of ["east", "west", "north"]) {
    await iso.services.clusters.add({
      name,
      source: { repoUrl: "https://github.com/acme/deploy", branch: "main", path: name },
      namespace: "default",
      access: { type: "server", server: "https://127.0.0.1:1" },
      intervalSeconds: 300,
    });
  }
  const at = new Date(Date.now() - 3600_000).toISOString();
  await iso.services.events.put([
    {
      cluster: "east",
      at,
      resource: "apps/Deployment/web/api",
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "web",
      name: "api",
      from: "Synced",
      to: "Modified",
      paths: ["spec.replicas"],
      revision: "a".repeat(40),
    },
  ]);
  handler = (await import("../../functions/api/index.js")).handler as unknown as typeof handler;
});

test("the central view, paginated", async () => {
  const first = await get("/clusters", { limit: "2" });
  assert.equal(first.status, 200);
  assert.equal((first.body.clusters as unknown[]).length, 2);
  const second = await get("/clusters", { limit: "2", cursor: String(first.body.cursor) });
  assert.equal((second.body.clusters as unknown[]).length, 1);
  const one = await get("/clusters/east");
  assert.equal((one.body.status as { sync: string }).sync, "Unknown");
});

test("drift history by cluster, by resource, across clusters", async () => {
  const byCluster = await get("/clusters/east/drift", { since: "2h" });
  assert.equal((byCluster.body.events as { to: string }[])[0]!.to, "Modified");
  assert.equal(((await get("/clusters/east/drift", { since: "30m" })).body.events as unknown[]).length, 0, "since is honoured");
  const byResource = await get(`/resources/${encodeURIComponent("apps/Deployment/web/api")}/drift`);
  assert.equal((byResource.body.events as unknown[]).length, 1);
  const all = await get("/drift", { since: "2h" });
  assert.equal((all.body.events as { cluster: string }[])[0]!.cluster, "east");
});

test("bad input is a 4xx with the reason", async () => {
  assert.equal((await get("/clusters/nope")).status, 404);
  const limit = await get("/clusters", { limit: "9999" });
  assert.equal(limit.status, 400);
  assert.match(String(limit.body.error), /limit/);
  const since = await get("/drift", { since: "30d" });
  assert.equal(since.status, 400);
  assert.match(String(since.body.error), /at most 7 days/);
  assert.equal((await get("/clusters", { cursor: "garbage" })).status, 400);
  assert.equal((await get("/nowhere")).status, 404);
});
