/**
 * Builds the page of `converge ui` with esbuild: `ui/src/main.tsx` (Preact components, uPlot)
 * bundled and minified into `ui/dist/app.js` and `ui/dist/app.css` (the chart, uPlot, in a chunk
 * loaded after the first rows), with `ui/index.html`. The
 * result is static: the CLI serves it, and the same files could be served from S3/CloudFront
 * (see the README). Nothing is fetched at run time.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The `ui/` folder. */
export const UI_ROOT = join(fileURLToPath(import.meta.url), "..");
/** Where the built page is written (git-ignored). */
export const UI_DIST = join(UI_ROOT, "dist");

/** The newest modification time (epoch ms) of the page's sources. */
function newestSource(dir = join(UI_ROOT, "src")): number {
  let newest = statSync(join(UI_ROOT, "index.html")).mtimeMs;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const s = statSync(p);
    newest = Math.max(newest, s.isDirectory() ? newestSource(p) : s.mtimeMs);
  }
  return newest;
}

/** Whether `ui/dist` is missing or older than a source file. */
export function uiStale(): boolean {
  const built = statSync(join(UI_DIST, "app.js"), { throwIfNoEntry: false });
  return !built || built.mtimeMs < newestSource();
}

/**
 * Bundles the page into `ui/dist` (esbuild, a devDependency: present in a checkout).
 * @returns the bytes of each file written.
 * @throws esbuild's error (with the file and line) when a source does not compile.
 */
export async function buildUi(): Promise<Record<string, number>> {
  const { build } = await import("esbuild");
  rmSync(UI_DIST, { recursive: true, force: true }); // no chunk of an earlier build is left
  mkdirSync(UI_DIST, { recursive: true });
  const result = await build({
    entryPoints: { app: join(UI_ROOT, "src", "main.tsx") },
    outdir: UI_DIST,
    bundle: true,
    splitting: true,
    chunkNames: "chunk-[hash]",
    minify: true,
    format: "esm",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "linked",
    metafile: true,
    logLevel: "silent",
  });
  // the chunks app.js imports up front are fetched with it, not after it (no waterfall)
  const eager = Object.entries(result.metafile.outputs)
    .find(([file]) => file.endsWith("/app.js"))![1]
    .imports.filter((i) => i.kind === "import-statement")
    .map((i) => `    <link rel="modulepreload" href="${i.path.replace(/^.*\//, "")}" />\n`)
    .join("");
  writeFileSync(join(UI_DIST, "index.html"), readFileSync(join(UI_ROOT, "index.html"), "utf8").replace("  </head>", `${eager}  </head>`));
  const sizes: Record<string, number> = { "index.html": statSync(join(UI_DIST, "index.html")).size };
  for (const [file, out] of Object.entries(result.metafile.outputs)) sizes[file.replace(/^.*\//, "")] = out.bytes;
  return sizes;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const sizes = await buildUi();
  console.log(
    `ui/dist built in ${Date.now() - t0} ms: ${Object.entries(sizes)
      .map(([f, b]) => `${f} ${(b / 1024).toFixed(1)} kB`)
      .join(", ")}`,
  );
}
