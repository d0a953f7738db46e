/**
 * Keeps the terminal readable when the Lambda handlers run in this process (the demo): their
 * JSON logs and EMF metric documents — which Powertools writes to process.stdout/stderr, as
 * Lambda's log stream expects — go to a log file, and the caller prints its own lines through
 * the functions returned.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** Where output goes while routed. */
export interface RoutedOutput {
  /** A line on the terminal's stdout. */
  out(line: string): void;
  /** A line on the terminal's stderr. */
  err(line: string): void;
  /** Puts process.stdout/stderr back and closes the log file. */
  restore(): void;
}

/**
 * Sends everything written to process.stdout and process.stderr from now on to `file`
 * (truncated first), until `restore()`. Child processes with inherited stdio still write to
 * the terminal (they write to the file descriptors, not through these streams).
 * @returns terminal writers and `restore`.
 */
export function routeOutputToLog(file: string): RoutedOutput {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, "w");
  const stdout = process.stdout.write;
  const stderr = process.stderr.write;
  const toLog = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk === "string") writeSync(fd, chunk);
    else writeSync(fd, chunk);
    const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
    if (done) process.nextTick(done);
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = toLog;
  process.stderr.write = toLog;
  return {
    out: (line) => void stdout.call(process.stdout, `${line}\n`),
    err: (line) => void stderr.call(process.stderr, `${line}\n`),
    restore() {
      if (process.stdout.write !== toLog) return;
      process.stdout.write = stdout;
      process.stderr.write = stderr;
      closeSync(fd);
    },
  };
}
