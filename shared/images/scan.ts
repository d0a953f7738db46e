/**
 * The scheduled scan: the tags of the images whose policy has an `interval`, listed over the
 * OCI distribution API (./registry.ts), then an image update with them, as if they had just
 * been pushed. The schedule runs every `SCAN_PERIOD_MS`; a policy is scanned on the runs where
 * a multiple of its interval falls (`5m`: every fifth run), so no state is kept between runs.
 * `converge images check` runs it for every policy, as a dry run.
 */
import { parseDuration } from "../cluster/spec.js";
import { SourceError } from "../git/source.js";
import type { PushedImage } from "./events.js";
import { PolicyError, type ImagePolicy } from "./policy.js";
import type { RegistryAuth } from "./registry.js";
import { branchesOf, readPolicies, updateBranch, type BranchOutcome, type ImageUpdateDeps } from "./update.js";

/** How often the scan's schedule runs: 1 minute. */
export const SCAN_PERIOD_MS = 60_000;

/** What the scan needs besides the update's dependencies: the tag listing and registry credentials. */
export interface ScanDeps extends ImageUpdateDeps {
  listTags(image: string, auth?: RegistryAuth): Promise<string[]>;
  /** The credentials a policy's `credentialsSecretArn` names. */
  registryAuth(secretArn: string): Promise<RegistryAuth>;
}

/** Whether `policy` is scanned on the run at `now` (every policy with `all`). */
function due(policy: ImagePolicy, now: number, all: boolean): boolean {
  if (all) return true;
  if (!policy.interval) return false;
  const ms = parseDuration(policy.interval) * 1000;
  return Math.floor(now / ms) !== Math.floor((now - SCAN_PERIOD_MS) / ms);
}

/**
 * Scans the policies due at `now` on every branch with image updates (or those of
 * `opts.clusters`), and updates each branch with the tags found.
 * @param opts.all scan every policy, interval or not (`converge images check`).
 * @param opts.dryRun compute the changes, write nothing.
 * @returns one outcome per branch scanned: `error` for a branch whose policies could not be
 *   read, `warnings` naming each image whose tags could not be listed (the others still are).
 * @throws network errors of Git.
 */
export async function scanImages(deps: ScanDeps, opts: { now?: number; all?: boolean; dryRun?: boolean; clusters?: string[] } = {}): Promise<BranchOutcome[]> {
  const now = opts.now ?? Date.now();
  const outcomes: BranchOutcome[] = [];
  for (const group of branchesOf(await deps.clusters.listWithImageUpdates(), opts.clusters)) {
    const { repoUrl, branch } = group[0]!.spec.source;
    const names = group.map((c) => c.name);
    const outcome = (o: Partial<BranchOutcome>): BranchOutcome => ({ repoUrl, branch, clusters: names, changes: [], attempts: 0, warnings: [], ...o });
    try {
      const auth = await deps.gitAuth(group[0]!.spec.source);
      const head = await deps.git.resolveBranch(repoUrl, branch, auth);
      await deps.git.fetch(repoUrl, head, branch, auth);
      const { policies } = await readPolicies(deps, repoUrl, head, group[0]!.spec.imageUpdate!.policyFile);
      const scanned = policies.filter((p) => due(p, now, opts.all ?? false));
      if (scanned.length === 0) continue;
      const { images, problems } = await listDue(deps, scanned);
      const updated = images.length ? await updateBranch(deps, group, { source: "scan", images }, opts.dryRun ?? false) : [outcome({ base: head })];
      outcomes.push(...updated.map((o) => ({ ...o, warnings: [...problems, ...o.warnings] })));
    } catch (err) {
      if (err instanceof PolicyError || err instanceof SourceError) outcomes.push(outcome({ error: err.message }));
      else throw err;
    }
  }
  return outcomes;
}

/**
 * Every tag of every image the policies name (each image listed once), and, per image that
 * could not be listed (no such repository, credentials refused, registry unreachable), why:
 * the other images are still scanned.
 */
async function listDue(deps: ScanDeps, policies: ImagePolicy[]): Promise<{ images: PushedImage[]; problems: string[] }> {
  const byImage = new Map(policies.map((p) => [p.image, p]));
  const images: PushedImage[] = [];
  const problems: string[] = [];
  for (const [image, policy] of byImage) {
    try {
      const auth = policy.credentialsSecretArn ? await deps.registryAuth(policy.credentialsSecretArn) : undefined;
      for (const tag of await deps.listTags(image, auth)) images.push({ image, tag });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      problems.push(`policy ${policy.name}: the tags of ${image} could not be listed: ${e.message}${e.cause?.code ? ` (${e.cause.code})` : ""}`);
    }
  }
  return { images, problems };
}
