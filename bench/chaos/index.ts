/**
 * The fault-injection and abuse suite: proves Converge's promises under faults and hostile
 * input against the real components of the test bed (DynamoDB Local, ElasticMQ, the Git
 * smart-HTTP server, real kube-apiservers), started once like `npm test` starts them.
 *
 *   npm run chaos                          # every check, full size
 *   npm run chaos -- --quick               # fewer iterations, same assertions
 *   npm run chaos -- --only "hostile webhooks"
 *
 * Prints one line per check with its figures (progress goes to stderr), then
 * `N faults injected, L lost, D doubled, C crashes, S secrets found`. Exit code 1 when any
 * check fails or throws, 2 for an unknown `--only` name.
 */
import { join } from "node:path";
import { startTestbed } from "../../tools/testbed/index.js";
import type { ChaosTotals } from "./check.js";
import { CHECKS } from "./checks.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const onlyAt = argv.indexOf("--only");
const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? "").split(",").map((s) => s.trim()) : undefined;
const unknown = only?.filter((n) => !CHECKS.some((c) => c.name === n)) ?? [];
if (unknown.length) {
  console.error(`unknown check(s): ${unknown.join(", ")}; known: ${CHECKS.map((c) => c.name).join(", ")}`);
  process.exit(2);
}
const selected = CHECKS.filter((c) => !only || only.includes(c.name));
const started = Date.now();
const stamp = () => `[chaos ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`;

// Node 20 is supported until the SDK's January 2027 cut-off; its notice is noise in the report
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "1";
const bed = await startTestbed({ clusters: 2, prefix: "chaos", log: (s) => console.error(`${stamp()} testbed: ${s}`) });
// the events of the checks' handlers go to the test bed's folder, not the checkout's .converge/
Object.assign(process.env, bed.env, { CONVERGE_EVENTS_LOG: join(bed.env.CONVERGE_TEST_WORK!, "events.log") });
const totals: ChaosTotals = { faults: 0, lost: 0, doubled: 0, crashes: 0, secretsFound: 0 };
let failed = 0;
try {
  for (const check of selected) {
    const log = (s: string) => console.error(`${stamp()} ${check.name}: ${s}`);
    const t0 = Date.now();
    try {
      const r = await check.run({ quick, log });
      for (const k of Object.keys(totals) as (keyof ChaosTotals)[]) totals[k] += r[k] ?? 0;
      if (!r.ok) failed++;
      console.log(`${r.ok ? "ok  " : "FAIL"} ${r.line} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${check.name}: the check itself threw: ${(err as Error).stack ?? err}`);
    }
  }
} finally {
  await bed.stop();
}
const n = (x: number) => x.toLocaleString("en-US");
console.log(`${n(totals.faults)} faults injected, ${n(totals.lost)} lost, ${n(totals.doubled)} doubled, ${n(totals.crashes)} crashes, ${n(totals.secretsFound)} secrets found`);
process.exit(failed ? 1 : 0);
