/**
 * How a function of `functions/<name>/index.ts` is bundled: one esbuild options object used by
 * the CDK (`constructs/function-defaults.ts`), by `test/infra/bundles.test.ts` (size limits,
 * inputs a function must not contain) and by `bench/bundles.ts` (sizes, cold start), so what
 * is tested and measured is what ships.
 *
 * - ESM for Node.js 22, minified, with a `require` shim for the CommonJS dependencies inlined;
 *   `@aws-sdk/*` is left to the Lambda runtime (what NodejsFunction does by default).
 * - Source maps: a linked `index.mjs.map` next to the bundle, without `sourcesContent` (the
 *   stack names the file, line and column of the TypeScript source; the source itself is in
 *   Git). Chosen from `npm run bench:bundles`: an inline map makes the bundle 2.4x bigger and
 *   loads no faster, and `sourcesContent` makes the map 3x bigger (see `NODE_OPTIONS` below).
 * - Two size rules for the reconcile's dependencies (`leanPlugin`): the modules of
 *   @kubernetes/client-node are treated as free of side effects, so the generated API models
 *   `KubeConfig` never uses are dropped (450 KB less); `whatwg-url` is replaced by Node's `URL`
 *   (`shims/whatwg-url.ts`, 290 KB less).
 *
 * Run as a script (`tsx infra/bundling.ts <name> <outdir>`) it writes `<outdir>/index.mjs` and
 * its map: the CDK's local bundling runs it in a child process, since esbuild plugins need
 * esbuild's asynchronous API and CDK bundling is synchronous.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type BuildOptions, type Metafile, type Plugin } from "esbuild";

/** The repository root. */
export const ROOT = join(fileURLToPath(import.meta.url), "..", "..");

/** This module, run by the CDK's bundling as a script. */
export const BUNDLER = fileURLToPath(import.meta.url);

/** Entry file of a function under `functions/<name>/index.ts`. */
export function entryOf(name: string): string {
  return join(ROOT, "functions", name, "index.ts");
}

/** Every function: the folders of `functions/` holding an `index.ts`, sorted. */
export function functionNames(): string[] {
  return readdirSync(join(ROOT, "functions"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(entryOf(d.name)))
    .map((d) => d.name)
    .sort();
}

/**
 * `NODE_OPTIONS` of every function. `--enable-source-maps` maps stack traces through the
 * linked map. Measured by `npm run bench:bundles`, the cold import does not change measurably:
 * Node parses the map the first time a stack is formatted. That first stack costs 25–530 ms,
 * once per container, and later ones 0–4 ms. Only failures format a stack (a webhook or API
 * 500, a handler that throws).
 */
export const NODE_OPTIONS = "--enable-source-maps";

/** Packages whose modules esbuild may drop when nothing of them is used (no package.json `sideEffects` of their own). */
const SIDE_EFFECT_FREE = ["@kubernetes/client-node"];

/** Packages replaced by a module of ours (see each shim's docstring). */
const SHIMS: Record<string, string> = { "whatwg-url": join(ROOT, "infra", "shims", "whatwg-url.ts") };

/** The two size rules of the module docstring. */
export function leanPlugin(): Plugin {
  const inPackage = (p: string) => SIDE_EFFECT_FREE.some((pkg) => p.startsWith(pkg) || p.includes(`/node_modules/${pkg}/`));
  return {
    name: "converge-lean",
    setup(b) {
      for (const [pkg, shim] of Object.entries(SHIMS)) b.onResolve({ filter: new RegExp(`^${pkg.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`) }, () => ({ path: shim }));
      b.onResolve({ filter: /^[.@]/ }, async (args) => {
        if (args.pluginData === "converge-lean" || !(inPackage(args.path) || inPackage(args.importer))) return undefined;
        const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: "converge-lean" });
        if (r.errors.length > 0 || !inPackage(r.path)) return r.errors.length > 0 ? { errors: r.errors } : r;
        return { ...r, sideEffects: false };
      });
    },
  };
}

/** The esbuild options of `functions/<name>`, writing `<outdir>/index.mjs` (+ `index.mjs.map`). */
export function bundleOptions(name: string, outdir: string): BuildOptions & { metafile: true } {
  return {
    entryPoints: { index: entryOf(name) },
    outdir,
    outExtension: { ".js": ".mjs" },
    absWorkingDir: ROOT,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    minify: true,
    sourcemap: "linked",
    sourcesContent: false,
    mainFields: ["module", "main"],
    external: ["@aws-sdk/*"],
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    plugins: [leanPlugin()],
    metafile: true,
    logLevel: "warning",
  };
}

/**
 * Bundles `functions/<name>` into `outdir` (`overrides` only for measurements: the bench's
 * source map variants, `write: false`).
 * @returns the metafile and, with `write: false`, the output files.
 */
export async function bundleFunction(name: string, outdir: string, overrides: BuildOptions = {}) {
  return build({ ...bundleOptions(name, outdir), ...overrides, metafile: true });
}

/** Bytes of the bundle (`index.mjs`) in a metafile. */
export function bundleBytes(meta: Metafile): number {
  const out = Object.entries(meta.outputs).find(([path]) => path.endsWith("index.mjs"));
  if (!out) throw new Error("no index.mjs in the metafile");
  return out[1].bytes;
}

if (process.argv[1] && resolve(process.argv[1]) === BUNDLER) {
  const [name, outdir] = process.argv.slice(2);
  if (!name || !outdir) {
    console.error("usage: tsx infra/bundling.ts <function> <outdir>");
    process.exit(2);
  }
  await bundleFunction(name, resolve(outdir));
}
