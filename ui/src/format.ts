/** Small formatting helpers of the page. */
import type { OperationSummary } from "./api.js";

/** `3m ago`, `2h ago`: time since `iso`; `-` when absent. */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "-";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** `2026-11-23 10:00:05` in the viewer's time zone. */
export function when(iso: string | number | undefined): string {
  if (iso === undefined) return "-";
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The first 8 characters of a commit SHA. */
export function shortRev(rev: string | undefined): string {
  return rev ? rev.slice(0, 8) : "-";
}

/** A field value as the diff shows it: strings as they are, everything else as JSON; `(absent)` when unset. */
export function show(v: unknown): string {
  if (v === undefined) return "(absent)";
  if (typeof v === "string") return v;
  return JSON.stringify(v, null, 1).replace(/\n\s*/g, " ");
}

/** `apply (self-heal, prune)`, `detect`. */
export function policy(p: { syncPolicy: string; selfHeal?: boolean; prune?: boolean }): string {
  const extras = [p.selfHeal && "self-heal", p.prune && "prune"].filter(Boolean);
  return extras.length ? `${p.syncPolicy} (${extras.join(", ")})` : p.syncPolicy;
}

/** `manual by alice@host`, `push`, `self-heal #2`, `image update (registry): podinfo 6.7.0 → 6.7.1`: what started an operation. */
export function trigger(t: OperationSummary["trigger"]): string {
  if (t.type === "image-update")
    return `image update (${t.source}): ${(t.images ?? []).map((i) => `${i.policy} ${i.from || "(none)"} → ${i.to}`).join(", ")}${t.pullRequest ? `, pull request #${t.pullRequest.number}` : ""}`;
  if (t.caller) return `${t.type} by ${t.caller}`;
  if (t.attempt) return `${t.type} #${t.attempt}`;
  return t.type;
}

/** `1 Synced, 2 Pruned`: an operation's result counts. */
export function results(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => n)
      .map(([s, n]) => `${n} ${s}`)
      .join(", ") || "no resources"
  );
}

/** `1,234`. */
export function num(n: number): string {
  return n.toLocaleString("en-US");
}

/** `Deployment guestbook/guestbook-ui`. */
export function resourceName(r: { kind: string; namespace?: string; name: string }): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;
}
