/**
 * `converge ui` in a real browser (Debian's Chromium, headless, driven by playwright-core)
 * against the test bed: real reconciles of the example repository on the two kube-apiservers,
 * DynamoDB Local behind the query layer. The fleet page lists the clusters with their real
 * statuses, filters by label and status, and updates without a reload when a live edit makes a
 * cluster OutOfSync; the cluster page shows the drifted field desired vs live, the timeline and
 * the history; a sync, a rollback and a resume from the page, each confirmed after its dry run,
 * do what the CLI does; a 10,000-cluster registry (written with BatchWriteItem) shows its first
 * page in under a second. Screenshots go to docs/screenshots/.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { ensureChromium, launchChromium } from "./chromium.js";
import { startUi, type UiServer } from "../../cli/ui.js";
import { handleQuery } from "../../shared/api/query.js";
import { reconcileDeps } from "../../shared/services.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { batchWriteAll } from "../../shared/store/client.js";
import { dynamo } from "../../shared/compose/stores.js";
import { parseClusterSpec } from "../../shared/cluster/spec.js";
import { dueShardOf } from "../../shared/store/clusters.js";
import { repoKey } from "../../shared/git/url.js";
import type { SyncChange } from "../../shared/store/events.js";
import { runCli as cli } from "../support/cli.js";

const root = join(fileURLToPath(import.meta.url), "..", "..", "..");
const shots = join(root, "docs", "screenshots");
const [k1, k2] = stackEnv().clusters;
const skip = await ensureChromium();
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
let ui: UiServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let first: string;

const log = (line: string) => console.error(`[ui-test] ${line}`);

/**
 * Reconciles `cluster` as the tick would, until no sync operation is running (and, with
 * `healthy`, until its resources are Healthy: kwok marks a Deployment's pods ready a moment
 * after the apply).
 */
async function settle(cluster: string, opts: { healthy?: boolean } = {}) {
  for (let i = 0; i < 60; i++) {
    const out = await reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster, reason: "tick", enqueuedAt: new Date().toISOString() });
    if (!out?.status.operation && (!opts.healthy || out?.status.health === "Healthy")) return out!;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${cluster}: the operation is still running${opts.healthy ? " or a resource is not Healthy" : ""} after 60 reconciles`);
}

const replicas = () => kubectl(k1!, "-n", "ui-gb", "get", "deployment", "guestbook-ui", "-o", "jsonpath={.spec.replicas}").trim();
const row = (name: string) => page.locator(`tr[data-cluster="${name}"]`);
const rowSync = (name: string) => row(name).locator("td.c-sync .badge");
/**
 * Waits for `n` rows whose last operations are loaded: the operations column widens when they
 * arrive, which re-wraps the messages and moves the rows below, so a click before then can land
 * on another row.
 */
const fleetSettled = (n: number) =>
  page.waitForFunction((count) => {
    const rows = [...document.querySelectorAll("tr[data-cluster]")];
    return rows.length === count && rows.every((r) => r.querySelector("td:nth-child(7)")?.textContent !== "…");
  }, n);
const fleetNames = async () => page.locator("tr[data-cluster]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-cluster")));
/** Waits (up to 10 s) for the rows to be exactly `names`, in order; on a timeout, the assertion shows what the page lists. */
async function showsFleet(names: string[]) {
  const want = JSON.stringify(names);
  await page.waitForFunction((w) => JSON.stringify([...document.querySelectorAll("tr[data-cluster]")].map((r) => r.getAttribute("data-cluster"))) === w, want, { timeout: 10_000 }).catch(() => {});
  assert.deepEqual(await fleetNames(), names);
}

/** Screenshots of the current page in light and dark mode (and at phone width when asked). */
async function screenshots(name: string, opts: { phone?: boolean } = {}) {
  mkdirSync(shots, { recursive: true });
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, `${name}-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: "light" });
  if (opts.phone) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(shots, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  }
}

/** Confirms an action of the cluster page: opens its dialog, checks the dry run, confirms, waits for the result. */
async function confirmAction(button: string, dryRun: RegExp, confirm: string): Promise<string> {
  await page.getByRole("button", { name: button, exact: true }).click();
  const dialog = page.locator("dialog.confirm");
  await dialog.waitFor();
  const dry = dialog.getByTestId("dry-run");
  await dry.waitFor({ timeout: 60_000 });
  assert.match(await dry.innerText(), dryRun);
  await dialog.getByRole("button", { name: confirm, exact: true }).click();
  const result = dialog.getByTestId("action-result");
  await result.waitFor({ timeout: 180_000 });
  const text = await result.innerText();
  await dialog.getByRole("button", { name: "Close" }).click();
  return text;
}

