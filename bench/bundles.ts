/**
 * Function bundles: size and cold start per source map setting. Every function of
 * `functions/` is bundled with the options the CDK ships (`infra/bundling.ts`), then again
 * with each source map variant, and each bundle is imported in fresh `node` processes, with
 * and without `--enable-source-maps`:
 *
 * - import ms: `await import(bundle)` (module parse, evaluation, the composition root), wall
 *   time and the process's CPU time (less sensitive to a busy machine);
 * - first / second error ms: the handler's first and second call on an empty event, which
 *   fails without any I/O (no queue URL, no records, no request) and formats the error's
 *   stack, as a handler logging an error does (Powertools puts `stack` in the log line). With
 *   `--enable-source-maps` Node maps stacks through the source map: the first stack parses it.
 *
 * Variants: `none` (no map), `linked` (the shipped setting: `index.mjs.map` without
 * `sourcesContent`), `linked+src` (with `sourcesContent`: NodejsFunction's `sourceMap: true`),
 * `inline` (the map as a data URL at the end of the bundle, without sources). Figures are
 * medians of `--runs` processes (default 5), run round robin. Bundles are written under
 * `node_modules/.cache/converge-bundles` (so that `@aws-sdk/*`, left to the Lambda runtime,
 * resolves from node_modules) and removed at the end.
 *
 *   npm run bench:bundles
 *   npm run bench:bundles -- --runs 15 --only reconcile,webhook --variants none,linked
 */
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { BuildOptions } from "esbuild";
import { bundleBytes, bundleFunction, functionNames, ROOT } from "../infra/bundling.js";

const run = promisify(execFile);
const argOf = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(argOf("runs") ?? 5);
const only = argOf("only")?.split(",");
const names = functionNames().filter((n) => !only || only.includes(n));

/** The source map variants, `linked` being what ships. */
const ALL_VARIANTS: Record<string, BuildOptions> = {
  none: { sourcemap: false },
  linked: {},
  "linked+src": { sourcemap: "linked", sourcesContent: true },
  inline: { sourcemap: "inline", sourcesContent: false },
};
const chosen = argOf("variants")?.split(",");
const VARIANTS = Object.fromEntries(Object.entries(ALL_VARIANTS).filter(([v]) => !chosen || chosen.includes(v)));
const FLAGS = { plain: [] as string[], "enable-source-maps": ["--enable-source-maps"] };

/** Run in a fresh process: imports the bundle, then calls its handler once on an empty event with stdout muted. */
const PROBE = `
const c0 = process.cpuUsage();
const t0 = performance.now();
const m = await import(process.env.BUNDLE_URL);
const importMs = performance.now() - t0;
const c1 = process.cpuUsage(c0);
const write = process.stdout.write;
process.stdout.write = () => true;
const call = async () => {
  const t = performance.now();
  try {
    await Promise.race([m.handler({}, {}), new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error("timeout"), { timeout: true })), 3000).unref())]);
  } catch (e) {
    if (e.timeout) return null;
    String(e.stack);
  }
  return performance.now() - t;
};
const errorMs = await call();
const error2Ms = await call();
process.stdout.write = write;
process.stdout.write(JSON.stringify({ importMs, importCpuMs: (c1.user + c1.system) / 1000, errorMs, error2Ms }));
`;

/** The environment of a probe: the local defaults, no queue, no secret, no AWS credentials, no instance metadata. */
function probeEnv(work: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true", CONVERGE_WORK_DIR: work };
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  return env;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
const ms = (n: number) => (Number.isNaN(n) ? "—" : n.toFixed(0));
const pad = (s: string, n: number) => s.padStart(n);

const cache = join(ROOT, "node_modules", ".cache", "converge-bundles");
rmSync(cache, { recursive: true, force: true });
const work = join(cache, "work");
mkdirSync(work, { recursive: true });

try {
  console.log(`bundling ${names.length} functions x ${Object.keys(ALL_VARIANTS).length} source map variants (infra/bundling.ts)...`);
  const sizes: Record<string, Record<string, { bundle: number; map: number }>> = {};
  for (const name of names) {
    sizes[name] = {};
    for (const [variant, overrides] of Object.entries(ALL_VARIANTS)) {
      const dir = join(cache, variant, name);
      const r = await bundleFunction(name, dir, overrides);
      let map = 0;
      try {
        map = statSync(join(dir, "index.mjs.map")).size;
      } catch {}
      sizes[name][variant] = { bundle: bundleBytes(r.metafile), map };
    }
  }

  console.log(`cold import: ${RUNS} fresh node ${process.version} processes per bundle and flag, medians`);
  const FIELDS = ["importMs", "importCpuMs", "errorMs", "error2Ms"] as const;
  type Sample = Record<(typeof FIELDS)[number], number | null>;
  const samples: Record<string, Record<(typeof FIELDS)[number], number[]>> = {};
  for (let i = 0; i < RUNS; i++) {
    for (const name of names) {
      for (const variant of Object.keys(VARIANTS)) {
        for (const [flag, args] of Object.entries(FLAGS)) {
          const key = `${name}|${variant}|${flag}`;
          const url = pathToFileURL(join(cache, variant, name, "index.mjs")).href;
          const { stdout } = await run(process.execPath, [...args, "--input-type=module", "-e", PROBE], { cwd: ROOT, env: { ...probeEnv(work), BUNDLE_URL: url } });
          const r = JSON.parse(stdout) as Sample;
          samples[key] ??= { importMs: [], importCpuMs: [], errorMs: [], error2Ms: [] };
          for (const f of FIELDS) if (r[f] !== null) samples[key][f].push(r[f]);
        }
      }
    }
  }

  const w = Math.max(9, ...names.map((n) => n.length));
  console.log("\nsizes (minified bundle; map with / without sourcesContent; inline = bundle with its map)");
  console.log(`${"function".padEnd(w)} ${pad("bundle", 9)} ${pad("map", 9)} ${pad("map+src", 9)} ${pad("inline", 9)}`);
  for (const name of names) {
    const s = sizes[name]!;
    console.log(`${name.padEnd(w)} ${pad(kb(s.linked!.bundle), 9)} ${pad(kb(s.linked!.map), 9)} ${pad(kb(s["linked+src"]!.map), 9)} ${pad(kb(s.inline!.bundle), 9)}`);
  }
  for (const [title, field] of [
    ["cold import ms (wall)", "importMs"],
    ["cold import ms (CPU)", "importCpuMs"],
    ["first error ms (the handler's first call: its error's stack formatted)", "errorMs"],
    ["second error ms", "error2Ms"],
  ] as const) {
    console.log(`\n${title}: without --enable-source-maps | with it`);
    const cols = Object.keys(VARIANTS);
    const cw = Math.max(...cols.map((c) => c.length)) + 1;
    console.log(`${"function".padEnd(w)} ${cols.map((c) => pad(c, cw)).join("")} |${cols.map((c) => pad(c, cw)).join("")}`);
    for (const name of names) {
      const row = (flag: string) => cols.map((c) => pad(ms(median(samples[`${name}|${c}|${flag}`]![field])), cw)).join("");
      console.log(`${name.padEnd(w)} ${row("plain")} |${row("enable-source-maps")}`);
    }
  }
  console.log("\nshipped: linked map without sourcesContent, NODE_OPTIONS=--enable-source-maps (infra/bundling.ts)");
} finally {
  rmSync(cache, { recursive: true, force: true });
}
