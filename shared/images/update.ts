/**
 * Image update automation: images reported pushed (or listed by a scan) become one commit per
 * repository branch, moving the marked fields (./markers.ts) their policies (./policy.ts)
 * select (./select.ts). For each branch tracked by clusters with `imageUpdate`:
 * 1. the head is resolved and fetched; the policy file read at it;
 * 2. the YAML files under those clusters' paths are searched for markers naming a policy of an
 *    image reported; a field moves when its policy selects a reported tag above the field's;
 * 3. the commit is written locally on the head, and every cluster of the branch must render at
 *    it (the repository's own render, shared/reconcile `renderRevision`): when one does not,
 *    nothing is pushed;
 * 4. it is pushed without force; when the branch moved meanwhile, everything starts again on
 *    the new head (a rebase: the fields are read again there), at most `MAX_ATTEMPTS` times;
 * 5. each cluster whose files changed gets an operation recording the trigger, the images
 *    (old → new, file and line) and the commit.
 * The commit then reaches the clusters like any push: the Git host's webhook, then the sync.
 * The same tag reported twice finds the field already moved: no second commit.
 */
import { MANIFEST, RenderError } from "../render/directory.js";
import { renderRevision } from "../reconcile/reconcile.js";
import type { ReconcileDeps } from "../reconcile/reconcile.js";
import { normalizeRepoUrl } from "../git/url.js";
import { BranchNotFoundError, PushRejectedError, SourceError, type GitAuth, type GitSource, type SourceFile } from "../git/source.js";
import type { PullRequest, PullRequestPort } from "../githost/pull-requests.js";
import type { ClusterRecord, ClusterStore } from "../store/clusters.js";
import type { ImageUpdateTrigger, OperationStore } from "../store/operations.js";
import type { PushedImage } from "./events.js";
import { findMarkers, MarkerError, markedImage, nextValue, rewrite, type Marker } from "./markers.js";
import { parsePolicyFile, PolicyError, pushBranch, type ImagePolicy, type PolicyFile } from "./policy.js";
import { selectTag, shouldMove } from "./select.js";

/** A cluster as the image update reads it: name and spec (the `byImageUpdate` index's projection). */
type ImageCluster = Pick<ClusterRecord, "name" | "spec">;

/** Pushes tried on one branch before giving up (each after the branch moved on). */
export const MAX_ATTEMPTS = 5;

/** Most YAML files searched for markers on one branch. */
export const MAX_MARKED_FILES = 5_000;

/** One marked field moved. */
export type ImageChange = ImageUpdateTrigger["images"][number];

/** What reported the images, and its event id. */
export interface ImageTrigger {
  source: ImageUpdateTrigger["source"];
  eventId?: string;
  images: PushedImage[];
}

/** What the update needs: the registry, Git (read, commit, push), where operations go, the Git host (pull requests). */
export interface ImageUpdateDeps {
  clusters: Pick<ClusterStore, "listWithImageUpdates">;
  git: Pick<GitSource, "resolveBranch" | "fetch" | "listNames" | "readFiles" | "commit" | "push">;
  operations: Pick<OperationStore, "record">;
  gitAuth: NonNullable<ReconcileDeps["gitAuth"]>;
  /** Opens pull requests when a policy file has `push` with `pullRequest`; without it, those updates are errors. */
  pullRequests?: PullRequestPort;
  now?: () => number;
}

/** The outcome on one branch (with a policy file's `push`: on one push branch). */
export interface BranchOutcome {
  repoUrl: string;
  /** The branch the clusters track. */
  branch: string;
  /** The branch written to when it is not the tracked one (the policy file's `push.branch`). */
  pushBranch?: string;
  /** The clusters tracking it with image updates. */
  clusters: string[];
  /** The head the changes were computed on (the last one tried). */
  base?: string;
  changes: ImageChange[];
  /** The commit pushed; absent for a dry run, no change, or an error. */
  commit?: string;
  /** The pull request the commit is in (opened, or open already). */
  pullRequest?: PullRequest;
  /** Pushes tried. */
  attempts: number;
  /** Why nothing was written although something would change, or the branch could not be read. */
  error?: string;
  /** Markers left alone, and why (a policy the file does not have). */
  warnings: string[];
}

