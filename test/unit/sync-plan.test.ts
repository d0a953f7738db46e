/**
 * The sync planner (shared/sync/plan.ts) on real manifests: the velero and cert-manager charts
 * of the corpus (CRDs, their custom resources, Helm pre-install/post-install hooks with weights
 * and delete policies) and the example repository's sync-waves, helm-hooks and pre-post-sync
 * apps. Orders are asserted exactly, as gitops-engine would run them (see the expectations'
 * comments for the rule each one shows).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderDirectory } from "../../shared/render/directory.js";
import { hookDeletePolicies, splitHooks } from "../../shared/sync/annotations.js";
import { KIND_ORDER } from "../../shared/sync/kinds.js";
import { planSync, planTasks, plannedDeletions, pruneGuard, SyncPlanError, type SyncPlanInput, type SyncStep } from "../../shared/sync/plan.js";
import { syncWave, SyncWaveError } from "../../shared/sync/waves.js";
import { resourceKey, type KubeObject } from "../../shared/model.js";
import { CORPUS_DIR } from "../support/corpus.js";
import { exampleClone, exampleFiles } from "../support/fixture.js";

/** A corpus entry rendered and split as the reconciler does. */
function corpus(entry: string): { resources: KubeObject[]; hooks: KubeObject[] } {
  const content = readFileSync(join(CORPUS_DIR, entry, "manifest.yaml"), "utf8");
  const { resources, hooks } = splitHooks(renderDirectory([{ path: `${entry}/manifest.yaml`, content }], { path: "" }).objects);
  return { resources: resources.map((d) => d.object), hooks: hooks.map((d) => d.object) };
}

/** `<phase> <wave>: <group> | <group>` with a group `<kind> <name>,<name>`, prune groups prefixed `-`, pruneSkipped names `~`. */
function summary(steps: readonly SyncStep[]): string[] {
  return steps.map((s) => {
    const groups = s.groups.map((g) => `${g.action === "prune" ? "-" : ""}${g.kind} ${g.tasks.map((t) => (t.type === "pruneSkipped" ? "~" : "") + t.object.metadata.name).join(",")}`);
    return `${s.phase} ${s.wave}: ${groups.join(" | ")}`;
  });
}

