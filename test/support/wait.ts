/**
 * Waiting in tests on real components: poll until a value appears, or fail naming what was
 * awaited (and, with `context`, what was seen meanwhile).
 */

/**
 * Polls `get` every `everyMs` (250 ms) until it returns a value other than undefined.
 * @param timeoutMs how long to wait (30 s by default).
 * @param context appended to the timeout's message: what was seen meanwhile.
 * @throws Error "timed out after <n> ms waiting for <what>".
 */
export async function waitFor<T>(what: string, get: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, o: { everyMs?: number; context?: () => string } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${o.context ? `; ${o.context()}` : ""}`);
    await new Promise((r) => setTimeout(r, o.everyMs ?? 250));
  }
}
