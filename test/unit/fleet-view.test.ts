/**
 * The pure parts of the central view: label selectors (Kubernetes' syntax and semantics, label
 * validation of registrations), the fleet list's filters, sort, counts and paging, and the
 * fleet series rebuilt from current statuses and stored sync changes.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatLabels, matchesSelector, parseLabelFlags, parseSelector, SelectorError } from "../../shared/cluster/selector.js";
import { parseClusterSpec, ValidationError } from "../../shared/cluster/spec.js";
import { fleetRow, fleetSeries, FleetView, type FleetRow } from "../../shared/api/fleet.js";
import type { SyncChange } from "../../shared/store/events.js";

describe("label selectors", () => {
  const prod = { env: "prod", tier: "web" };
  const dev = { env: "dev" };
  const none = {};
  const m = (sel: string, labels: Record<string, string>) => matchesSelector(parseSelector(sel), labels);

  test("equality, inequality, sets, existence, as Kubernetes defines them", () => {
    assert.equal(m("env=prod", prod), true);
    assert.equal(m("env==prod", prod), true);
    assert.equal(m("env=prod", dev), false);
    assert.equal(m("env!=prod", dev), true);
    assert.equal(m("env!=prod", none), true, "!= matches clusters without the key");
    assert.equal(m("env in (prod, staging)", prod), true);
    assert.equal(m("env in (staging)", prod), false);
    assert.equal(m("env notin (prod)", none), true, "notin matches clusters without the key");
    assert.equal(m("tier", prod), true);
    assert.equal(m("!tier", prod), false);
    assert.equal(m("!tier", dev), true);
    assert.equal(m("env=prod,tier=web", prod), true);
    assert.equal(m("env=prod,tier in (api,db)", prod), false);
    assert.equal(m("", none), true, "the empty selector matches everything");
    assert.equal(m("example.com/owner=team-a", { "example.com/owner": "team-a" }), true);
    assert.equal(m("env=", { env: "" }), true);
  });

  test("what does not parse says where", () => {
    for (const [sel, msg] of [
      ["env in prod", /cannot parse "env in prod"/],
      ["env=prod,,tier=web", /empty requirement/],
      ["-env=prod", /invalid label key "-env"/],
      ["env=pr od", /cannot parse/],
      ["env=-x", /invalid label value "-x"/],
    ] as const) {
      assert.throws(
        () => parseSelector(sel),
        (e: Error) => e instanceof SelectorError && msg.test(e.message),
        sel,
      );
    }
  });

  test("--label flags and labels in a registration", () => {
    assert.deepEqual(parseLabelFlags(["env=prod", "team-", "tier="]), { set: { env: "prod", tier: "" }, remove: ["team"] });
    assert.throws(() => parseLabelFlags(["env"]), /expected key=value/);
    assert.equal(formatLabels({ tier: "web", env: "prod" }), "env=prod,tier=web");
    const base = {
      name: "c",
      source: { repoUrl: "https://github.com/a/b", branch: "main", path: "" },
      namespace: "default",
      access: { type: "server", server: "https://127.0.0.1:1" },
      intervalSeconds: 60,
    };
    assert.deepEqual(parseClusterSpec(base).labels, {}, "labels default to none");
    assert.deepEqual(parseClusterSpec({ ...base, labels: { "example.com/env": "prod" } }).labels, { "example.com/env": "prod" });
    assert.throws(
      () => parseClusterSpec({ ...base, labels: { "bad key": "x" } }),
      (e: Error) => e instanceof ValidationError && /labels.*invalid label key/.test(e.message),
    );
    assert.throws(() => parseClusterSpec({ ...base, labels: { env: "x".repeat(64) } }), /invalid label value/);
  });
});

const at = (min: number) => new Date(Date.UTC(2026, 10, 23, 12, min)).toISOString();
const row = (name: string, sync: FleetRow["sync"], extra: Record<string, unknown> = {}): FleetRow =>
  fleetRow({
    name,
    createdAt: at(0),
    spec: { labels: extra.labels ?? {}, syncPolicy: "detect", source: { repoUrl: "https://github.com/a/b", branch: "main", path: name } },
    status: { sync, counts: { resources: 3, synced: 3, modified: Number(extra.modified ?? 0), missing: 0, extra: 0 }, lastSuccessAt: at(1), ...(extra.health ? { health: extra.health } : {}) },
  });

describe("the fleet list", () => {
  const rows = [
    row("a", "Synced", { labels: { env: "prod" }, health: "Healthy" }),
    row("b", "OutOfSync", { labels: { env: "prod" }, modified: 2, health: "Healthy" }),
    row("c", "Error", { labels: { env: "dev" } }),
    row("d", "OutOfSync", { labels: { env: "dev" }, modified: 5, health: "Degraded" }),
  ];
  const view = new FleetView(async () => rows, 60_000);

  test("filters by status, health, selector and text; counts say what each status would show", async () => {
    const p = await view.page({ sync: ["OutOfSync"], selector: parseSelector("env=prod") });
    assert.deepEqual(
      p.clusters.map((c) => c.name),
      ["b"],
    );
    assert.equal(p.total, 4);
    assert.equal(p.matched, 1);
    assert.deepEqual(p.counts.sync, { Synced: 1, OutOfSync: 1, Unknown: 0, Error: 0 }, "counts over the selector, the status filter left out");
    assert.deepEqual(
      (await view.page({ health: ["None"] })).clusters.map((c) => c.name),
      ["c"],
    );
    assert.deepEqual(
      (await view.page({ text: "ENV=DEV" })).clusters.map((c) => c.name),
      ["c", "d"],
    );
  });

  test("sorts on the server and pages", async () => {
    assert.deepEqual(
      (await view.page({ sort: "drifted", order: "desc" })).clusters.map((c) => c.name),
      ["d", "b", "a", "c"],
    );
    assert.deepEqual(
      (await view.page({ sort: "sync" })).clusters.map((c) => c.name),
      ["a", "b", "d", "c"],
    );
    const second = await view.page({ offset: 2, limit: 1 });
    assert.deepEqual(
      second.clusters.map((c) => c.name),
      ["c"],
    );
    assert.equal(second.matched, 4);
  });

  test("the rows are read once and kept", async () => {
    let reads = 0;
    const v = new FleetView(async () => (reads++, rows), 60_000);
    await Promise.all([v.page({}), v.page({}), v.page({})]);
    assert.equal(reads, 1);
  });
});

describe("the fleet series", () => {
  test("current statuses walked back through the sync changes; clusters counted from their registration; short episodes kept", () => {
    const rows = [row("a", "OutOfSync"), row("b", "Synced"), { ...row("c", "Error"), createdAt: at(30) }];
    const changes: SyncChange[] = [
      { cluster: "a", at: at(10), from: "Synced", to: "OutOfSync" },
      { cluster: "b", at: at(20), from: "Synced", to: "OutOfSync" },
      { cluster: "b", at: at(40), from: "OutOfSync", to: "Synced" },
      { cluster: "c", at: at(35), from: "Unknown", to: "Error" },
      { cluster: "gone", at: at(15), from: "Synced", to: "Error" },
    ];
    const s = fleetSeries(rows, changes, Date.parse(at(0)), Date.parse(at(60)), 6); // every 10 minutes
    assert.deepEqual(
      s.t,
      [0, 10, 20, 30, 40, 50, 60].map((m) => Date.parse(at(m))),
    );
    // each point: the most clusters in that status since the previous point
    assert.deepEqual(s.outOfSync, [0, 1, 2, 2, 2, 1, 1]);
    assert.deepEqual(s.synced, [2, 2, 1, 0, 1, 1, 1]);
    assert.deepEqual(s.error, [0, 0, 0, 0, 1, 1, 1]);
    assert.deepEqual(s.unknown, [0, 0, 0, 1, 1, 0, 0], "c is counted from its registration at :30 (Unknown until its first reconcile at :35)");
  });
});
