/**
 * The alarm digest against DynamoDB Local: a cluster that enters the state of an alarm already
 * in ALARM is named by the next digest, exactly once over consecutive windows; clusters named
 * by the alarm's own notification, clusters that recovered and alarms not in ALARM give none.
 * The alarms' states are the input CloudWatch would give (DescribeAlarms has no local
 * counterpart); the clusters and their drift come from the real tables.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { type AlarmStateInfo, DIGEST_MINUTES, digestNotifications, enteredAt } from "../../shared/notify/digest.js";
import { notifySettings } from "../../shared/notify/notify.js";
import { AlarmStateReader } from "../../shared/notify/read.js";
import { documentClient } from "../../shared/store/client.js";
import type { ClusterStatus } from "../../shared/cluster/status.js";
import { type Isolated, isolated } from "../support/stack.js";

const MIN = 60_000;
const ALARM = "Converge-ClusterDiverged";
// a schedule time on a minute boundary, 2 hours ago
const END = Math.floor((Date.now() - 120 * MIN) / MIN) * MIN;
const settings = notifySettings({ CONVERGE_DIVERGED_ALARM: ALARM, CONVERGE_FAILING_ALARM: "Converge-ClusterFailing", CONVERGE_UI_URL: "https://converge.example/ui/" });
let iso: Isolated;
let reader: AlarmStateReader;

/** A cluster OutOfSync since `minutesBeforeEnd + 15` before END, i.e. entering the diverged state `minutesBeforeEnd` before END. */
async function diverged(name: string, enteredMinutesBeforeEnd: number, sync: ClusterStatus["sync"] = "OutOfSync"): Promise<void> {
  await iso.services.clusters.add(
    { name, source: { repoUrl: "https://git.example/o/r.git", branch: "main", path: "apps" }, namespace: "default", access: { type: "server", server: "https://10.0.0.1" }, intervalSeconds: 300 },
    END - 600 * MIN,
  );
  const since = new Date(END - (enteredMinutesBeforeEnd + 15) * MIN).toISOString();
  const status: ClusterStatus = {
    sync,
    revision: "a".repeat(40),
    counts: { resources: 3, synced: 2, modified: 1, missing: 0, extra: 0 },
    ...(sync === "OutOfSync" ? { outOfSyncSince: since } : {}),
    lastReconcileAt: new Date(END - MIN).toISOString(),
    lastSuccessAt: new Date(END - MIN).toISOString(),
  };
  assert.ok(await iso.services.clusters.setStatus(name, status, Date.now() + 60 * MIN));
  await iso.services.snapshots.putObserved(name, { revision: status.revision!, resources: { "apps/Deployment/default/web": { state: "Modified", paths: ["spec.replicas"] } } });
}

const states = (m: Record<string, AlarmStateInfo>) => ({ states: async (names: string[]) => new Map(names.flatMap((n) => (m[n] ? [[n, m[n]] as const] : []))) });

before(async () => {
  iso = await isolated("digest");
  const cfg = iso.services.config;
  reader = new AlarmStateReader(documentClient(cfg), cfg.tables.clusters, cfg.tables.snapshots);
  await diverged("dg-early", 20); // entered before the window: the alarm's own notification named it
  await diverged("dg-new-1", 3); // entered in the window
  await diverged("dg-new-2", 0); // entered at the window's end (included: the window is (start, end])
  await diverged("dg-next", -2); // enters after this window's end: the next digest's
  await diverged("dg-recovered", 2, "Synced"); // entered, then recovered before the digest
});

test("entry time: OutOfSync since + the diverged minutes", async () => {
  const [x] = (await reader.inAlarm("diverged", END, settings.thresholds)).filter((e) => e.cluster.name === "dg-new-1");
  assert.equal(enteredAt("diverged", x!.cluster, x!.since, settings.thresholds), END - 3 * MIN);
});

test("an alarm in ALARM for 30 minutes: the digest names exactly the clusters that entered in the window, with drift and where to look", async () => {
  const notes = await digestNotifications(settings, reader, states({ [ALARM]: { state: "ALARM", since: END - 30 * MIN } }), END);
  assert.equal(notes.length, 1, "the failing alarm has no state: nothing for it");
  const [n] = notes;
  assert.equal(n!.kind, "diverged");
  assert.deepEqual(n!.named, ["dg-new-1", "dg-new-2"]);
  assert.equal(n!.subject, "Converge ALARM (ongoing): 2 clusters newly diverged: dg-new-1, dg-new-2");
  assert.match(
    n!.message,
    new RegExp(
      `^${ALARM} is still in ALARM \\(since ${new Date(END - 30 * MIN).toISOString()}\\); 2 clusters entered its state between ${new Date(END - DIGEST_MINUTES * MIN).toISOString()} and ${new Date(END).toISOString()}`,
    ),
  );
  assert.ok(n!.message.includes("  drifted: Modified apps/Deployment/default/web (spec.replicas)"), n!.message);
  assert.ok(n!.message.includes("  look: converge diff --cluster dg-new-1 · converge drift history --cluster dg-new-1 · https://converge.example/ui/#/clusters/dg-new-1"), n!.message);
});

test("consecutive windows name each entering cluster exactly once", async () => {
  const alarm = states({ [ALARM]: { state: "ALARM", since: END - 60 * MIN } });
  const named: string[] = [];
  for (let end = END - 30 * MIN; end <= END + 10 * MIN; end += DIGEST_MINUTES * MIN) {
    for (const n of await digestNotifications(settings, reader, alarm, end)) named.push(...n.named);
  }
  assert.deepEqual(named.sort(), ["dg-early", "dg-new-1", "dg-new-2", "dg-next"]);
});

test("the alarm changed state inside the window: clusters entered before the change were named by its notification, later ones by the digest", async () => {
  const notes = await digestNotifications(settings, reader, states({ [ALARM]: { state: "ALARM", since: END - 2 * MIN } }), END);
  assert.deepEqual(
    notes.flatMap((n) => n.named),
    ["dg-new-2"],
  );
});

test("an alarm OK or unknown to CloudWatch: no digest and no read", async () => {
  const none = { inAlarm: () => Promise.reject(new Error("no read")), drifted: () => Promise.reject(new Error("no read")) };
  assert.deepEqual(await digestNotifications(settings, none, states({ [ALARM]: { state: "OK", since: END - 30 * MIN } }), END), []);
  assert.deepEqual(await digestNotifications(settings, none, states({}), END), []);
});
