/**
 * The sync engine on a real cluster: phases, waves and hooks in order, self-heal with backoff
 * that stops fighting, prune (and not without it), a failing PreSync hook that stops the sync and
 * runs the SyncFail hook, an immutable-field change that fails clearly and succeeds with
 * Force=true through `converge sync`, a CRD and its custom resource in one revision, and every
 * operation in the history. Manifests: test/fixtures/sync-app.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileDeps } from "../../shared/services.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { runCliMerged as cli } from "../support/cli.js";

const fixtures = join(fileURLToPath(import.meta.url), "..", "..", "fixtures", "sync-app");
const [k1] = stackEnv().clusters;
const fixture = (file: string) => readFileSync(join(fixtures, file), "utf8");
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
/** The first commit of the test app. */
let first: string;
/** Added to the clock of the reconciles: the self-heal backoff is passed without waiting for it. */
let offset = 0;

const reconcile = (cluster: string) =>
  reconcileCluster(reconcileDeps(iso.services, { metrics: () => {}, now: () => Date.now() + offset }), { cluster, reason: "tick", enqueuedAt: new Date().toISOString() });

/** Reconciles until no operation is running (a sync waiting for health comes back). */
async function settle(cluster: string) {
  for (let i = 0; i < 20; i++) {
    const out = await reconcile(cluster);
    if (!out?.status.operation) return out!;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${cluster}: the operation is still running`);
}

const exists = (ns: string, what: string) => kubectl(k1!, "-n", ns, "get", what, "--ignore-not-found", "-o", "name").trim() !== "";
const history = async (cluster: string) => (await iso.services.operations.history(cluster, { limit: 100 })).operations;

function commit(message: string, change: () => void): string {
  change();
  repo.git("add", "-A", "sync-app");
  repo.git("commit", "-q", "-m", message);
  return repo.push();
}

before(async () => {
  iso = await isolated("sync");
  Object.assign(process.env, iso.env);
  repo = exampleRepo(`sync-${Date.now()}`);
  first = commit("sync test app", () => cpSync(fixtures, join(repo.work, "sync-app"), { recursive: true }));
  const add = (name: string, ns: string, flags: { selfHeal?: boolean; prune?: boolean }) =>
    iso.services.clusters.add({
      name,
      source: { repoUrl: repo.url, branch: "master", path: "sync-app" },
      namespace: ns,
      access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
      intervalSeconds: 300,
      syncPolicy: "apply",
      ...flags,
      syncOptions: { createNamespace: true },
    });
  await add("heal", "sync-heal", { selfHeal: true, prune: true });
  await add("plain", "sync-plain", {});
});

test("a new revision syncs in order: PreSync hook, waves, the CRD before its custom resource, PostSync hook deleted on success", async () => {
  for (const c of ["heal", "plain"]) {
    const out = await settle(c);
    assert.equal(out.status.sync, "Synced", `${c}: ${out.status.message ?? ""}`);
  }
  const [op] = await history("heal");
  assert.equal(op!.phase, "Succeeded", op!.message);
  assert.deepEqual(op!.trigger, { type: "tick" });
  const order = op!.resources.map((r) => `${r.phase} ${r.wave} ${r.kind}/${r.name} ${r.status}`);
  assert.equal(order[0], "PreSync 0 Job/migrate Succeeded");
  assert.ok(order.indexOf("Sync -1 ConfigMap/settings Synced") < order.indexOf("Sync 0 Deployment/web Synced"), order.join("\n"));
  assert.ok(order.indexOf("Sync 0 CustomResourceDefinition/gizmos.sync.converge.dev Synced") < order.indexOf("Sync 1 Gizmo/g Synced"), order.join("\n"));
  assert.match(order.at(-1)!, /^PostSync 0 Job\/smoke-[0-9a-f]{7}-postsync-\d+ Succeeded$/);
  assert.ok(exists("sync-heal", "gizmo/g") && exists("sync-heal", "deployment/web"), "created in the namespace CreateNamespace made");
  assert.equal(kubectl(k1!, "-n", "sync-heal", "get", "jobs", "-o", "name").trim(), "job.batch/migrate", "the PostSync Job is deleted when it succeeded (HookSucceeded)");
});

test("a deleted Deployment is recreated by self-heal; without self-heal it stays deleted and reported Missing", async () => {
  for (const ns of ["sync-heal", "sync-plain"]) kubectl(k1!, "-n", ns, "delete", "deployment", "web");
  const healed = await settle("heal");
  assert.equal(healed.status.sync, "Synced");
  assert.ok(exists("sync-heal", "deployment/web"));
  const [op] = await history("heal");
  assert.deepEqual(op!.trigger, { type: "self-heal", attempt: 1 });
  assert.deepEqual(
    op!.resources.map((r) => `${r.kind}/${r.name} ${r.status}`),
    ["Deployment/web Synced"],
    "a selective sync, hooks skipped",
  );
  const plain = await settle("plain");
  assert.equal(plain.status.sync, "OutOfSync");
  assert.equal(exists("sync-plain", "deployment/web"), false);
  assert.deepEqual(
    plain.drift.filter((d) => d.state !== "Synced").map((d) => `${d.key} ${d.state}`),
    ["apps/Deployment/sync-plain/web Missing"],
  );
  kubectl(k1!, "-n", "sync-plain", "apply", "-f", join(fixtures, "app.yaml"));
});

test("an edit that comes back at once is healed with backoff, then no longer fought", async () => {
  await settle("heal"); // Synced: the heal count starts again
  const heals: (string | undefined)[] = [];
  for (let i = 0; i < 7; i++) {
    kubectl(k1!, "-n", "sync-heal", "scale", "deployment/web", "--replicas=5");
    const before = (await history("heal")).length;
    const out = await reconcile("heal");
    const healed = (await history("heal")).length > before;
    heals.push(healed ? "healed" : out!.status.message);
    if (i === 0) {
      // right after a heal, the next one waits for the backoff (2 s after the first)
      kubectl(k1!, "-n", "sync-heal", "scale", "deployment/web", "--replicas=5");
      const healsSoFar = (await history("heal")).length;
      await reconcile("heal");
      assert.equal((await history("heal")).length, healsSoFar, "not healed again before its backoff");
    }
    offset += 301_000; // past the longest backoff
  }
  assert.deepEqual(heals.slice(0, 5), ["healed", "healed", "healed", "healed", "healed"]);
  assert.match(String(heals[5]), /self-heal stopped after 5 attempts: apps\/Deployment\/sync-heal\/web keep drifting/);
  assert.match(String(heals[6]), /self-heal stopped/);
  kubectl(k1!, "-n", "sync-heal", "scale", "deployment/web", "--replicas=2");
  assert.equal((await reconcile("heal"))!.status.sync, "Synced", "once Synced, self-heal counts again from 0");
});

test("a file removed from Git is pruned with --prune, kept and reported Extra without", async () => {
  commit("remove extra", () => rmSync(join(repo.work, "sync-app", "extra.yaml")));
  const healed = await settle("heal");
  assert.equal(healed.status.sync, "Synced", healed.status.message);
  assert.equal(exists("sync-heal", "configmap/extra"), false);
  assert.ok((await history("heal"))[0]!.resources.some((r) => r.name === "extra" && r.status === "Pruned"));
  const plain = await settle("plain");
  assert.equal(exists("sync-plain", "configmap/extra"), true);
  assert.deepEqual(
    plain.drift.filter((d) => d.state !== "Synced").map((d) => `${d.key} ${d.state}`),
    ["/ConfigMap/sync-plain/extra Extra"],
  );
  const again = await reconcile("plain");
  const extra = again!.drift.filter((d) => d.state !== "Synced").map((d) => `${d.key} ${d.state}`);
  assert.deepEqual(extra, ["/ConfigMap/sync-plain/extra Extra"], "still Extra at the next tick of the same revision");
});

test("converge sync --dry-run prints the plan in order and changes nothing; --prune --resource syncs just that", async () => {
  const dry = await cli("sync", "--cluster", "plain", "--dry-run", "--prune");
  assert.equal(dry.code, 0, dry.out);
  const lines = dry.out.trim().split("\n");
  assert.match(lines[0]!, /^revision [0-9a-f]{12}: 1 resource\(s\) out of sync$/);
  const at = (text: string) => lines.findIndex((l) => l.includes(text));
  assert.ok(at("PreSync wave 0: run hook Job sync-plain/migrate") > 0, dry.out);
  assert.ok(at("prune ConfigMap sync-plain/extra") > at("PreSync wave 0: run hook Job sync-plain/migrate"), dry.out);
  assert.ok(at("Sync wave 0: apply Deployment sync-plain/web (in sync)") > 0, dry.out);
  assert.ok(lines.includes("on failure: run hook ConfigMap sync-plain/sync-failed"), dry.out);
  assert.ok(exists("sync-plain", "configmap/extra"), "a dry run changes nothing");
  const pruned = await cli("sync", "--cluster", "plain", "--prune", "--resource", "ConfigMap/extra");
  assert.equal(pruned.code, 0, pruned.out);
  const [op] = await history("plain");
  assert.deepEqual(
    op!.resources.map((r) => `${r.kind}/${r.name} ${r.status}`),
    ["ConfigMap/extra Pruned"],
    "only that resource, hooks skipped",
  );
  assert.equal(exists("sync-plain", "configmap/extra"), false);
  assert.equal((await settle("plain")).status.sync, "Synced");
});

test("a failing PreSync hook stops the sync: the Deployment is not changed, the SyncFail hook runs", async () => {
  commit("an unschedulable migration and a new image", () => {
    const hooks = join(repo.work, "sync-app", "hooks.yaml");
    writeFileSync(
      hooks,
      fixture("hooks.yaml")
        .replace("  backoffLimit: 0\n", "  backoffLimit: 0\n  activeDeadlineSeconds: 2\n")
        .replace(
          "      restartPolicy: Never\n      containers:\n      - {name: migrate",
          "      restartPolicy: Never\n      nodeSelector: {converge.dev/none: none}\n      containers:\n      - {name: migrate",
        ),
    );
    const app = join(repo.work, "sync-app", "app.yaml");
    writeFileSync(app, fixture("app.yaml").replace("nginx:1.27", "nginx:1.28"));
  });
  const added = await cli(
    "cluster",
    "add",
    "retry",
    "--repo",
    repo.url,
    "--branch",
    "master",
    "--path",
    "sync-app",
    "--namespace",
    "sync-retry",
    "--kubeconfig",
    k1!.kubeconfig,
    "--context",
    k1!.context,
    "--sync",
    "apply",
    "--sync-option",
    "CreateNamespace=true",
    "--retry-limit",
    "2",
    "--retry-backoff",
    "1s,1,1s",
  );
  assert.equal(added.code, 0, added.out);
  assert.deepEqual((await iso.services.clusters.get("retry"))!.spec.retry, { limit: 2, durationSeconds: 1, factor: 1, maxDurationSeconds: 1 });
  const out = await settle("heal");
  const [op] = await history("heal");
  assert.equal(op!.phase, "Failed");
  assert.match(op!.message ?? "", /hook batch\/Job\/sync-heal\/migrate failed/);
  assert.equal(kubectl(k1!, "-n", "sync-heal", "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"), "nginx:1.27");
  assert.ok(exists("sync-heal", "configmap/sync-failed"), "the SyncFail hook was created");
  assert.match(out.status.message ?? "", /sync failed/);
  const operations = (await history("heal")).length;
  const again = await settle("heal");
  assert.equal((await history("heal")).length, operations, "the failed revision is not synced again automatically");
  assert.match(again.status.message ?? "", /failed; not retried automatically/);
  // with a retry policy: retried twice after its backoff, then left alone
  for (let i = 0; i < 4; i++) {
    await settle("retry");
    await new Promise((r) => setTimeout(r, 1100));
  }
  const tried = await history("retry");
  assert.deepEqual(
    tried.map((o) => `${o.trigger.type}${o.trigger.type === "retry" ? ` ${o.trigger.attempt}` : ""} ${o.phase}`),
    ["retry 2 Failed", "retry 1 Failed", "tick Failed"],
  );
  assert.match((await reconcile("retry"))!.status.message ?? "", /failed after 2 retries; not retried automatically/);
});

test("an immutable field change fails clearly, and succeeds with Force=true through converge sync", async () => {
  commit("restore the migration; change the selector", () => {
    writeFileSync(join(repo.work, "sync-app", "hooks.yaml"), fixture("hooks.yaml"));
    writeFileSync(join(repo.work, "sync-app", "app.yaml"), fixture("app.yaml").replaceAll("app: web", "app: web2"));
  });
  await settle("heal");
  const [failed] = await history("heal");
  assert.equal(failed!.phase, "Failed");
  assert.match(failed!.message ?? "", /Deployment web: .*field is immutable/);
  assert.equal((await cli("cluster", "update", "heal", "--sync-option", "Force=true")).code, 0);
  const synced = await cli("sync", "--cluster", "heal");
  assert.equal(synced.code, 0, synced.out);
  assert.match(synced.out, /^Succeeded: /);
  assert.equal(kubectl(k1!, "-n", "sync-heal", "get", "deployment", "web", "-o", "jsonpath={.spec.selector.matchLabels.app}"), "web2");
  const [manual] = await history("heal");
  assert.equal(manual!.trigger.type, "manual");
  const listed = await cli("sync", "history", "--cluster", "heal");
  assert.match(listed.out, /manual by \S+@\S+ .* Succeeded/);
  assert.match(listed.out, /self-heal #1/);
});

test("converge rollback returns the live state to the earlier revision and pauses automation until resumed", async () => {
  const current = (await iso.services.clusters.get("heal"))!.status.appliedRevision!;
  const rolled = await cli("rollback", "--cluster", "heal");
  assert.equal(rolled.code, 0, rolled.out);
  assert.match(rolled.out, /Succeeded: rolled back heal to [0-9a-f]{12}/);
  assert.match(rolled.out, /paused on that revision; converge sync --cluster heal --resume follows Git again/);
  assert.equal(kubectl(k1!, "-n", "sync-heal", "get", "deployment", "web", "-o", "jsonpath={.spec.selector.matchLabels.app}"), "web", "the earlier selector is back");
  const rec = (await iso.services.clusters.get("heal"))!;
  assert.equal(rec.spec.rollback?.to, rec.spec.source.ref);
  assert.equal((await history("heal"))[0]!.trigger.type, "rollback");
  const pushed = commit("a new replica count while rolled back", () => writeFileSync(join(repo.work, "sync-app", "app.yaml"), fixture("app.yaml").replace("replicas: 2", "replicas: 4")));
  await settle("heal");
  assert.equal(kubectl(k1!, "-n", "sync-heal", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"), "2", "automation paused: the new commit is not synced");
  const resumed = await cli("sync", "--cluster", "heal", "--resume");
  assert.equal(resumed.code, 0, resumed.out);
  assert.equal(kubectl(k1!, "-n", "sync-heal", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"), "4");
  const after = (await iso.services.clusters.get("heal"))!;
  assert.equal(after.spec.rollback, undefined);
  assert.equal(after.status.appliedRevision, pushed);
  assert.notEqual(after.status.appliedRevision, current);
});

test("while another sync holds the cluster's lease, a reconcile compares but does not sync", async () => {
  kubectl(k1!, "-n", "sync-heal", "delete", "deployment", "web");
  assert.ok(await iso.services.clusters.acquireLease("heal", "another-sync", 24 * 3600_000));
  const out = await reconcile("heal");
  assert.match(out!.status.message ?? "", /another sync of this cluster is running/);
  assert.equal(out!.status.sync, "OutOfSync");
  assert.equal(exists("sync-heal", "deployment/web"), false);
  await iso.services.clusters.releaseLease("heal", "another-sync");
  assert.equal((await settle("heal")).status.sync, "Synced");
  assert.ok(exists("sync-heal", "deployment/web"));
});

test("an older push delivered late never overwrites a newer sync", async () => {
  const head = repo.git("rev-parse", "HEAD");
  assert.notEqual(head, first);
  await settle("plain");
  assert.equal((await iso.services.clusters.get("plain"))!.status.appliedRevision, head);
  const out = await reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster: "plain", revision: first, reason: "push", enqueuedAt: new Date().toISOString() });
  assert.equal(out!.status.revision, head, "the branch head is reconciled, not the late push");
  assert.notEqual((await iso.services.clusters.get("plain"))!.status.appliedRevision, first);
  assert.ok(!exists("sync-plain", "configmap/extra"), "the older revision's object (pruned since) is not brought back");
});

test("a branch rewound to an older commit is not applied automatically; converge sync --revision applies it", async () => {
  const rewound = repo.git("rev-parse", "HEAD");
  const app = join(repo.work, "sync-app", "app.yaml");
  const head = commit("a setting changed", () => writeFileSync(app, readFileSync(app, "utf8").replace("mode: production", "mode: staging")));
  assert.equal((await settle("plain")).status.appliedRevision, head);
  repo.git("push", "-q", "-f", "origin", `${rewound}:master`);
  try {
    const before = (await history("plain")).length;
    const out = await reconcile("plain");
    assert.equal(out!.status.revision, rewound);
    assert.match(out!.status.message ?? "", new RegExp(`${rewound.slice(0, 12)} is older than the synced ${head.slice(0, 12)} on branch master; not applied automatically`));
    assert.equal((await iso.services.clusters.get("plain"))!.status.appliedRevision, head);
    assert.equal((await history("plain")).length, before, "no operation started");
    const manual = await cli("sync", "--cluster", "plain", "--revision", rewound);
    assert.equal(manual.code, 0, manual.out);
    assert.equal((await iso.services.clusters.get("plain"))!.status.appliedRevision, rewound);
  } finally {
    repo.git("push", "-q", "-f", "origin", `${head}:master`);
  }
  assert.equal((await settle("plain")).status.appliedRevision, head, "a newer head syncs again");
});

test("a revision that renders nothing prunes nothing", async () => {
  const before = (await history("heal")).length;
  commit("everything removed", () => {
    for (const f of ["app.yaml", "crd.yaml", "hooks.yaml"]) rmSync(join(repo.work, "sync-app", f));
    writeFileSync(join(repo.work, "sync-app", "README.md"), "moved elsewhere\n");
  });
  const out = await settle("heal");
  const [op] = await history("heal");
  assert.ok((await history("heal")).length > before, "a sync ran");
  assert.match(op!.message ?? "", /prune skipped: the revision renders no object but \d+ would be pruned/);
  assert.ok(
    op!.resources.every((r) => r.status === "PruneSkipped"),
    op!.resources.map((r) => r.status).join(","),
  );
  assert.ok(exists("sync-heal", "deployment/web") && exists("sync-heal", "gizmo/g"), "nothing was deleted");
  assert.equal(out.status.sync, "OutOfSync");
});

test("converge sync --prune --force prunes what the guard kept", async () => {
  const forced = await cli("sync", "--cluster", "heal", "--prune", "--force");
  assert.equal(forced.code, 0, forced.out);
  const [op] = await history("heal");
  assert.ok(
    op!.resources.some((r) => r.kind === "Deployment" && r.status === "Pruned"),
    op!.resources.map((r) => `${r.kind} ${r.status}`).join(","),
  );
  assert.equal(exists("sync-heal", "deployment/web"), false);
  assert.equal((await cli("sync", "--cluster", "heal", "--force")).code, 2, "--force alone is refused");
});
