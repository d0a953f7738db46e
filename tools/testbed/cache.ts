/**
 * Where the test bed keeps what it builds or downloads: `$CONVERGE_CACHE_DIR`, else
 * `<repo>/.cache` (git-ignored). Reused across runs; delete it to start over.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (two levels above this file). */
export const repoRoot = join(fileURLToPath(import.meta.url), "..", "..", "..");

/** `<cache root>/<sub...>`, created if missing. */
export function cacheDir(...sub: string[]): string {
  const dir = join(process.env.CONVERGE_CACHE_DIR || join(repoRoot, ".cache"), ...sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Folder of the test bed's process logs. */
export function logDir(): string {
  return cacheDir("logs");
}