before(async () => {
  if (skip) return;
  iso = await isolated("ui");
  Object.assign(process.env, iso.env);
  repo = exampleRepo(`ui-${Date.now()}`);
  first = repo.git("rev-parse", "HEAD");
  kubectl(k1!, "create", "namespace", "ui-gb");
  kubectl(k2!, "create", "namespace", "ui-stg");
  const add = (name: string, ns: string, c: typeof k1, labels: string[]) =>
    cli(
      "cluster",
      "add",
      name,
      "--repo",
      repo.url,
      "--branch",
      "master",
      "--path",
      "guestbook",
      "--namespace",
      ns,
      "--kubeconfig",
      c!.kubeconfig,
      "--context",
      c!.context,
      "--interval",
      "5m",
      "--sync",
      "apply",
      ...labels.flatMap((l) => ["--label", l]),
    );
  for (const r of [
    await add("guestbook-prod", "ui-gb", k1, ["env=prod", "team=web"]),
    await add("guestbook-staging", "ui-stg", k2, ["env=staging", "team=web"]),
    await cli("cluster", "add", "edge-dev", "--repo", repo.url, "--branch", "master", "--path", "guestbook", "--server", "https://127.0.0.1:1", "--label", "env=dev", "--label", "team=edge"),
  ])
    assert.equal(r.code, 0, r.err);
  const t0 = Date.now();
  for (const name of ["guestbook-prod", "guestbook-staging"]) await settle(name, { healthy: true });
  await settle("edge-dev");
  log(`three clusters registered and reconciled (two applied) in ${Date.now() - t0} ms`);
  ui = await startUi({ services: iso.services, port: 0, fleetMaxAgeMs: 1000, log });
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on("pageerror", (e) => log(`page error: ${e.message}`));
});

after(async () => {
  await browser?.close();
  await ui?.close();
});

test("labels: cluster add/update --label, status -l and the API's selector", { skip }, async () => {
  const upd = await cli("cluster", "update", "guestbook-staging", "--label", "tier=frontend", "--label", "team-");
  assert.equal(upd.code, 0, upd.err);
  assert.deepEqual((await iso.services.clusters.get("guestbook-staging"))!.spec.labels, { env: "staging", tier: "frontend" });
  const prod = await cli("status", "-l", "env=prod");
  assert.match(prod.out, /guestbook-prod +Synced/);
  assert.doesNotMatch(prod.out, /staging|edge-dev/);
  const notProd = await cli("status", "-l", "env in (staging,dev),!team", "-o", "json");
  assert.deepEqual(
    (JSON.parse(notProd.out) as { name: string }[]).map((c) => c.name),
    ["guestbook-staging"],
  );
  assert.equal((await cli("ui", "--port", "http")).code, 2, "converge ui checks its flags");
  const bad = await cli("status", "-l", "env in prod");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /cannot parse "env in prod"/);
  const badLabel = await cli("cluster", "add", "x", "--repo", repo.url, "--server", "https://127.0.0.1:1", "--label", "env=-bad-");
  assert.equal(badLabel.code, 2);
  assert.match(badLabel.err, /invalid label value "-bad-"/);
  const deps = { clusters: iso.services.clusters, events: iso.services.events, operations: iso.services.operations };
  const api = await handleQuery({ method: "GET", path: "/clusters", query: { selector: "env=prod" } }, deps);
  assert.deepEqual(
    (api.body as { clusters: { name: string }[] }).clusters.map((c) => c.name),
    ["guestbook-prod"],
  );
  const fleet = await handleQuery({ method: "GET", path: "/fleet", query: { selector: "team=web", sort: "name" } }, deps);
  assert.deepEqual(
    (fleet.body as { clusters: { name: string }[] }).clusters.map((c) => c.name),
    ["guestbook-prod"],
  );
  assert.equal((await handleQuery({ method: "GET", path: "/fleet", query: { selector: "env in prod" } }, deps)).statusCode, 400);
});

