/** Plain-text output and flag helpers of the CLI. */
import { parseDuration } from "../shared/cluster/spec.js";
import { UsageError } from "./errors.js";

/** Renders rows as an aligned table with a header row; `undefined` cells print as `-`. */
export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined || c === "" ? "-" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? "").padEnd(widths[i]!))).join("  ")).join("\n");
}

/** `2026-11-23T10:00:00.000Z` → `2026-11-23 10:00:00Z`. */
export function time(iso: string | undefined): string | undefined {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : undefined;
}

/** Time since `iso`, e.g. `3m ago`. */
export function ago(iso: string | undefined, now = Date.now()): string | undefined {
  if (!iso) return undefined;
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/**
 * Parses a duration flag (`30s`, `5m`, `1h`), at least `min` seconds.
 * @throws UsageError naming the flag.
 */
export function durationFlag(flag: string, text: string, min = 0): number {
  let seconds: number;
  try {
    seconds = parseDuration(text);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
  if (seconds < min) throw new UsageError(`${flag} ${text} is below the minimum of ${min}s`);
  return seconds;
}

/**
 * A `--limit` value: an integer from 1 to `max`.
 * @throws UsageError naming the value.
 */
export function limitFlag(text: string, max = 1000): number {
  const limit = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= max)) throw new UsageError(`--limit must be an integer from 1 to ${max}, not "${text}"`);
  return limit;
}