/** The clusters with image updates, by the branch they track (`ref`-pinned and rolled-back clusters left out: Git's head does not reach them). */
export function branchesOf(clusters: ImageCluster[], only?: string[]): ImageCluster[][] {
  const groups = new Map<string, ImageCluster[]>();
  for (const c of clusters) {
    if (!c.spec.imageUpdate || c.spec.source.ref || (only && !only.includes(c.name))) continue;
    const key = `${normalizeRepoUrl(c.spec.source.repoUrl)}#${c.spec.source.branch}#${c.spec.imageUpdate.policyFile}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()];
}

/**
 * Runs an image update for `trigger` on every branch tracked by clusters with `imageUpdate`
 * (or by `opts.clusters` only), one branch after the other.
 * @param opts.dryRun compute the changes, write nothing.
 * @returns one outcome per branch written to (the tracked one, or each push branch).
 * @throws network errors of Git (a retry of the trigger may help); a branch's own problems
 *   (no policy file, an invalid one, a render failing, the host refusing a pull request) are
 *   in its outcome.
 */
export async function updateImages(deps: ImageUpdateDeps, trigger: ImageTrigger, opts: { dryRun?: boolean; clusters?: string[] } = {}): Promise<BranchOutcome[]> {
  const outcomes: BranchOutcome[] = [];
  for (const group of branchesOf(await deps.clusters.listWithImageUpdates(), opts.clusters)) outcomes.push(...(await updateBranch(deps, group, trigger, opts.dryRun ?? false)));
  return outcomes;
}

/** Where changes are written: a branch, the policies it takes (all when undefined), whether a pull request follows. */
interface Target {
  branch: string;
  policies?: Set<string>;
  pullRequest: boolean;
}

/** The changes on a head: its policies, the new texts of the marked files, whether the head is the push branch's own. */
type Plan = Awaited<ReturnType<typeof planBranch>>;

/** The targets of `changes`: the tracked branch, or with the file's `push` one per push branch. */
function targetsOf(file: PolicyFile, changes: ImageChange[], tracked: string): Target[] {
  if (!file.push) return [{ branch: tracked, pullRequest: false }];
  const targets = new Map<string, Target>();
  for (const c of changes) {
    const branch = pushBranch(file, c.policy)!;
    const t = targets.get(branch) ?? { branch, policies: new Set<string>(), pullRequest: file.push.pullRequest };
    t.policies!.add(c.policy);
    targets.set(branch, t);
  }
  return [...targets.values()];
}

/** `plan`, or its error when it is the branch's own problem (policy file, source). */
function orError<T>(plan: Promise<T>): Promise<T | { error: string }> {
  return plan.catch((err: unknown) => {
    if (err instanceof PolicyError || err instanceof SourceError) return { error: err.message };
    throw err;
  });
}

/**
 * One group of `branchesOf` (the clusters tracking one branch): the changes on its head, then
 * each target's commit, render check, push (and pull request).
 * @returns one outcome per branch written to; @throws as updateImages.
 */
export async function updateBranch(deps: ImageUpdateDeps, group: ImageCluster[], trigger: ImageTrigger, dryRun: boolean): Promise<BranchOutcome[]> {
  const { repoUrl, branch } = group[0]!.spec.source;
  const out: BranchOutcome = { repoUrl, branch, clusters: group.map((c) => c.name), changes: [], attempts: 0, warnings: [] };
  const auth = await deps.gitAuth(group[0]!.spec.source);
  const tracked = await orError(planBranch(deps, group, trigger, auth, { branch, pullRequest: false }));
  if ("error" in tracked) return [{ ...out, error: tracked.error }];
  Object.assign(out, { base: tracked.head, changes: tracked.changes, warnings: tracked.warnings });
  if (tracked.changes.length === 0) return [out];
  const targets = targetsOf(tracked.policies, tracked.changes, branch);
  const mine = (t: Target) => (t.policies ? { pushBranch: t.branch, changes: tracked.changes.filter((c) => t.policies!.has(c.policy)) } : {});
  if (dryRun) return targets.map((t) => ({ ...out, ...mine(t) }));
  const outcomes: BranchOutcome[] = [];
  for (const t of targets) outcomes.push(await writeTarget(deps, group, trigger, auth, t, { ...out, ...mine(t) }, t.policies ? tracked.policies : tracked));
  return outcomes;
}

/**
 * Writes one target: the changes planned on its head (the push branch's when it exists, else
 * the tracked one's), a commit, the render check, the push (again on the new head when the
 * branch moved on), the pull request, the operations. With nothing left to change on an
 * existing push branch (an earlier update wrote it), the pull request is still made sure of.
 * @param from the tracked branch's plan (its first attempt), or for a push branch the policies.
 */
async function writeTarget(
  deps: ImageUpdateDeps,
  group: ImageCluster[],
  trigger: ImageTrigger,
  auth: GitAuth | undefined,
  target: Target,
  out: BranchOutcome,
  from: Plan | PolicyFile,
): Promise<BranchOutcome> {
  const { repoUrl } = group[0]!.spec.source;
  const proposed = out.changes;
  // the tracked branch's plan is its first attempt; a push branch is planned on its own head with the tracked branch's policies
  let first = "head" in from ? from : undefined;
  for (;;) {
    const plan = first ?? (await orError(planBranch(deps, group, trigger, auth, target, "head" in from ? undefined : from)));
    first = undefined;
    if ("error" in plan) return { ...out, error: plan.error };
    Object.assign(out, { base: plan.head, changes: plan.changes, warnings: plan.warnings });
    if (plan.changes.length === 0) return target.pullRequest && plan.onPushBranch ? { ...out, ...(await openPullRequest(deps, group, target, proposed, trigger)) } : out;
    const startedAt = new Date(deps.now?.() ?? Date.now()).toISOString();
    const commit = await deps.git.commit(repoUrl, plan.head, plan.files, commitMessage(plan.changes, trigger), plan.policies.author, deps.now?.());
    const refused = (error: string) => recordOperations(deps, group, trigger, plan.changes, startedAt, { base: plan.head, error }).then(() => ({ ...out, error }));
    const broken = await renderFailure(deps, group, commit);
    if (broken) return refused(`not written: ${broken}`);
    out.attempts++;
    try {
      await deps.git.push(repoUrl, target.branch, commit, auth);
    } catch (err) {
      if (err instanceof PushRejectedError && out.attempts < MAX_ATTEMPTS) continue; // the branch moved on: again on its new head
      if (err instanceof PushRejectedError) return refused(`not written: ${err.message} (${out.attempts} attempts)`);
      throw err;
    }
    const pr = target.pullRequest ? await openPullRequest(deps, group, target, plan.changes, trigger) : {};
    const where = target.policies ? { branch: target.branch } : {};
    await recordOperations(deps, group, trigger, plan.changes, startedAt, { commit, ...where, ...pr });
    return { ...out, commit, ...pr };
  }
}

/** Opens (or finds) the pull request from the target's branch into the tracked one; its error when the host refuses or none is configured. */
async function openPullRequest(deps: ImageUpdateDeps, group: ImageCluster[], target: Target, changes: ImageChange[], trigger: ImageTrigger): Promise<{ pullRequest: PullRequest } | { error: string }> {
  const source = group[0]!.spec.source;
  if (!deps.pullRequests) return { error: `committed to ${target.branch}, but no pull request can be opened here (no Git host API configured)` };
  const [title, ...body] = commitMessage(changes, trigger).split("\n");
  try {
    const pullRequest = await deps.pullRequests.open(source, {
      head: target.branch,
      base: source.branch,
      title: title!,
      body: `${body.join("\n").trim()}\n\nOpened by Converge's image update automation: merging it rolls the images out to ${group.map((c) => c.name).join(", ")}.\n`,
    });
    return { pullRequest };
  } catch (err) {
    return { error: `committed to ${target.branch}, but ${(err as Error).message}` };
  }
}

