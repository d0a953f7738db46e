/**
 * The real Gitea of the tests that need one, started lazily: the first call of `gitea()` in a
 * test process builds it when missing (tools/testbed/gitea.ts: about 10 minutes once, cached)
 * and starts it; later calls get the same instance. Test files that never call it pay nothing.
 * Such a file stops it with `after(stopGitea)` (the test bed's process guard kills it anyway if
 * the process exits first).
 */
import { startGitea, type Gitea } from "../../tools/testbed/gitea.js";

let started: Promise<Gitea> | undefined;

/** The running Gitea of this test process, started on first use. */
export function gitea(): Promise<Gitea> {
  started ??= startGitea({ log: (s) => console.error(`[gitea] ${s}`) });
  return started;
}

/** Stops this process's Gitea if it was started, and removes its work folder. */
export async function stopGitea(): Promise<void> {
  const g = started;
  started = undefined;
  if (g) await (await g.catch(() => undefined))?.stop();
}

/** Time to allow a `before` that calls `gitea()`: a first run builds it (measured up to 31 minutes on a busy 2-core machine, module downloads included). */
export const GITEA_START_TIMEOUT_MS = 40 * 60_000;
