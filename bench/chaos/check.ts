/**
 * The contract of a check of the fault-injection and abuse suite (`npm run chaos`,
 * `bench/chaos/index.ts`): each check injects faults or hostile input into the real components
 * of the test bed and reports what it counted.
 */

/** What the suite adds up over its checks; the summary line prints each. */
export interface ChaosTotals {
  /** Faults injected or hostile inputs sent. */
  faults: number;
  /** Work that should have happened and did not (e.g. a valid push never enqueued). */
  lost: number;
  /** Work that happened more than once (e.g. a delivery enqueued twice). */
  doubled: number;
  /** Thrown errors, 500 answers or exited processes where an answer with a reason was due. */
  crashes: number;
  /** Occurrences of a secret value (plain or base64) where it must never be stored or logged. */
  secretsFound: number;
}

/** A check's outcome: its figures (missing ones count 0) and one line for people. */
export interface ChaosResult extends Partial<ChaosTotals> {
  ok: boolean;
  /** one line for people: what ran and its figures */
  line: string;
}

/**
 * One check. `quick`: the short run of the test command (fewer iterations, same assertions);
 * `log`: progress for people, to stderr.
 */
export interface ChaosCheck {
  name: string;
  run(opts: { quick: boolean; log: (s: string) => void }): Promise<ChaosResult>;
}