const annotate = (o: KubeObject, annotations: Record<string, string>): KubeObject => ({ ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, ...annotations } } });
const obj = (apiVersion: string, kind: string, name: string, namespace?: string, annotations?: Record<string, string>): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}), ...(annotations ? { annotations } : {}) },
});
const find = (list: KubeObject[], kind: string, name: string): KubeObject => {
  const o = list.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} not found`);
  return o;
};
const replace = (list: KubeObject[], next: KubeObject): KubeObject[] => list.map((o) => (resourceKey(o) === resourceKey(next) ? next : o));

/** Velero 12.1.0, Sync phase wave 0 as gitops-engine sorts it: kind order, CRDs by name, unknown kinds (the custom resources) last and by name. */
const VELERO_SYNC_0 =
  "Sync 0: PodDisruptionBudget velero | ServiceAccount velero-server | Secret velero | ConfigMap velero-fs-restore-action-config,velero-repo-maintenance" +
  " | CustomResourceDefinition backuprepositories.velero.io,backups.velero.io,backupstoragelocations.velero.io,datadownloads.velero.io,datauploads.velero.io," +
  "deletebackuprequests.velero.io,downloadrequests.velero.io,podvolumebackups.velero.io,podvolumerestores.velero.io,restores.velero.io,schedules.velero.io," +
  "serverstatusrequests.velero.io,volumesnapshotlocations.velero.io" +
  " | ClusterRoleBinding velero-server | Role velero-server | RoleBinding velero-server | Service velero | DaemonSet node-agent | Deployment velero" +
  " | BackupStorageLocation default | VolumeSnapshotLocation default | Schedule velero-daily";

describe("planSync on the velero chart (CRDs, custom resources, upgrade-crds pre-install hooks)", () => {
  const velero = corpus("velero");

  test("Helm hooks run in PreSync by hook-weight (-5, -4, -3, 5), the resources in Sync wave 0", () => {
    const plan = planSync({ ...velero, options: { prune: true } });
    assert.deepEqual(summary(plan.steps), [
      "PreSync -5: ClusterRole velero-upgrade-crds",
      "PreSync -4: ServiceAccount velero-server-upgrade-crds",
      "PreSync -3: ClusterRoleBinding velero-upgrade-crds",
      "PreSync 5: Job velero-upgrade-crds",
      VELERO_SYNC_0,
    ]);
    const hooks = planTasks(plan.steps).filter((t) => t.type === "hook");
    assert.equal(hooks.length, 4);
    for (const h of hooks) {
      assert.equal(h.phase, "PreSync");
      // helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
      assert.deepEqual(h.type === "hook" && h.deletePolicies, ["BeforeHookCreation", "HookSucceeded"]);
    }
    assert.deepEqual(plan.syncFail, []);
    assert.deepEqual(plan.warnings, []);
  });

  test("a Namespace in a later wave moves ahead of its first content, into that task's phase and wave (here a PreSync hook)", () => {
    const ns = obj("v1", "Namespace", "velero", undefined, { "argocd.argoproj.io/sync-wave": "1" });
    const plan = planSync({ resources: [...velero.resources, ns], hooks: velero.hooks, options: { prune: true } });
    assert.deepEqual(summary(plan.steps).slice(0, 3), [
      "PreSync -5: ClusterRole velero-upgrade-crds", // cluster-scoped: does not need the Namespace
      "PreSync -4: Namespace velero | ServiceAccount velero-server-upgrade-crds",
      "PreSync -3: ClusterRoleBinding velero-upgrade-crds",
    ]);
    const task = planTasks(plan.steps).find((t) => t.object.kind === "Namespace");
    assert.deepEqual(task && { type: task.type, phase: task.phase, wave: task.wave, declaredWave: task.declaredWave, movedAheadOf: task.type === "apply" ? task.movedAheadOf : undefined }, {
      type: "apply",
      phase: "PreSync",
      wave: -4,
      declaredWave: 1,
      movedAheadOf: "/ServiceAccount/velero/velero-server-upgrade-crds",
    });
  });

  test("a CRD moves ahead of its first custom resource (matched on spec.group and spec.names.kind), across waves both ways", () => {
    let resources = replace(velero.resources, annotate(find(velero.resources, "CustomResourceDefinition", "schedules.velero.io"), { "argocd.argoproj.io/sync-wave": "3" }));
    resources = replace(resources, annotate(find(resources, "BackupStorageLocation", "default"), { "argocd.argoproj.io/sync-wave": "-1" }));
    const plan = planSync({ resources, options: { prune: true } });
    const steps = summary(plan.steps);
    // backupstoragelocations.velero.io (wave 0) is pulled into wave -1, schedules.velero.io (wave 3) into wave 0.
    assert.equal(steps[0], "Sync -1: CustomResourceDefinition backupstoragelocations.velero.io | BackupStorageLocation default");
    assert.equal(steps.length, 2);
    assert.match(steps[1]!, / \| Deployment velero \| VolumeSnapshotLocation default \| CustomResourceDefinition schedules\.velero\.io \| Schedule velero-daily$/);
    assert.doesNotMatch(steps[1]!, /backupstoragelocations/);
    const moved = planTasks(plan.steps).filter((t) => t.type === "apply" && t.movedAheadOf);
    assert.deepEqual(
      moved.map((t) => [t.object.metadata.name, t.declaredWave, t.wave]),
      [
        ["backupstoragelocations.velero.io", 0, -1],
        ["schedules.velero.io", 3, 0],
      ],
    );
  });

  test("selective sync: only the listed keys, no hooks (Argo CD skips hooks for a partial sync)", () => {
    const keys = new Set(["apps/Deployment/velero/velero", "velero.io/Schedule/velero/velero-daily", "/ConfigMap/velero/old-config"]);
    const live = [obj("v1", "ConfigMap", "old-config", "velero"), obj("v1", "ConfigMap", "other-old-config", "velero")];
    const plan = planSync({ ...velero, pruneCandidates: live, options: { prune: true, resources: keys } });
    assert.deepEqual(summary(plan.steps), ["Sync 0: -ConfigMap old-config | Deployment velero | Schedule velero-daily"]);
  });

  test("ApplyOutOfSyncOnly: apply tasks only for out-of-sync keys; hooks and prunes stay", () => {
    const outOfSync = new Set(["apps/Deployment/velero/velero", "apps/DaemonSet/velero/node-agent"]);
    const live = [obj("v1", "ConfigMap", "old-config", "velero")];
    const plan = planSync({ ...velero, pruneCandidates: live, options: { prune: true, applyOutOfSyncOnly: outOfSync } });
    assert.deepEqual(summary(plan.steps), [
      "PreSync -5: ClusterRole velero-upgrade-crds",
      "PreSync -4: ServiceAccount velero-server-upgrade-crds",
      "PreSync -3: ClusterRoleBinding velero-upgrade-crds",
      "PreSync 5: Job velero-upgrade-crds",
      "Sync 0: -ConfigMap old-config | DaemonSet node-agent | Deployment velero",
    ]);
  });

  test("skipHooks (Argo CD's apply strategy) plans the resources alone", () => {
    const plan = planSync({ ...velero, options: { prune: true, skipHooks: true } });
    assert.deepEqual(summary(plan.steps), [VELERO_SYNC_0]);
  });
});

describe("planSync prunes (the cert-manager release removed, velero kept)", () => {
  const velero = corpus("velero");
  const cm = corpus("cert-manager");
  // Live copies of part of cert-manager, tracked by the cluster, gone from Git.
  const live = [
    obj("v1", "Namespace", "cert-manager", undefined, { "argocd.argoproj.io/sync-wave": "5" }),
    find(cm.resources, "CustomResourceDefinition", "certificates.cert-manager.io"),
    find(cm.resources, "Deployment", "cert-manager"),
    annotate(find(cm.resources, "Certificate", "corpus-root-ca"), { "argocd.argoproj.io/sync-wave": "2" }),
    annotate(find(cm.resources, "Issuer", "corpus-ca"), { "argocd.argoproj.io/sync-options": "Prune=false" }),
    find(cm.hooks, "Job", "cert-manager-startupapicheck"), // a live hook: never pruned
  ];

  test("prune waves are reversed (0 ↔ 5, 2 stays), in a wave reverse kind order; the Namespace waits for its contents; Prune=false → pruneSkipped", () => {
    const plan = planSync({ resources: velero.resources, pruneCandidates: live, options: { prune: true } });
    assert.deepEqual(summary(plan.steps), [
      VELERO_SYNC_0,
      "Sync 2: -Certificate corpus-root-ca",
      // declared 0 → swapped to 5; the Namespace (declared 5 → swapped to 0) is delayed to 5, after its contents
      "Sync 5: -Issuer ~corpus-ca | -Deployment cert-manager | -CustomResourceDefinition certificates.cert-manager.io | -Namespace cert-manager",
    ]);
    const tasks = planTasks(plan.steps);
    const skipped = tasks.find((t) => t.type === "pruneSkipped");
    assert.deepEqual(skipped && skipped.type === "pruneSkipped" && [skipped.key, skipped.reason], ["cert-manager.io/Issuer/cert-manager/corpus-ca", "Prune=false"]);
    assert.equal(plannedDeletions(plan), 4);
    assert.ok(!tasks.some((t) => t.object.kind === "Job"), "a live hook is never pruned");
    assert.deepEqual(plan.warnings, ["pruning v1 Namespace cert-manager also deletes objects the sync keeps: cert-manager.io/v1 Issuer cert-manager/corpus-ca"]);
  });

  test("PruneLast: every prune after the last Sync wave (max(0, waves incl. swapped prunes) + 1), reverse kind order", () => {
    const plan = planSync({ resources: velero.resources, pruneCandidates: live, options: { prune: true, pruneLast: true } });
    assert.deepEqual(summary(plan.steps), [
      VELERO_SYNC_0,
      "Sync 6: -Issuer ~corpus-ca | -Certificate corpus-root-ca | -Deployment cert-manager | -CustomResourceDefinition certificates.cert-manager.io | -Namespace cert-manager",
    ]);
    assert.ok(planTasks(plan.steps).every((t) => t.type === "apply" || (t.type !== "hook" && t.pruneLast)));
  });

  test("prune not enabled: every candidate is a pruneSkipped task, nothing is deleted", () => {
    const plan = planSync({ resources: velero.resources, pruneCandidates: live, options: { prune: false } });
    const prunes = planTasks(plan.steps).filter((t) => t.type !== "apply");
    assert.equal(prunes.length, 5);
    assert.ok(prunes.every((t) => t.type === "pruneSkipped" && t.reason === "prune not enabled"));
    assert.equal(plannedDeletions(plan), 0);
    assert.deepEqual(plan.warnings, []);
  });

  test("pruning a Namespace that desired objects still live in is reported", () => {
    const resources = [find(cm.resources, "Deployment", "cert-manager")];
    const plan = planSync({ resources, pruneCandidates: [obj("v1", "Namespace", "cert-manager")], options: { prune: true } });
    assert.deepEqual(plan.warnings, ["pruning v1 Namespace cert-manager also deletes objects the sync keeps: apps/v1 Deployment cert-manager/cert-manager"]);
  });
});

describe("planSync: gitops-engine's own cases", () => {
  const pod = (name: string, annotations?: Record<string, string>) => obj("v1", "Pod", name, "argocd-ns", annotations);

  test("TestPruneLast syncPhaseDifferentWave: prunes at 1 and 7 swap; the last wave is 7 + 1 = 8", () => {
    const input: SyncPlanInput = {
      resources: [pod("pod-1", { "argocd.argoproj.io/sync-wave": "2" })],
      pruneCandidates: [pod("pod-2", { "argocd.argoproj.io/sync-wave": "1" }), pod("pod-3", { "argocd.argoproj.io/sync-wave": "7" })],
      options: { prune: true },
    };
    assert.deepEqual(summary(planSync(input).steps), ["Sync 1: -Pod pod-3", "Sync 2: Pod pod-1", "Sync 7: -Pod pod-2"]);
    assert.deepEqual(summary(planSync({ ...input, options: { prune: true, pruneLast: true } }).steps), ["Sync 2: Pod pod-1", "Sync 8: -Pod pod-2,pod-3"]);
  });

  test("TestPruneLast pruneLastIndividualResources: PruneLast=true on the live object", () => {
    const plan = planSync({
      resources: [pod("pod-1", { "argocd.argoproj.io/sync-wave": "2" })],
      pruneCandidates: [
        pod("pod-2", { "argocd.argoproj.io/sync-wave": "1", "argocd.argoproj.io/sync-options": "PruneLast=true" }),
        pod("pod-3", { "argocd.argoproj.io/sync-wave": "7" }),
        pod("pod-4", { "argocd.argoproj.io/sync-wave": "-3", "argocd.argoproj.io/sync-options": "PruneLast=true" }),
      ],
      options: { prune: true },
    });
    // swap: -3 ↔ 7, 1 stays; last Sync wave 7 → PruneLast wave 8
    assert.deepEqual(summary(plan.steps), ["Sync -3: -Pod pod-3", "Sync 2: Pod pod-1", "Sync 8: -Pod pod-2,pod-4"]);
  });

  test("with only negative waves the PruneLast wave is 1 (the last wave counts from 0)", () => {
    const plan = planSync({
      resources: [pod("a", { "argocd.argoproj.io/sync-wave": "-2" })],
      pruneCandidates: [pod("b", { "argocd.argoproj.io/sync-wave": "-5" })],
      options: { prune: true, pruneLast: true },
    });
    assert.deepEqual(summary(plan.steps), ["Sync -2: Pod a", "Sync 1: -Pod b"]);
  });

  test("Test_syncTasks_kindOrder: the whole kind list, unknown kinds last and ordered by name, the group ignored", () => {
    const known = [...KIND_ORDER].reverse().map((kind, i) => obj(kind === "Deployment" ? "apps/v1" : "v1", kind, `n${i}`, "default"));
    const unknown = [obj("example.com/v1", "Zebra", "a"), obj("example.com/v1", "Apple", "b"), obj("other.io/v1", "Service", "a-svc", "default")];
    const plan = planSync({ resources: [...unknown, ...known], options: { prune: true } });
    const kinds = planTasks(plan.steps).map((t) => t.object.kind);
    assert.deepEqual(kinds, [...KIND_ORDER.slice(0, 22), "Service", ...KIND_ORDER.slice(22), "Zebra", "Apple"]);
  });

  test("TestSyncTasksSort_CRDAndCR: a CR before its CRD in the input is applied after it", () => {
    const cr = obj("argoproj.io/v1alpha1", "Workflow", "wf", "default");
    const crd = { ...obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "workflows.argoproj.io"), spec: { group: "argoproj.io", names: { kind: "Workflow" } } };
    assert.deepEqual(summary(planSync({ resources: [cr, crd], options: { prune: true } }).steps), ["Sync 0: CustomResourceDefinition workflows.argoproj.io | Workflow wf"]);
  });

  test("SyncFail hooks are planned apart; a hook in several phases gives one task per phase", () => {
    const hooks = [
      obj("batch/v1", "Job", "notify-failure", "default", { "argocd.argoproj.io/hook": "SyncFail", "argocd.argoproj.io/hook-delete-policy": "HookFailed" }),
      obj("batch/v1", "Job", "smoke", "default", { "argocd.argoproj.io/hook": "PreSync,PostSync,PreDelete" }),
      obj("v1", "ConfigMap", "never", "default", { "argocd.argoproj.io/hook": "Skip" }),
    ];
    const plan = planSync({ resources: [obj("v1", "ConfigMap", "app", "default")], hooks, options: { prune: true } });
    assert.deepEqual(summary(plan.steps), ["PreSync 0: Job smoke", "Sync 0: ConfigMap app", "PostSync 0: Job smoke"]);
    assert.deepEqual(summary(plan.syncFail), ["SyncFail 0: Job notify-failure"]);
    const failHook = planTasks(plan.syncFail)[0];
    assert.deepEqual(failHook?.type === "hook" && failHook.deletePolicies, ["HookFailed"]);
  });
});

describe("planSync on the example repository's apps", () => {
  const revision = execFileSync("git", ["-C", exampleClone(), "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  const startedAt = new Date("2024-05-01T12:00:00.750Z"); // Unix 1714564800
  const rendered = (...dirs: string[]) => {
    const r = renderDirectory(dirs.flatMap(exampleFiles), { path: "" });
    const { resources, hooks } = splitHooks(r.objects);
    return { resources: resources.map((d) => d.object), hooks: hooks.map((d) => d.object), warnings: r.warnings };
  };

  test("sync-waves: Sync hooks between waves, a generateName PreSync hook named <generateName><rev7>-presync-<unix>", () => {
    const app = rendered("sync-waves");
    // renderDirectory keeps the generateName Job because it is a hook; the planner names it
    assert.deepEqual(app.warnings, []);
    const plan = planSync({ resources: app.resources, hooks: app.hooks, options: { prune: true, revision, startedAt, operationId: "op-1" } });
    const rev7 = revision.slice(0, 7);
    assert.deepEqual(summary(plan.steps), [
      `PreSync 0: Job upgrade-sql-schema${rev7}-presync-1714564800`,
      "Sync 0: Service backend | ReplicaSet backend",
      "Sync 1: Job maint-page-up",
      "Sync 2: Service frontend | ReplicaSet frontend",
      "Sync 3: Job maint-page-down",
    ]);
    const pre = planTasks(plan.steps)[0];
    assert.deepEqual(pre?.type === "hook" && [pre.generatedName, pre.deletePolicies, pre.key], [true, ["BeforeHookCreation"], `batch/Job//upgrade-sql-schema${rev7}-presync-1714564800`]);
    assert.equal(plan.operationId, "op-1");
  });

  test("helm-hooks: hook-weight orders the PreSync hooks (-2, -1) and is the wave of a plain resource (2)", () => {
    const app = rendered("helm-hooks");
    const plan = planSync({ resources: app.resources, hooks: app.hooks, options: { prune: true, revision: "abc", startedAt } });
    assert.deepEqual(summary(plan.steps), [
      "PreSync -2: Job upgrade-sql-schemaabc-presync-1714564800", // a revision shorter than 8 is used whole
      "PreSync -1: Job maint-page-up",
      "Sync 0: ReplicaSet frontend",
      "Sync 2: Service frontend",
      "PostSync 0: Job maint-page-down",
    ]);
  });

  test("pre-post-sync (read as a plain directory, without kustomize's namePrefix): PreSync → Sync → PostSync, HookSucceeded", () => {
    const app = rendered("pre-post-sync", "kustomize-guestbook");
    const plan = planSync({ resources: app.resources, hooks: app.hooks, options: { prune: true } });
    assert.deepEqual(summary(plan.steps), ["PreSync 0: Job before", "Sync 0: Service guestbook-ui | Deployment guestbook-ui", "PostSync 0: Job after"]);
    assert.ok(planTasks(plan.steps).every((t) => t.type !== "hook" || t.deletePolicies.join() === "HookSucceeded"));
  });

  test("a generateName hook in two phases gets one name per phase; without startedAt it is an error", () => {
    const hook: KubeObject = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "", generateName: "Migrate-", namespace: "db", annotations: { "argocd.argoproj.io/hook": "PreSync,PostSync" } } };
    const plan = planSync({ resources: [], hooks: [hook], options: { prune: true, revision: "0123456789abcdef", startedAt } });
    assert.deepEqual(summary(plan.steps), ["PreSync 0: Job Migrate-0123456-presync-1714564800", "PostSync 0: Job Migrate-0123456-postsync-1714564800"]);
    assert.throws(() => planSync({ resources: [], hooks: [hook], options: { prune: true, revision } }), SyncPlanError);
  });
});

