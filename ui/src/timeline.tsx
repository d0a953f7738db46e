/**
 * A cluster's timeline: its sync status as bands (Synced / OutOfSync / Unknown / Error) over
 * the chosen window, with a mark for each drift event and each sync operation. The same facts
 * are listed in the table under it (`History`), which is what the keyboard and screen readers use.
 */
import type { DriftEvent, OperationSummary, SyncChange, SyncStatus } from "./api.js";
import { when } from "./format.js";

/** One band: a status from `from` to `to` (epoch ms). */
export interface Band {
  from: number;
  to: number;
  status: SyncStatus;
}

/** The bands of a window from the changes in it (oldest first) and the status now. */
export function bands(changes: SyncChange[], current: SyncStatus, since: number, now: number): Band[] {
  const inWindow = changes.filter((c) => Date.parse(c.at) >= since).sort((a, b) => a.at.localeCompare(b.at));
  const out: Band[] = [];
  let start = since;
  let status: SyncStatus | undefined = inWindow[0]?.from ?? current;
  for (const c of inWindow) {
    const at = Date.parse(c.at);
    if (at > start && status) out.push({ from: start, to: at, status });
    start = Math.max(start, at);
    status = c.to;
  }
  out.push({ from: start, to: now, status: inWindow.length ? status! : current });
  return out;
}

/** Tick labels: seconds for a window of two hours or less, else month-day and minutes. */
function tickLabel(t: number, span: number): string {
  const w = when(t);
  return span <= 2 * 3600_000 ? w.slice(11) : w.slice(5, 16);
}

/** The bands and marks (marks are positioned in percent so they keep their shape at any width); the history table lists the same facts. */
export function Timeline(props: { changes: SyncChange[]; current: SyncStatus; drift: DriftEvent[]; operations: OperationSummary[]; since: number; now: number }) {
  const { since, now } = props;
  const pct = (t: number) => ((Math.min(now, Math.max(since, t)) - since) / Math.max(1, now - since)) * 100;
  const b = bands(props.changes, props.current, since, now);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => since + f * (now - since));
  return (
    <div class="timeline">
      <div class="bands" role="img" aria-label={`sync status over time: ${b.map((s) => `${s.status} from ${when(s.from)}`).join("; ")}`}>
        {b.map((s) => (
          <span
            key={s.from}
            class={`band s-${s.status.toLowerCase()}`}
            style={{ left: `${pct(s.from)}%`, width: `${Math.max(0.2, pct(s.to) - pct(s.from))}%` }}
            title={`${s.status} ${when(s.from)} – ${when(s.to)}`}
          />
        ))}
      </div>
      <div class="lane" aria-hidden="true">
        <span class="lane-name">drift</span>
        {props.drift.map((e) => (
          <span
            key={`${e.at}${e.resource}`}
            class={`mark dot s-${e.to.toLowerCase()}`}
            style={{ left: `${pct(Date.parse(e.at))}%` }}
            title={`${when(e.at)} ${e.kind} ${e.namespace ? `${e.namespace}/` : ""}${e.name}: ${e.from} → ${e.to}`}
          />
        ))}
      </div>
      <div class="lane" aria-hidden="true">
        <span class="lane-name">syncs</span>
        {props.operations.map((o) => {
          const from = pct(Date.parse(o.startedAt));
          const to = pct(o.finishedAt ? Date.parse(o.finishedAt) : now);
          return (
            <span
              key={o.id}
              class={`mark op s-${o.phase.toLowerCase()}`}
              style={{ left: `${from}%`, width: `max(8px, ${to - from}%)` }}
              title={`${when(o.startedAt)} sync ${o.phase} (${o.trigger.type})`}
            />
          );
        })}
      </div>
      <div class="ticks" aria-hidden="true">
        {ticks.map((t) => (
          <span key={t}>{tickLabel(t, now - since)}</span>
        ))}
      </div>
      <ul class="legend" aria-label="legend">
        {(["Synced", "OutOfSync", "Unknown", "Error"] as const).map((s) => (
          <li key={s}>
            <span class={`swatch s-${s.toLowerCase()}`} /> {s}
          </li>
        ))}
        <li>
          <span class="swatch round" /> drift event
        </li>
        <li>
          <span class="swatch op" /> sync operation
        </li>
      </ul>
    </div>
  );
}
