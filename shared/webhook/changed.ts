/**
 * The files a push changed when its payload does not list them (Bitbucket, Azure DevOps, a
 * truncated GitHub or GitLab list): the trees of the `before` and `after` commits compared in
 * Git (`GitSource.changedFiles`), read with the credentials of a cluster tracking the
 * repository, within a time budget — the host waits for the answer (GitHub: 10 s), so a
 * repository too slow to fetch counts as "unknown" and every tracking cluster is enqueued:
 * the filter over-matches, it never misses.
 */
import { gitToken } from "../secrets.js";
import type { GitSource } from "../git/source.js";
import type { ClusterStore } from "../store/clusters.js";
import type { Push } from "./host.js";

/** Milliseconds the webhook spends computing changed files from Git before enqueueing every tracking cluster. */
export const CHANGED_FILES_BUDGET_MS = 5000;

/** Changed files of `push`, read through a cluster's registration (`cluster`: one tracking it); undefined when unknown. */
export type ChangedFiles = (push: Push, cluster: string) => Promise<string[] | undefined>;

/**
 * `ChangedFiles` from Git: the repository URL and credentials of `cluster`'s registration
 * (clusters tracking one repository read it alike), the diff of `push.before..push.after`.
 * Undefined on a new branch, a commit Git cannot find, a failure or after `budgetMs`.
 */
export function gitChangedFiles(git: GitSource, clusters: Pick<ClusterStore, "get">, region: string, budgetMs = CHANGED_FILES_BUDGET_MS): ChangedFiles {
  return async (push, cluster) => {
    let cancel = () => {};
    const budget = new Promise<undefined>((resolve) => {
      const timer = setTimeout(resolve, budgetMs);
      cancel = () => clearTimeout(timer);
    });
    const diff = (async () => {
      const rec = await clusters.get(cluster);
      if (!rec || !push.branch) return undefined;
      const c = rec.spec.source.credentials;
      const auth = c ? { username: c.username, password: await gitToken(c, region) } : undefined;
      return git.changedFiles(rec.spec.source.repoUrl, push.before, push.after, push.branch, auth);
    })().catch(() => undefined);
    try {
      return await Promise.race([diff, budget]);
    } finally {
      cancel();
    }
  };
}