describe("waves and delete policies", () => {
  const cm = (annotations: Record<string, string>) => obj("v1", "ConfigMap", "conf", "default", annotations);

  test("syncWave: sync-wave (negative, +, leading zeros), else helm.sh/hook-weight, else 0", () => {
    assert.equal(syncWave(cm({})), 0);
    assert.equal(syncWave(cm({ "argocd.argoproj.io/sync-wave": "-3" })), -3);
    assert.equal(syncWave(cm({ "argocd.argoproj.io/sync-wave": "+07" })), 7);
    assert.equal(syncWave(cm({ "argocd.argoproj.io/sync-wave": "-0" })), 0);
    assert.equal(syncWave(cm({ "helm.sh/hook-weight": "-5" })), -5);
    // a valid sync-wave wins; the Helm weight is not even read
    assert.equal(syncWave(cm({ "argocd.argoproj.io/sync-wave": "2", "helm.sh/hook-weight": "heavy" })), 2);
  });

  test("a wave that is not an integer is a SyncWaveError naming the object; planSync rethrows it", () => {
    for (const [annotation, value] of [
      ["argocd.argoproj.io/sync-wave", "1.5"],
      ["argocd.argoproj.io/sync-wave", " 2"],
      ["argocd.argoproj.io/sync-wave", ""],
      ["argocd.argoproj.io/sync-wave", "99999999999999999999"],
      ["helm.sh/hook-weight", "first"],
    ] as const) {
      assert.throws(
        () => syncWave(cm({ [annotation]: value })),
        (err: unknown) =>
          err instanceof SyncWaveError &&
          err.annotation === annotation &&
          err.value === value &&
          err.message === `v1 ConfigMap default/conf: annotation ${annotation} must be an integer, got ${JSON.stringify(value)}`,
      );
    }
    assert.throws(() => planSync({ resources: [cm({ "argocd.argoproj.io/sync-wave": "one" })], options: { prune: true } }), SyncWaveError);
  });

  test("a live object's bad wave is read as gitops-engine reads it (the Helm weight, else 0), with a warning", () => {
    const plan = planSync({ resources: [], pruneCandidates: [cm({ "argocd.argoproj.io/sync-wave": "x", "helm.sh/hook-weight": "3" })], options: { prune: true } });
    assert.deepEqual(summary(plan.steps), ["Sync 3: -ConfigMap conf"]);
    assert.deepEqual(plan.warnings, ['v1 ConfigMap default/conf: annotation argocd.argoproj.io/sync-wave must be an integer, got "x" (live object, read as wave 3)']);
  });

  test("hookDeletePolicies: Argo and Helm values together, unknown ones ignored, BeforeHookCreation by default", () => {
    assert.deepEqual(hookDeletePolicies(cm({})), ["BeforeHookCreation"]);
    assert.deepEqual(hookDeletePolicies(cm({ "argocd.argoproj.io/hook-delete-policy": "HookSucceeded, HookFailed" })), ["HookSucceeded", "HookFailed"]);
    assert.deepEqual(hookDeletePolicies(cm({ "helm.sh/hook-delete-policy": "hook-failed,before-hook-creation" })), ["HookFailed", "BeforeHookCreation"]);
    assert.deepEqual(hookDeletePolicies(cm({ "argocd.argoproj.io/hook-delete-policy": "HookSucceeded", "helm.sh/hook-delete-policy": "hook-succeeded,hook-failed" })), ["HookSucceeded", "HookFailed"]);
    assert.deepEqual(hookDeletePolicies(cm({ "argocd.argoproj.io/hook-delete-policy": "Always", "helm.sh/hook-delete-policy": "hook-crashed" })), ["BeforeHookCreation"]);
  });

  test("contract errors: a hook passed as a resource, a resource passed as a hook, a key twice", () => {
    const hook = obj("batch/v1", "Job", "j", "default", { "argocd.argoproj.io/hook": "PreSync" });
    assert.throws(() => planSync({ resources: [hook], options: { prune: true } }), SyncPlanError);
    assert.throws(() => planSync({ resources: [], hooks: [cm({})], options: { prune: true } }), SyncPlanError);
    assert.throws(() => planSync({ resources: [cm({})], pruneCandidates: [cm({})], options: { prune: true } }), SyncPlanError);
  });
});

