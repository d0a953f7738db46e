/** The example repository, cloned from the bundle for tests that read files without a server. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { exampleBundle } from "../../tools/testbed/gitserver.js";
import type { SourceFile } from "../../shared/render/directory.js";

let clone: string | undefined;

/** A working clone of the example repository at `master` (cloned once per process). */
export function exampleClone(): string {
  if (!clone) {
    clone = mkdtempSync(join(tmpdir(), "converge-example-"));
    execFileSync("git", ["clone", "-q", exampleBundle(), clone]);
  }
  return clone;
}

/** Every file under `dir` of the example repository, as the Git reader returns them. */
export function exampleFiles(dir: string): SourceFile[] {
  const root = exampleClone();
  const walk = (d: string): SourceFile[] =>
    readdirSync(d).flatMap((f) => {
      const p = join(d, f);
      return statSync(p).isDirectory() ? walk(p) : [{ path: relative(root, p), content: readFileSync(p, "utf8") }];
    });
  return walk(join(root, dir));
}
