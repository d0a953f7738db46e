/**
 * The `converge` CLI run in the test's process (cli/main.ts's `main`), its output collected
 * instead of printed: what a user would read, for assertions.
 */
import { main } from "../../cli/main.js";

/** Runs `converge <args>`: exit code, standard output and standard error (one `\n`-ended line per write). */
export async function runCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(
    ["node", "converge", ...args],
    (s) => (out += `${s}\n`),
    (s) => (err += `${s}\n`),
  );
  return { code, out, err };
}

/** Runs `converge <args>` with standard output and standard error in one `out`, in the order written. */
export async function runCliMerged(...args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await main(
    ["node", "converge", ...args],
    (s) => (out += `${s}\n`),
    (s) => (out += `${s}\n`),
  );
  return { code, out };
}