describe("pruneGuard", () => {
  test("refuses an empty render that would prune, and a prune of more than maxShare of the tracked objects", () => {
    assert.equal(pruneGuard(0, 12, 12), "the revision renders no object but 12 would be pruned (force to allow)");
    assert.equal(pruneGuard(4, 10, 6), "6 of 10 tracked objects would be pruned, more than 50% (force to allow)");
    assert.equal(pruneGuard(40, 100, 30, { maxShare: 0.25 }), "30 of 100 tracked objects would be pruned, more than 25% (force to allow)");
  });

  test("goes ahead: nothing to prune, exactly maxShare, force", () => {
    assert.equal(pruneGuard(0, 0, 0), undefined);
    assert.equal(pruneGuard(0, 3, 0), undefined);
    assert.equal(pruneGuard(5, 10, 5), undefined);
    assert.equal(pruneGuard(0, 12, 12, { force: true }), undefined);
    assert.equal(pruneGuard(1, 10, 9, { force: true }), undefined);
    assert.equal(pruneGuard(1, 10, 9, { maxShare: 1 }), undefined);
  });

  test("bad arguments are RangeErrors", () => {
    assert.throws(() => pruneGuard(-1, 1, 0), RangeError);
    assert.throws(() => pruneGuard(1, 1.5, 0), RangeError);
    assert.throws(() => pruneGuard(1, 2, 3), RangeError);
    assert.throws(() => pruneGuard(1, 2, 1, { maxShare: 1.5 }), RangeError);
    assert.throws(() => pruneGuard(1, 2, 1, { maxShare: Number.NaN }), RangeError);
  });
});