/**
 * The changes on the head of `target.branch` (of the tracked branch when that push branch does
 * not exist yet): its marked files' new texts. `policies` given (a push branch's), the fields
 * of those policies only, and the policy file is not read again.
 */
async function planBranch(deps: ImageUpdateDeps, group: ImageCluster[], trigger: ImageTrigger, auth: GitAuth | undefined, target: Target, given?: PolicyFile) {
  const { repoUrl, branch } = group[0]!.spec.source;
  const own =
    target.branch === branch ? undefined : await deps.git.resolveBranch(repoUrl, target.branch, auth).catch((err: unknown) => (err instanceof BranchNotFoundError ? undefined : Promise.reject(err)));
  const head = own ?? (await deps.git.resolveBranch(repoUrl, branch, auth));
  await deps.git.fetch(repoUrl, head, own ? target.branch : branch, auth);
  const policies = given ?? (await readPolicies(deps, repoUrl, head, group[0]!.spec.imageUpdate!.policyFile));
  const reported = new Map<string, string[]>();
  for (const i of trigger.images) reported.set(i.image, [...(reported.get(i.image) ?? []), i.tag]);
  const files = await markedFiles(
    deps,
    repoUrl,
    head,
    group.map((c) => c.spec.source.path),
  );
  const changes: ImageChange[] = [];
  const texts = new Map<string, string>();
  const warnings: string[] = [];
  const usable = target.policies ? policies.policies.filter((p) => target.policies!.has(p.name)) : policies.policies;
  for (const f of files) {
    const edits = fileEdits(f, usable, reported, target.policies ? [] : warnings);
    if (edits.length === 0) continue;
    texts.set(f.path, rewrite(f.content, edits));
    changes.push(...edits.map((e) => e.change));
  }
  return { head, onPushBranch: own !== undefined, policies, files: texts, changes, warnings };
}

