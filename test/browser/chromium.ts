/**
 * Debian's Chromium for the browser tests, driven by playwright-core (no browser download):
 * installed with apt-get the first time a browser test runs (as root; progress printed), then
 * launched headless with the flags it needs on this closed network (without them it waits on
 * the network at start) and a fresh profile.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** Runs a command, printing its output line by line with a prefix; resolves with its exit code. */
function run(cmd: string, args: string[], log: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    let rest = "";
    const onData = (d: Buffer) => {
      const lines = (rest + d.toString()).split("\n");
      rest = lines.pop() ?? "";
      for (const l of lines) if (l.trim()) log(`  ${cmd}: ${l.trim()}`);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", () => resolve(127));
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

/**
 * Makes sure `/usr/bin/chromium` exists: installs Debian's `chromium` with apt-get when it is
 * missing and this runs as root (`apt-get update` first when the package is not known yet).
 * @returns undefined when it is there, else why not (the caller skips the browser tests).
 */
export async function ensureChromium(log: (line: string) => void = (l) => console.error(l)): Promise<string | undefined> {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.getuid?.() !== 0) return `${CHROMIUM} is missing: install Debian's chromium (sudo apt-get install -y chromium)`;
  log("[browser] installing Debian's chromium with apt-get (once; about a minute)");
  let code = await run("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], log);
  if (code !== 0) {
    log("[browser] apt-get update, then install again");
    await run("apt-get", ["update"], log);
    code = await run("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], log);
  }
  if (code !== 0 || !existsSync(CHROMIUM)) return `apt-get install chromium failed (exit ${code})`;
  log("[browser] chromium installed");
  return undefined;
}

/** A headless Chromium with a fresh profile; `close` also removes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "converge-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
