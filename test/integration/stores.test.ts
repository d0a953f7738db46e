/** The DynamoDB access patterns on DynamoDB Local: each one the design brief lists. */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { isolated, type Isolated } from "../support/stack.js";
import { documentClient } from "../../shared/store/client.js";
import { PART_BYTES } from "../../shared/store/blobs.js";
import { snapshotKey, type DesiredSnapshot } from "../../shared/store/snapshots.js";
import type { DriftEvent } from "../../shared/store/events.js";

let iso: Isolated;
before(async () => {
  iso = await isolated("stores");
});

const spec = (name: string, repoUrl: string, branch: string) => ({
  name,
  source: { repoUrl, branch, path: "apps" },
  namespace: "default",
  access: { type: "server", server: "https://127.0.0.1:1" },
  intervalSeconds: 60,
});

test("clusters: get, paginated list of all, and tracking repo+branch through the byRepo index in any URL form", async () => {
  const s = iso.services.clusters;
  for (let i = 0; i < 25; i++) await s.add(spec(`c-${String(i).padStart(2, "0")}`, i % 2 ? "https://github.com/Acme/Deploy.git" : "git@github.com:acme/other.git", i % 3 ? "main" : "dev"));
  const page = await s.list({ limit: 10 });
  assert.equal(page.clusters.length, 10);
  assert.ok(page.cursor);
  const seen = new Set(page.clusters.map((c) => c.name));
  let cursor: string = page.cursor;
  while (cursor) {
    const next = await s.list({ limit: 10, cursor });
    for (const c of next.clusters) seen.add(c.name);
    cursor = next.cursor ?? "";
  }
  assert.equal(seen.size, 25);
  const tracking = await s.trackingRepo("git@github.com:acme/deploy", "main");
  const expected = Array.from({ length: 25 }, (_, i) => i)
    .filter((i) => i % 2 === 1 && i % 3 !== 0)
    .map((i) => `c-${String(i).padStart(2, "0")}`);
  assert.deepEqual(tracking.map((c) => c.name).sort(), expected);
  assert.equal((await s.get("c-01"))?.spec.source.repoUrl, "https://github.com/Acme/Deploy.git");
  await s.remove("c-01");
  assert.equal(await s.get("c-01"), undefined);
  await assert.rejects(s.remove("c-01"), /not found/);
});

test("clusters with image updates: the sparse byImageUpdate index holds them alone, following add, update and remove", async () => {
  const s = iso.services.clusters;
  await s.add({ ...spec("img-a", "https://git.example.com/a.git", "main"), imageUpdate: {} });
  await s.add(spec("img-b", "https://git.example.com/a.git", "main"));
  await s.add({ ...spec("img-c", "https://git.example.com/a.git", "main"), imageUpdate: { policyFile: "deploy/images.yaml" } });
  const listed = async () => (await s.listWithImageUpdates()).map((c) => [c.name, c.spec.imageUpdate?.policyFile]);
  assert.deepEqual(await listed(), [
    ["img-a", ".converge/images.yaml"],
    ["img-c", "deploy/images.yaml"],
  ]);
  await s.update("img-a", (sp) => ({ ...sp, imageUpdate: undefined }));
  await s.update("img-b", (sp) => ({ ...sp, imageUpdate: {} }));
  await s.remove("img-c");
  assert.deepEqual(await listed(), [["img-b", ".converge/images.yaml"]]);
  const all = await s.listAll();
  assert.ok(all.length > 1, "the other clusters are still in the table");
});

test("desired snapshots: content-addressed, written once, split under the 400 KB item limit, read back exactly", async () => {
  const key = snapshotKey({ repoUrl: "https://github.com/acme/deploy", revision: "a".repeat(40), path: "apps", options: { type: "directory", recursive: true } });
  assert.equal(
    key,
    snapshotKey({ repoUrl: "git@github.com:ACME/deploy.git", revision: "a".repeat(40), path: "apps", options: { recursive: true, type: "directory" } }),
    "URL form and option order do not matter",
  );
  // incompressible content so the blob really needs several parts
  const objects = Array.from({ length: 40 }, (_, i) => ({
    object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}`, namespace: "default" }, data: { blob: randomBytes(20_000).toString("base64") } },
    source: { file: `apps/cm-${i}.yaml`, line: 1 },
  }));
  const snap: DesiredSnapshot = { key, repoUrl: "https://github.com/acme/deploy", revision: "a".repeat(40), path: "apps", objects, warnings: [], renderedAt: new Date().toISOString() };
  assert.equal(await iso.services.snapshots.putDesired(snap), true, "first writer writes");
  assert.equal(await iso.services.snapshots.putDesired(snap), false, "second writer is refused by the condition");
  assert.deepEqual(await iso.services.snapshots.getDesired(key), snap);
  const db = documentClient(iso.services.config);
  const parts = await db.send(new QueryCommand({ TableName: iso.services.config.tables.snapshots, KeyConditionExpression: "pk = :k", ExpressionAttributeValues: { ":k": key } }));
  assert.ok((parts.Items ?? []).length >= 3, `split into ${parts.Items?.length} items`);
  for (const it of parts.Items ?? []) assert.ok((it.data as Uint8Array).byteLength <= PART_BYTES);
});

test("drift events: by cluster and time, by resource across clusters, by time across all clusters", async () => {
  const ev = (cluster: string, at: string, name: string, to: DriftEvent["to"]): DriftEvent => ({
    cluster,
    at,
    resource: `apps/Deployment/default/${name}`,
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: "default",
    name,
    from: "Synced",
    to,
    paths: to === "Modified" ? ["spec.replicas"] : [],
    revision: "b".repeat(40),
  });
  const t = (h: number) => new Date(Date.UTC(2026, 10, 22, h)).toISOString();
  await iso.services.events.put([ev("east", t(1), "web", "Modified"), ev("west", t(2), "web", "Modified"), ev("east", t(23), "api", "Missing"), ev("east", t(3), "web", "Synced")]);
  await iso.services.events.put([ev("east", t(1), "web", "Modified")]); // a redelivered reconcile writes the same key again
  const east = await iso.services.events.byCluster("east");
  assert.deepEqual(
    east.map((e) => [e.at, e.name, e.to]),
    [
      [t(1), "web", "Modified"],
      [t(3), "web", "Synced"],
      [t(23), "api", "Missing"],
    ],
  );
  assert.deepEqual(
    (await iso.services.events.byCluster("east", t(2))).map((e) => e.at),
    [t(3), t(23)],
  );
  const web = await iso.services.events.byResource("apps/Deployment/default/web");
  assert.deepEqual(
    web.map((e) => `${e.cluster}@${e.at}`),
    [`east@${t(1)}`, `west@${t(2)}`, `east@${t(3)}`],
  );
  const all = await iso.services.events.since(t(2), new Date(Date.UTC(2026, 10, 23, 12)));
  assert.deepEqual(
    all.map((e) => e.cluster + e.at),
    [`west${t(2)}`, `east${t(3)}`, `east${t(23)}`],
  );
});

test("webhook deliveries: a conditional claim, once", async () => {
  assert.equal(await iso.services.deliveries.claim("d-1"), true);
  assert.equal(await iso.services.deliveries.claim("d-1"), false);
  await iso.services.deliveries.release("d-1");
  assert.equal(await iso.services.deliveries.claim("d-1"), true, "released after a failed enqueue, GitHub's retry is accepted");
});