/** The policy file at `head` (fetched already). @throws PolicyError (missing, invalid). */
export async function readPolicies(deps: ImageUpdateDeps, repoUrl: string, head: string, file: string): Promise<PolicyFile> {
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
  const read = await deps.git
    .readFiles(repoUrl, head, dir, { plan: async (paths, r) => (paths.includes(file) ? collect(r([file])) : []) })
    .catch((err: unknown) => (err instanceof SourceError ? { files: [] } : Promise.reject(err)));
  const text = read.files[0]?.content;
  if (text === undefined) throw new PolicyError(file, 1, `no policy file at ${head.slice(0, 12)}: image updates need ${file} (see the README's image update section)`);
  return parsePolicyFile(text, file);
}

async function collect(files: AsyncIterable<SourceFile>): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  for await (const f of files) out.push(f);
  return out;
}

/** The YAML files under `paths` at `head` that may hold markers (read once each). @throws SourceError past MAX_MARKED_FILES. */
async function markedFiles(deps: ImageUpdateDeps, repoUrl: string, head: string, paths: string[]): Promise<SourceFile[]> {
  const under = (p: string) => paths.some((d) => !d || p.startsWith(`${d}/`));
  const read = await deps.git.readFiles(repoUrl, head, "", {
    plan: async (all, r) => {
      const wanted = all.filter((p) => under(p) && MANIFEST.test(p));
      if (wanted.length > MAX_MARKED_FILES) throw new SourceError(`${wanted.length} YAML files under ${paths.join(", ")}: more than the ${MAX_MARKED_FILES} searched for image markers`);
      return collect(r(wanted));
    },
  });
  return read.files;
}

/** The marked fields of one file that move, with their new text. */
function fileEdits(f: SourceFile, policies: ImagePolicy[], reported: Map<string, string[]>, warnings: string[]): { marker: Marker; value: string; change: ImageChange }[] {
  const edits = [];
  let markers: Marker[];
  try {
    markers = findMarkers(f.path, f.content);
  } catch (err) {
    if (!(err instanceof MarkerError)) throw err;
    warnings.push(`${err.message}: the file's markers are left alone`);
    return [];
  }
  for (const m of markers) {
    const policy = policies.find((p) => p.name === m.policy && (!m.namespace || !p.namespace || p.namespace === m.namespace));
    if (!policy) {
      warnings.push(`${m.file}:${m.line}: no policy named "${m.policy}" in the policy file: left alone`);
      continue;
    }
    const tags = reported.get(policy.image);
    if (!tags || m.part === "name") continue;
    if (m.part === "digest") {
      warnings.push(`${m.file}:${m.line}: a digest marker: Converge moves tags, not digests; left alone`);
      continue;
    }
    const current = markedImage(m).tag ?? "";
    const next = selectTag(policy, tags);
    if (next === undefined || !shouldMove(policy, current, next)) continue;
    edits.push({ marker: m, value: nextValue(m, policy.image, next), change: { policy: policy.name, image: policy.image, from: current, to: next, file: m.file, line: m.line } });
  }
  return edits;
}

