/**
 * Child processes of the test bed: started with their output in a log file, waited for
 * until their port answers, stopped with SIGTERM then SIGKILL, and never left behind when the
 * parent exits.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { openSync, readFileSync, closeSync } from "node:fs";
import { createServer, connect, type AddressInfo } from "node:net";
import { join } from "node:path";
import { logDir } from "./cache.js";

const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    for (const c of children) c.kill("SIGKILL");
    process.exit(130);
  });
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** A started child process. */
export interface Proc {
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Starts `cmd args`, output to `<logDir>/<name>.log`, and waits until `readyPort` accepts
 * TCP connections (or `readyCheck` is true).
 * @throws Error with the log's tail when the process exits or `timeoutMs` passes first.
 */
export async function startProcess(o: {
  name: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  readyPort?: number;
  readyCheck?: () => Promise<boolean>;
  timeoutMs?: number;
}): Promise<Proc> {
  const logFile = join(logDir(), `${o.name}.log`);
  const fd = openSync(logFile, "w");
  const child = spawn(o.cmd, o.args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  children.add(child);
  let exited: string | undefined;
  child.once("exit", (code, sig) => {
    exited = `exited with ${code ?? sig}`;
    children.delete(child);
  });
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`${o.name} ${exited} before it was ready; log ${logFile}:\n${tail(logFile)}`);
    if (o.readyPort !== undefined && (await portOpen(o.readyPort)) && (!o.readyCheck || (await o.readyCheck().catch(() => false)))) break;
    if (o.readyPort === undefined && o.readyCheck && (await o.readyCheck().catch(() => false))) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${o.name} not ready after ${o.timeoutMs ?? 60_000} ms; log ${logFile}:\n${tail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    pid: child.pid!,
    logFile,
    stop: async () => {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await gone;
      clearTimeout(t);
    },
  };
}

/**
 * Checks that `cmd` is on PATH.
 * @throws Error "`cmd` is required: <hint>" otherwise.
 */
export function requireTool(cmd: string, hint: string): void {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
  } catch {
    throw new Error(`${cmd} is required: ${hint}`);
  }
}
