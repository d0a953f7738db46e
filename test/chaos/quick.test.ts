/**
 * The short run of the fault-injection and abuse suite (`npm run chaos -- --quick`) as part of
 * the test command: every check of `bench/chaos/checks.ts` with fewer iterations and the same
 * assertions, against the test bed `npm test` started. A check holds when it reports ok with
 * nothing lost or doubled, no crash and no secret value found.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CHECKS } from "../../bench/chaos/checks.js";

for (const check of CHECKS) {
  test(`chaos (quick): ${check.name}`, { timeout: 600_000 }, async () => {
    const log: string[] = [];
    const r = await check.run({ quick: true, log: (s) => log.push(s) });
    const why = `${r.line}\n${log.slice(-20).join("\n")}`;
    assert.ok(r.ok, why);
    assert.equal(r.lost ?? 0, 0, why);
    assert.equal(r.doubled ?? 0, 0, why);
    assert.equal(r.crashes ?? 0, 0, why);
    assert.equal(r.secretsFound ?? 0, 0, why);
    console.log(`# ${r.line}`);
  });
}