/** The commit message: a summary line, then each field moved, then the trigger. */
export function commitMessage(changes: ImageChange[], trigger: ImageTrigger): string {
  const moves = [...new Set(changes.map((c) => `${c.image.split("/").pop()} ${c.from || "(none)"} → ${c.to}`))];
  const lines = changes.map((c) => `- ${c.image}: ${c.from || "(none)"} → ${c.to} (policy ${c.policy}, ${c.file}:${c.line})`);
  const by = { registry: "a registry notification", ecr: "an Amazon ECR push event", scan: "a registry scan" }[trigger.source];
  return `Update images: ${moves.join(", ")}\n\n${lines.join("\n")}\n\nTriggered by ${by}${trigger.eventId ? ` (${trigger.eventId})` : ""}.\n`;
}

/** The first cluster of the branch that does not render at `commit`, with the error; undefined when all do. */
async function renderFailure(deps: ImageUpdateDeps, group: ImageCluster[], commit: string): Promise<string | undefined> {
  for (const c of group) {
    try {
      await renderRevision(deps, c.spec, commit);
    } catch (err) {
      if (err instanceof RenderError || err instanceof SourceError) return `${c.name} does not render at the updated branch: ${err.message}`;
      throw err;
    }
  }
  return undefined;
}

/**
 * One operation per cluster whose files changed (Kustomize sources: every cluster of the
 * branch, their bases may be anywhere): Succeeded with the commit pushed (to the tracked
 * branch, or to a push branch and its pull request), or Error with why nothing was written
 * (its revision the head the change was made on) or why the pull request was not opened. It
 * starts when the commit was written, before the push: the sync the push brings comes after
 * it in the history.
 */
async function recordOperations(
  deps: ImageUpdateDeps,
  group: ImageCluster[],
  trigger: ImageTrigger,
  changes: ImageChange[],
  startedAt: string,
  result: { commit: string; branch?: string; pullRequest?: PullRequest; error?: string } | { base: string; error: string },
): Promise<void> {
  const finishedAt = new Date(deps.now?.() ?? Date.now()).toISOString();
  const written = "commit" in result ? result : undefined;
  const where = written?.pullRequest ? ` in pull request #${written.pullRequest.number} (${written.branch})` : written?.branch ? ` to branch ${written.branch}` : "";
  for (const c of group) {
    const path = c.spec.source.path;
    const mine = changes.filter((ch) => c.spec.source.type === "kustomize" || !path || ch.file.startsWith(`${path}/`));
    if (mine.length === 0) continue;
    const moves = mine.map((m) => `${m.policy} ${m.from || "(none)"} → ${m.to}`).join(", ");
    await deps.operations.record({
      cluster: c.name,
      revision: written ? written.commit : (result as { base: string }).base,
      trigger: {
        type: "image-update",
        source: trigger.source,
        ...(trigger.eventId ? { eventId: trigger.eventId } : {}),
        images: mine,
        ...(written ? { commit: written.commit } : {}),
        ...(written?.branch ? { branch: written.branch } : {}),
        ...(written?.pullRequest ? { pullRequest: { number: written.pullRequest.number, url: written.pullRequest.url } } : {}),
      },
      phase: result.error ? "Error" : "Succeeded",
      startedAt,
      finishedAt,
      message: result.error ? `${moves}: ${result.error}` : `${written!.pullRequest ? "proposed" : "committed"} ${written!.commit.slice(0, 12)}${where}: ${moves}`,
    });
  }
}