test("the fleet page lists the registered clusters with their real statuses", { skip }, async () => {
  await page.goto(`${ui.url}?poll=1#/`);
  await row("edge-dev").waitFor();
  assert.deepEqual(await fleetNames(), ["edge-dev", "guestbook-prod", "guestbook-staging"]);
  assert.equal(await rowSync("guestbook-prod").innerText(), "Synced");
  assert.equal(await rowSync("guestbook-staging").innerText(), "Synced");
  assert.equal(await rowSync("edge-dev").innerText(), "Unknown");
  assert.equal(await row("guestbook-prod").locator("td").nth(1).innerText(), "Healthy");
  assert.match(await row("edge-dev").locator("td.msg").innerText(), /127\.0\.0\.1:1|cannot|ECONNREFUSED/i);
  assert.match(await row("guestbook-prod").innerText(), new RegExp(first.slice(0, 8)));
  await row("guestbook-prod").locator(".badge", { hasText: "Succeeded" }).waitFor(); // the last operation: the apply of the first revision
  assert.equal(await page.locator('[data-count="total"]').innerText(), "3");
  assert.equal(await page.locator('[data-count="Synced"]').innerText(), "2");
  assert.equal(await page.locator('[data-count="Unknown"]').innerText(), "1");
  await page.locator(".chart canvas").first().waitFor();
});

test("the fleet page filters by label selector, status and text, in the URL", { skip }, async () => {
  await page.fill("#selector", "env=prod");
  await page.press("#selector", "Enter");
  await showsFleet(["guestbook-prod"]);
  assert.match(page.url(), /selector=env%3Dprod/);
  assert.match(await page.locator("#pager-status").innerText(), /1–1 of 1 \(filtered from 3\)/);
  // a label chip adds itself to the selector
  await page.fill("#selector", "");
  await page.press("#selector", "Enter");
  await fleetSettled(3);
  await row("guestbook-staging").getByRole("button", { name: "tier=frontend" }).click();
  await showsFleet(["guestbook-staging"]);
  // a selector that does not parse says why
  await page.fill("#selector", "env in prod");
  await page.press("#selector", "Enter");
  await page.getByRole("alert").filter({ hasText: "cannot parse" }).waitFor();
  await page.fill("#selector", "");
  await page.press("#selector", "Enter");
  await fleetSettled(3);
  // status filter from the summary, then the text search (the "/" key focuses it)
  await page.locator("button.stat", { hasText: "Unknown" }).click();
  await showsFleet(["edge-dev"]);
  await page.locator("button.stat", { hasText: "clusters" }).click();
  await fleetSettled(3);
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "q");
  await page.keyboard.type("staging");
  await showsFleet(["guestbook-staging"]);
  await page.goto(`${ui.url}?poll=1#/`);
  await fleetSettled(3);
});

test("the fleet page updates without a reload when a live edit makes a cluster OutOfSync", { skip }, async () => {
  await page.evaluate(() => {
    (window as unknown as { notReloaded: boolean }).notReloaded = true;
  });
  kubectl(k1!, "-n", "ui-gb", "scale", "deployment", "guestbook-ui", "--replicas=3");
  const out = await settle("guestbook-prod");
  assert.equal(out.status.sync, "OutOfSync");
  const t0 = Date.now();
  await page.waitForFunction(() => document.querySelector('tr[data-cluster="guestbook-prod"] td.c-sync .badge')?.textContent === "OutOfSync", undefined, { timeout: 30_000 });
  log(`the fleet page showed OutOfSync ${Date.now() - t0} ms after the reconcile recorded it (poll 1 s, rows kept 1 s)`);
  assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, "the page was not reloaded");
  await page.waitForFunction(() => document.querySelector('[data-count="OutOfSync"]')?.textContent === "1");
  assert.match(await row("guestbook-prod").locator("td.num").innerText(), /1\s*·\s*0\s*·\s*0/);
  await screenshots("fleet", { phone: true });
});

