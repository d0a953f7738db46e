/** Plain-text output helpers of the CLI. */

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
