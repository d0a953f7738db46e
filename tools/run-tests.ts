/**
 * `npm test`: builds what is missing (Kubernetes binaries, Maven jars: cached), starts the
 * real test bed — DynamoDB Local, ElasticMQ, the Git smart-HTTP server, two Kubernetes
 * clusters — runs every `test/**\/*.test.ts` with node's test runner against it, and stops
 * everything. Arguments filter test files by substring: `npm test -- loop webhook`.
 * Exit code: the test runner's (non-zero when any test failed or the test bed did not start).
 */
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestbed } from "./testbed/index.js";

const root = join(fileURLToPath(import.meta.url), "..", "..");

function findTests(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? findTests(p) : f.endsWith(".test.ts") ? [p] : [];
    })
    .sort();
}

const filters = process.argv.slice(2);
const files = findTests(join(root, "test"))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(" ")}`);
  process.exit(2);
}

const started = Date.now();
const bed = await startTestbed({ clusters: 2, log: (s) => console.error(`[testbed] ${s}`) });
console.error(`[testbed] ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
let code = 1;
try {
  code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files], {
      cwd: root,
      // Node 20 is supported until the SDK's January 2027 cut-off; its notice is noise in test output
      // the events of the tests' reconciles go to the test bed's folder, not the checkout's .converge/
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "1", ...process.env, ...bed.env, CONVERGE_EVENTS_LOG: join(bed.env.CONVERGE_TEST_WORK!, "events.log") },
      stdio: "inherit",
    });
    child.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
} finally {
  await bed.stop();
}
process.exit(code);