test("the cluster page shows the drifted field desired vs live, the timeline and the history", { skip }, async () => {
  await row("guestbook-prod").getByRole("link", { name: "guestbook-prod" }).click();
  await page.waitForURL(/#\/clusters\/guestbook-prod/);
  const deployment = page.locator('tr[data-resource="apps/Deployment/ui-gb/guestbook-ui"]');
  await deployment.waitFor();
  assert.equal(await deployment.locator(".badge").first().innerText(), "Modified");
  assert.match(await deployment.innerText(), /Healthy|Progressing/);
  assert.equal(await page.locator('tr[data-resource="/Service/ui-gb/guestbook-ui"] .badge').first().innerText(), "Synced");
  await deployment.getByRole("button", { name: "guestbook-ui" }).click();
  const diff = page.locator("tr.detail table.diff").first();
  await diff.waitFor();
  const cells = await diff.locator("tbody tr").first().locator("th, td").allInnerTexts();
  assert.deepEqual(cells, ["spec.replicas", "1", "3"], "field, desired (Git), live (cluster)");
  // the timeline: Synced then OutOfSync bands, the drift event, the operation that applied the revision
  await page.locator(".bands .band.s-synced").first().waitFor();
  await page.locator(".bands .band.s-outofsync").first().waitFor();
  assert.ok((await page.locator(".lane .mark.dot.s-modified").count()) >= 1);
  assert.ok((await page.locator(".lane .mark.op.s-succeeded").count()) >= 1);
  const history = page.locator("ol.history");
  assert.match(await history.innerText(), /Cluster\s+Synced\s+→\s+OutOfSync/);
  assert.match(await history.innerText(), /Deployment ui-gb\/guestbook-ui\s+Synced\s+→\s+Modified\s+spec\.replicas/);
  // an operation's per-resource results
  await history.locator("li.h-op").last().getByRole("button", { name: "results" }).click();
  const results = history.locator("table.results").first();
  await results.waitFor();
  assert.match(await results.innerText(), /Deployment ui-gb\/guestbook-ui\s+apply\s+Sync 0\s+Synced/);
  await screenshots("cluster", { phone: true });
});

test("a sync from the page brings the cluster back to Synced", { skip }, async () => {
  // by keyboard: Enter opens the confirmation with the dry run, Esc cancels it, nothing changes
  await page.getByRole("button", { name: "Sync with prune", exact: true }).focus();
  await page.keyboard.press("Enter");
  const dry = page.locator("dialog.confirm").getByTestId("dry-run");
  await dry.waitFor({ timeout: 60_000 });
  assert.match(await dry.innerText(), /revision [0-9a-f]{12}: 1 resource\(s\) out of sync\n.*Sync wave 0: apply/s);
  await page.keyboard.press("Escape");
  await page.locator("dialog.confirm").waitFor({ state: "detached" });
  assert.equal(replicas(), "3", "a cancelled confirmation changes nothing");
  const result = await confirmAction("Sync", /Sync wave 0: apply Deployment ui-gb\/guestbook-ui/, "Sync");
  assert.match(result, /Succeeded/);
  await page.locator('[data-testid="cluster-sync"] .badge', { hasText: "Synced" }).waitFor({ timeout: 30_000 });
  assert.equal(replicas(), "1");
  const op = (await iso.services.operations.history("guestbook-prod", { limit: 1 })).operations[0]!;
  assert.equal(op.trigger.type, "manual");
  assert.match((op.trigger as { caller: string }).caller, /\(converge ui\)$/);
});

test("rollback and resume from the page, each after its dry run", { skip }, async () => {
  // a second revision (replicas: 2), synced automatically
  const file = join(repo.work, "guestbook", "guestbook-ui-deployment.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace("replicas: 1", "replicas: 2"));
  repo.git("commit", "-q", "-am", "two replicas");
  const second = repo.push();
  assert.equal((await settle("guestbook-prod")).status.appliedRevision, second);
  assert.equal(replicas(), "2");
  const rolled = await confirmAction("Rollback", /apply Deployment ui-gb\/guestbook-ui/, "Roll back");
  assert.match(rolled, /Succeeded/);
  assert.equal(replicas(), "1");
  assert.equal((await iso.services.clusters.get("guestbook-prod"))!.spec.rollback?.to, first);
  await page.locator(".chip.warn", { hasText: "automated sync paused" }).waitFor({ timeout: 30_000 });
  const resumed = await confirmAction("Resume", /follows branch master again/, "Resume and sync");
  assert.match(resumed, /Succeeded/);
  assert.equal(replicas(), "2");
  assert.equal((await iso.services.clusters.get("guestbook-prod"))!.spec.rollback, undefined);
});

/** A raw HTTP request to the ui server (fetch would not let a test set Host or Origin). */
function raw(method: string, path: string, headers: Record<string, string>, body = ""): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: ui.port, method, path, headers: { host: `127.0.0.1:${ui.port}`, ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("actions refuse requests a page of another site could send", { skip }, async () => {
  const path = "/api/clusters/guestbook-prod/sync";
  assert.equal(await raw("POST", path, { "content-type": "application/x-www-form-urlencoded" }, "prune=true"), 403, "a form post");
  assert.equal(await raw("POST", path, { "content-type": "application/json", "x-converge-ui": "1", origin: "http://evil.example" }, "{}"), 403, "a cross-origin request");
  assert.equal(await raw("GET", "/api/fleet", { host: `evil.example:${ui.port}` }), 403, "a rebound DNS name");
  assert.equal(await raw("GET", "/api/fleet", {}), 200);
});

test("a 10,000-cluster registry shows the first page in under 1 s", { skip, timeout: 600_000 }, async () => {
  const big = await isolated("ui10k");
  const now = Date.now();
  const created = new Date(now - 2 * 86400_000).toISOString();
  const statuses = ["Synced", "Synced", "Synced", "Synced", "Synced", "Synced", "Synced", "Synced", "OutOfSync", "Error", "Synced", "Unknown"] as const;
  const envs = ["prod", "staging", "dev", "prod"];
  const regions = ["eu-west-1", "us-east-1", "ap-southeast-2"];
  const changes: SyncChange[] = [];
  const items = Array.from({ length: 10_000 }, (_, i) => {
    const name = `cluster-${String(i).padStart(5, "0")}`;
    const sync = statuses[i % statuses.length]!;
    const spec = parseClusterSpec({
      name,
      labels: { env: envs[i % envs.length]!, region: regions[i % regions.length]!, team: `team-${i % 25}` },
      source: { repoUrl: "https://github.com/acme/fleet", branch: "main", path: `clusters/${name}` },
      namespace: "default",
      access: { type: "server", server: `https://10.${(i >> 8) & 255}.${i & 255}.1:6443` },
      intervalSeconds: 300,
    });
    const at = (h: number) => new Date(now - h * 3600_000 - (i % 3600) * 1000).toISOString();
    if (sync !== "Synced") changes.push({ cluster: name, at: at(i % 20), from: "Synced", to: sync });
    else if (i % 7 === 0) changes.push({ cluster: name, at: at(6 + (i % 12)), from: "Synced", to: "OutOfSync" }, { cluster: name, at: at(i % 5), from: "OutOfSync", to: "Synced" });
    const drifted = sync === "OutOfSync" ? 1 + (i % 4) : 0;
    const status = {
      sync,
      revision: (i % 16).toString(16).repeat(40),
      ...(sync === "Unknown" ? {} : { health: i % 29 === 0 ? "Progressing" : "Healthy" }),
      counts: { resources: 12, synced: 12 - drifted, modified: drifted, missing: 0, extra: 0 },
      lastReconcileAt: new Date(now - (i % 300) * 1000).toISOString(),
      ...(sync === "Unknown" ? {} : { lastSuccessAt: new Date(now - (i % 300) * 1000).toISOString() }),
      ...(sync === "Error" ? { message: `clusters/${name}/app.yaml:3: mapping values are not allowed in this context` } : {}),
      ...(sync === "Unknown" ? { message: "cluster API unreachable: connect ETIMEDOUT" } : {}),
    };
    return { PutRequest: { Item: { name, spec, status, repoKey: repoKey(spec.source.repoUrl, spec.source.branch), dueShard: dueShardOf(name), createdAt: created, updatedAt: created } } };
  });
  let t0 = Date.now();
  const chunks = Array.from({ length: 8 }, (_, k) => items.slice(k * 1250, (k + 1) * 1250));
  await Promise.all(chunks.map((c) => batchWriteAll(dynamo(big.services.config), big.services.config.tables.clusters, c)));
  await big.services.events.putSyncChanges(changes);
  log(`10,000 clusters written with BatchWriteItem in ${Date.now() - t0} ms, ${changes.length} sync changes`);
  t0 = Date.now();
  const bigUi = await startUi({ services: big.services, port: 0, log });
  log(`converge ui started on 10,000 clusters: first Scan ${bigUi.warmed.ms} ms (server up after ${Date.now() - t0} ms)`);
  try {
    const p = await browser.context.newPage();
    await p.addInitScript(() => {
      new MutationObserver((_m, obs) => {
        if (document.querySelector("tr[data-cluster]")) {
          (window as unknown as { firstRows: number }).firstRows = performance.now();
          obs.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    const times: number[] = [];
    for (let run = 0; run < 5; run++) {
      await p.goto("about:blank");
      const w0 = Date.now();
      await p.goto(`${bigUi.url}#/`);
      await p.locator("tr[data-cluster]").first().waitFor();
      const m = await p.evaluate(() => ({
        rows: (window as unknown as { firstRows: number }).firstRows,
        api: performance.getEntriesByType("resource").find((e) => e.name.includes("/api/fleet?"))?.duration ?? -1,
      }));
      times.push(m.rows);
      log(`first page of 10,000 clusters: rows in the document ${m.rows.toFixed(0)} ms after navigation start (GET /api/fleet ${m.api.toFixed(0)} ms; wall ${Date.now() - w0} ms)`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    log(
      `first page of 10,000 clusters: first load ${times[0]!.toFixed(0)} ms, median of 5 ${sorted[2]!.toFixed(0)} ms, slowest ${sorted[4]!.toFixed(0)} ms (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`,
    );
    assert.ok(times[0]! < 1000, `the first page took ${times[0]} ms`);
    assert.ok(sorted[2]! < 1000, `the median first page took ${sorted[2]} ms`);
    assert.equal(await p.locator("tr[data-cluster]").count(), 50);
    assert.equal(await p.locator('[data-count="total"]').innerText(), "10,000");
    assert.match(await p.locator("#pager-status").innerText(), /1–50 of 10,000/);
    // paging to the end, sorting and filtering are served by the query layer
    let s0 = Date.now();
    await p.getByRole("button", { name: "Last »" }).click();
    await p.locator("#pager-status", { hasText: "9,951–10,000 of 10,000" }).waitFor();
    assert.equal(await p.locator("tr[data-cluster]").last().getAttribute("data-cluster"), "cluster-09999");
    log(`last page in ${Date.now() - s0} ms`);
    s0 = Date.now();
    await p.fill("#selector", "env=prod,region=eu-west-1");
    await p.press("#selector", "Enter");
    const prodEu = items.filter((i) => i.PutRequest.Item.spec.labels.env === "prod" && i.PutRequest.Item.spec.labels.region === "eu-west-1").length;
    await p.locator("#pager-status", { hasText: `of ${prodEu.toLocaleString("en-US")} (filtered from 10,000)` }).waitFor();
    log(`label selector over 10,000 clusters (${prodEu} match) in ${Date.now() - s0} ms`);
    s0 = Date.now();
    await p.getByRole("button", { name: /^Drift/ }).click();
    await p.waitForFunction(() => /sort=drifted&order=asc/.test(location.hash));
    await p.getByRole("button", { name: /^Drift/ }).click();
    await p.waitForFunction(() => /sort=drifted&order=desc|order=desc.*sort=drifted/.test(location.hash));
    const top = Math.max(
      ...items.filter((i) => i.PutRequest.Item.spec.labels.env === "prod" && i.PutRequest.Item.spec.labels.region === "eu-west-1").map((i) => i.PutRequest.Item.status.counts.modified),
    );
    await p.waitForFunction((n) => document.querySelector("tr[data-cluster] td.num .drift > span")?.textContent === String(n), top);
    log(`sorted by drift, descending, in ${Date.now() - s0} ms`);
    const count = (s: string) => items.filter((i) => i.PutRequest.Item.status.sync === s).length;
    await p.goto(`${bigUi.url}#/?sync=OutOfSync,Error`);
    await p.locator("#pager-status", { hasText: `of ${(count("OutOfSync") + count("Error")).toLocaleString("en-US")} (filtered` }).waitFor();
    await p.locator(".chart canvas").first().waitFor();
    await p.waitForTimeout(300);
    mkdirSync(shots, { recursive: true });
    await p.screenshot({ path: join(shots, "fleet-10k.png"), fullPage: true });
    const series = (await (await fetch(`${bigUi.url}api/fleet/history?since=24h&points=24`)).json()) as { outOfSync: number[]; error: number[] };
    assert.ok(series.outOfSync.at(-1)! >= count("OutOfSync"), "the last hour holds every cluster OutOfSync now (and those that came back in it)");
    assert.equal(series.error.at(-1), count("Error"));
    assert.equal(series.outOfSync[0], 0, "a day ago every cluster that is OutOfSync now was Synced");
    assert.ok(Math.max(...series.outOfSync) > count("OutOfSync"), "clusters that drifted and came back show in between");
    await p.close();
  } finally {
    await bigUi.close();
  }
});
