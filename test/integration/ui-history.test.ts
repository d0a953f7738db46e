/**
 * What the central view's pages read is stored by the reconcile when it happens, on a real
 * cluster: the cluster's sync status changes (status bands, fleet chart), drift events with the
 * changed values (a new value at the same path is a new event), the observed state with every
 * resource's drift, values and health (the resource table) — Secret values only ever as
 * `sha256:` digests — and the query routes that serve them.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileDeps } from "../../shared/services.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { handleQuery } from "../../shared/api/query.js";

const [k1] = stackEnv().clusters;
const NS = "ui-hist";
let iso: Isolated;

const secret = (password: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: ${NS}\nstringData:\n  password: ${password}\n`;
const configMap = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${NS}\ndata:\n  mode: fast\n`;

const reconcile = async () => (await reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster: "hist", reason: "tick", enqueuedAt: new Date().toISOString() }))!;
const applyLive = (yaml: string) => {
  const file = join(process.env.CONVERGE_TEST_WORK ?? "/tmp", `ui-hist-${Date.now()}.yaml`);
  writeFileSync(file, yaml);
  kubectl(k1!, "apply", "-f", file);
};
const query = async (path: string, q: Record<string, string> = {}) =>
  (await handleQuery({ method: "GET", path, query: q }, { clusters: iso.services.clusters, events: iso.services.events, operations: iso.services.operations, snapshots: iso.services.snapshots }))
    .body as Record<string, unknown>;

before(async () => {
  iso = await isolated("uihist");
  Object.assign(process.env, iso.env);
  const repo = exampleRepo(`uihist-${Date.now()}`);
  mkdirSync(join(repo.work, "ui-hist"));
  writeFileSync(join(repo.work, "ui-hist", "secret.yaml"), secret("s3cr3t-in-git"));
  writeFileSync(join(repo.work, "ui-hist", "settings.yaml"), configMap);
  repo.git("add", "ui-hist");
  repo.git("commit", "-q", "-m", "ui history app");
  repo.push();
  kubectl(k1!, "create", "namespace", NS);
  applyLive(`${configMap}---\n${secret("live-value-one")}`);
  await iso.services.clusters.add({
    name: "hist",
    labels: { env: "test" },
    source: { repoUrl: repo.url, branch: "master", path: "ui-hist" },
    namespace: NS,
    access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
    intervalSeconds: 300,
  });
});

test("a Secret that differs: the sync change, the event and the observed state hold digests, never the values", async () => {
  const out = await reconcile();
  assert.equal(out.status.sync, "OutOfSync");
  assert.deepEqual(
    (await iso.services.events.syncChanges("hist")).map((c) => [c.from, c.to]),
    [["Unknown", "OutOfSync"]],
  );
  const events = await iso.services.events.byCluster("hist");
  assert.equal(events.length, 1);
  const change = events[0]!.changes?.[0];
  assert.equal(change?.path, "data.password");
  assert.match(String(change?.desired), /^sha256:[0-9a-f]{64}$/);
  assert.match(String(change?.live), /^sha256:[0-9a-f]{64}$/);
  assert.notEqual(change?.desired, change?.live);
  const observed = await iso.services.snapshots.getObserved("hist");
  assert.deepEqual(Object.keys(observed!.inventory!).sort(), ["/ConfigMap/ui-hist/settings", "/Secret/ui-hist/db"]);
  assert.deepEqual(observed!.resources["/Secret/ui-hist/db"]!.changes, events[0]!.changes);
  const resources = await query("/clusters/hist/resources");
  const rows = resources.resources as { key: string; state: string; changes?: unknown[] }[];
  assert.deepEqual(
    rows.map((r) => [r.key, r.state]),
    [
      ["/ConfigMap/ui-hist/settings", "Synced"],
      ["/Secret/ui-hist/db", "Modified"],
    ],
  );
  for (const stored of [JSON.stringify(events), JSON.stringify(observed), JSON.stringify(resources)]) {
    assert.doesNotMatch(stored, /s3cr3t-in-git|live-value-one/);
    assert.doesNotMatch(stored, new RegExp(Buffer.from("live-value-one").toString("base64")));
  }
});

test("a new live value at the same path is a new event; a quiet reconcile writes none", async () => {
  const before = (await iso.services.events.byCluster("hist"))[0]!;
  applyLive(secret("live-value-two"));
  await reconcile();
  const events = await iso.services.events.byCluster("hist");
  assert.equal(events.length, 2);
  assert.deepEqual([events[1]!.from, events[1]!.to], ["Modified", "Modified"]);
  assert.notEqual(events[1]!.changes![0]!.live, before.changes![0]!.live, "the event holds the new live digest");
  assert.equal(events[1]!.changes![0]!.desired, before.changes![0]!.desired);
  await reconcile();
  assert.equal((await iso.services.events.byCluster("hist")).length, 2, "nothing changed: no event");
  assert.equal((await iso.services.events.syncChanges("hist")).length, 1, "still OutOfSync: no sync change");
});

test("back in sync: one event, one sync change, served by the query routes", async () => {
  applyLive(secret("s3cr3t-in-git"));
  assert.equal((await reconcile()).status.sync, "Synced");
  const events = await iso.services.events.byCluster("hist");
  assert.deepEqual([events.at(-1)!.from, events.at(-1)!.to], ["Modified", "Synced"]);
  const changes = (await query("/clusters/hist/sync-changes", { since: "1h" })).changes as { from: string; to: string }[];
  assert.deepEqual(
    changes.map((c) => [c.from, c.to]),
    [
      ["Unknown", "OutOfSync"],
      ["OutOfSync", "Synced"],
    ],
  );
  const series = await query("/fleet/history", { since: "1h", points: "10" });
  assert.equal((series.synced as number[]).at(-1), 1);
  assert.ok(
    (series.outOfSync as number[]).some((n) => n === 1),
    "the cluster was OutOfSync within the hour",
  );
  const fleet = await query("/fleet", { selector: "env=test" });
  assert.deepEqual(
    (fleet.clusters as { name: string; sync: string }[]).map((c) => [c.name, c.sync]),
    [["hist", "Synced"]],
  );
  const rows = (await query("/clusters/hist/resources")).resources as { state: string }[];
  assert.deepEqual(
    rows.map((r) => r.state),
    ["Synced", "Synced"],
  );
});
