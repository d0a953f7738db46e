/**
 * The fleet page: every cluster with its sync status, health, revision, drift counts, last
 * reconcile, last operation, labels and message; summary counts; filters by sync status,
 * health, label selector and text; server-side sort and paging (10,000 clusters and more); the
 * OutOfSync / Error chart. The list refreshes itself by polling; the filters live in the URL.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type FleetPage, type FleetRow, type FleetSeries, type OperationSummary } from "./api.js";
import { Badge, Choice, Labels, POLL_MS, Section, setQuery, usePoll } from "./common.js";
import { ago, num, shortRev, trigger, when } from "./format.js";

const STATUSES = ["Synced", "OutOfSync", "Unknown", "Error"] as const;
const HEALTHS = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown", "None"] as const;
const RANGES = ["1h", "6h", "24h", "7d"] as const;
const SIZES = [25, 50, 100, 200] as const;

/** The columns that sort, with the API's sort key. */
const SORTS: [string, string][] = [
  ["name", "Name"],
  ["sync", "Sync"],
  ["health", "Health"],
  ["revision", "Revision"],
  ["drifted", "Drift"],
  ["lastReconcile", "Last reconcile"],
];

/** A text input that reports its value after the user paused typing (or pressed Enter). */
function LazyInput(props: { id: string; label: string; value: string; placeholder?: string; onValue: (v: string) => void; invalid?: string; inputRef?: { current: HTMLInputElement | null } }) {
  const [text, setText] = useState(props.value);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => setText(props.value), [props.value]);
  const commit = (v: string) => {
    clearTimeout(timer.current);
    if (v !== props.value) props.onValue(v);
  };
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        ref={props.inputRef}
        type="search"
        value={text}
        placeholder={props.placeholder}
        aria-invalid={props.invalid ? "true" : undefined}
        aria-describedby={props.invalid ? `${props.id}-err` : undefined}
        onInput={(e) => {
          const v = (e.target as HTMLInputElement).value;
          setText(v);
          clearTimeout(timer.current);
          timer.current = setTimeout(() => commit(v), 350) as unknown as number;
        }}
        onKeyDown={(e) => e.key === "Enter" && commit(text)}
      />
      {props.invalid && (
        <span id={`${props.id}-err`} class="error-text" role="alert">
          {props.invalid}
        </span>
      )}
    </div>
  );
}

function LastOperation({ row, op }: { row: FleetRow; op: OperationSummary | null | undefined }) {
  if (row.runningOperation) return <Badge value="Running" title={row.runningOperation} />;
  if (op === undefined) return <span class="muted">…</span>;
  if (op === null) return <span class="muted">-</span>;
  return (
    <span title={`${op.id}${op.message ? `: ${op.message}` : ""}`}>
      <Badge value={op.phase} /> <span class="small">{trigger(op.trigger)}</span> <span class="small muted">{ago(op.finishedAt ?? op.startedAt)}</span>
    </span>
  );
}

function Row({ c, op, onLabel }: { c: FleetRow; op: OperationSummary | null | undefined; onLabel: (l: string) => void }) {
  const k = c.counts;
  return (
    <tr data-cluster={c.name}>
      <th scope="row" class="cname">
        <a href={`#/clusters/${encodeURIComponent(c.name)}`}>{c.name}</a>
        {c.rolledBackTo && (
          <span class="chip warn" title={`rolled back to ${c.rolledBackTo}; automated sync paused`}>
            paused
          </span>
        )}
      </th>
      <td class="c-sync">
        <Badge value={c.sync} title={c.outOfSyncSince ? `OutOfSync since ${when(c.outOfSyncSince)}` : undefined} />
      </td>
      <td>
        <Badge value={c.health} />
      </td>
      <td class="mono hide-s" title={c.revision}>
        {shortRev(c.revision)}
      </td>
      <td class="num" title={c.drifted === undefined ? "drift not computed yet" : `${k.modified} modified, ${k.missing} missing, ${k.extra} extra of ${k.resources} resources`}>
        {c.drifted === undefined ? (
          <span class="muted">-</span>
        ) : (
          <span class="drift">
            <span class={k.modified ? "d-mod" : "muted"}>{k.modified}</span>·<span class={k.missing ? "d-mis" : "muted"}>{k.missing}</span>·<span class={k.extra ? "d-ext" : "muted"}>{k.extra}</span>
          </span>
        )}
      </td>
      <td class="hide-s" title={when(c.lastReconcileAt)}>
        {ago(c.lastReconcileAt)}
      </td>
      <td class="hide-m">
        <LastOperation row={c} op={op} />
      </td>
      <td class="hide-m">
        <Labels labels={c.labels} onPick={onLabel} />
      </td>
      <td class="msg hide-m" title={c.message}>
        {c.message ?? ""}
      </td>
    </tr>
  );
}

/** The chart, loaded after the list (uPlot is half of the page's code, so the first rows do not wait for it). */
function LazyChart({ series }: { series: FleetSeries }) {
  const [Chart, setChart] = useState<typeof import("./chart.js").FleetChart>();
  useEffect(() => {
    import("./chart.js").then((m) => setChart(() => m.FleetChart));
  }, []);
  return Chart ? <Chart series={series} /> : <div class="chart" />;
}

/** The fleet page; `query` is the hash route's parameters (filters, sort, page, chart range). */
export function FleetPageView({ query }: { query: URLSearchParams }) {
  const params = {
    sync: query.get("sync") ?? "",
    health: query.get("health") ?? "",
    selector: query.get("selector") ?? "",
    q: query.get("q") ?? "",
    sort: query.get("sort") ?? "name",
    order: query.get("order") ?? "asc",
    offset: Number(query.get("offset") ?? 0) || 0,
    limit: Number(query.get("limit") ?? 50) || 50,
  };
  const range = (query.get("range") as (typeof RANGES)[number] | null) ?? "24h";
  const update = (change: Partial<typeof params> & { range?: string }) => setQuery("/", { ...params, range, offset: 0, ...change });
  const fleet = usePoll(() => api.fleet(params), [JSON.stringify(params)]);

  const search = useRef<HTMLInputElement>(null);
  const [lastGood, setLastGood] = useState<FleetPage>();
  useEffect(() => {
    if (fleet.data) setLastGood(fleet.data);
  }, [fleet.data]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key === "/" && !["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName)) {
        e.preventDefault();
        search.current?.focus();
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);

  const page = fleet.data ?? lastGood;
  // the chart's series is asked for once the first rows are in, so it does not compete with them
  const history = usePoll(() => (page ? api.fleetHistory(range) : Promise.resolve(undefined)), [range, !!page], POLL_MS * 3);
  // the last operation of each row, read after the rows so they show at once
  const names = page?.clusters.map((c) => c.name).join(",") ?? "";
  const ops = usePoll(async () => ({ names, operations: names ? (await api.lastOperations(names.split(","))).operations : ({} as Record<string, OperationSummary>) }), [names, fleet.at], 0);
  // while another page's operations load, a row already shown keeps its operation (no flicker)
  const opOf = (name: string) => ops.data?.operations[name] ?? (ops.data?.names === names ? null : undefined);
  const selectorError = fleet.error instanceof ApiError && fleet.error.status === 400 && /selector/.test(fleet.error.message) ? fleet.error.message : undefined;
  const chosen = new Set(params.sync.split(",").filter(Boolean));
  const toggle = (s: string) => {
    const next = new Set(chosen);
    if (next.has(s)) next.delete(s);
    else next.add(s);
    update({ sync: [...next].join(",") });
  };
  const addLabel = (l: string) => {
    const parts = params.selector.split(",").filter(Boolean);
    if (!parts.includes(l)) update({ selector: [...parts, l].join(",") });
  };
  const sortBy = (key: string) => update({ sort: key, order: params.sort === key && params.order === "asc" ? "desc" : "asc" });
  const last = page ? Math.max(0, Math.floor((page.matched - 1) / params.limit) * params.limit) : 0;

  return (
    <>
      <Section title="Fleet" id="summary" actions={<Updated at={fleet.at} error={fleet.error && !selectorError ? fleet.error : undefined} />}>
        <fieldset class="summary" aria-label="filter by sync status">
          <button type="button" class="stat" aria-pressed={chosen.size === 0} onClick={() => update({ sync: "" })}>
            <span class="stat-n" data-count="total">
              {page ? num(page.total) : "…"}
            </span>
            <span class="stat-l">clusters</span>
          </button>
          {STATUSES.map((s) => (
            <button type="button" key={s} class={`stat st-${s.toLowerCase()}`} aria-pressed={chosen.has(s)} onClick={() => toggle(s)}>
              <span class="stat-n" data-count={s}>
                {page ? num(page.counts.sync[s] ?? 0) : "…"}
              </span>
              <span class="stat-l">{s}</span>
            </button>
          ))}
        </fieldset>
      </Section>

      <Section title="OutOfSync and Error over time" id="chart" actions={<Choice label="time range" value={range} options={RANGES} onChange={(r) => update({ range: r, offset: params.offset })} />}>
        {history.data ? (
          <>
            <LazyChart series={history.data} />
            <p class="small muted">
              Built from each cluster's sync status now, walked back through the sync status changes its reconciles stored; each point is the most clusters in that status since the previous one.
            </p>
          </>
        ) : (
          <p class="muted">{history.error ? `chart unavailable: ${history.error.message}` : "Loading…"}</p>
        )}
      </Section>

      <Section title="Clusters" id="clusters">
        <div class="filters">
          <LazyInput id="q" label="Search" value={params.q} placeholder="name, label, repo, revision, message  ( / )" onValue={(q) => update({ q })} inputRef={search} />
          <LazyInput id="selector" label="Label selector" value={params.selector} placeholder="env=prod,tier in (web,api)" onValue={(selector) => update({ selector })} invalid={selectorError} />
          <div class="field">
            <label for="health">Health</label>
            <select id="health" value={params.health} onChange={(e) => update({ health: (e.target as HTMLSelectElement).value })}>
              <option value="">any</option>
              {HEALTHS.map((h) => (
                <option key={h} value={h}>
                  {h}
                  {page?.counts.health[h] !== undefined ? ` (${page.counts.health[h]})` : ""}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="size">Per page</label>
            <select id="size" value={String(params.limit)} onChange={(e) => update({ limit: Number((e.target as HTMLSelectElement).value) })}>
              {SIZES.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div class="table-wrap">
          <table class="fleet" aria-describedby="pager-status">
            <thead>
              <tr>
                {SORTS.map(([key, label]) => (
                  <th
                    key={key}
                    scope="col"
                    class={key === "revision" || key === "lastReconcile" ? "hide-s" : undefined}
                    aria-sort={params.sort === key ? (params.order === "desc" ? "descending" : "ascending") : undefined}
                  >
                    <button type="button" class="sort" onClick={() => sortBy(key)}>
                      {label}
                      {key === "drifted" && <span class="hide-s"> (mod·miss·extra)</span>}
                      <span aria-hidden="true">{params.sort === key ? (params.order === "desc" ? " ▼" : " ▲") : ""}</span>
                    </button>
                  </th>
                ))}
                <th scope="col" class="hide-m">
                  Last operation
                </th>
                <th scope="col" class="hide-m">
                  Labels
                </th>
                <th scope="col" class="hide-m">
                  Message
                </th>
              </tr>
            </thead>
            <tbody>
              {page?.clusters.map((c) => (
                <Row key={c.name} c={c} op={opOf(c.name)} onLabel={addLabel} />
              ))}
              {page && page.clusters.length === 0 && (
                <tr>
                  <td colSpan={9} class="muted">
                    No cluster matches.
                  </td>
                </tr>
              )}
              {!page && (
                <tr>
                  <td colSpan={9} class="muted">
                    {fleet.error ? fleet.error.message : "Loading…"}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        {page && (
          <nav class="pager" aria-label="pages">
            <button type="button" disabled={params.offset === 0} onClick={() => update({ offset: 0 })}>
              « First
            </button>
            <button type="button" disabled={params.offset === 0} onClick={() => update({ offset: Math.max(0, params.offset - params.limit) })}>
              ‹ Previous
            </button>
            <span id="pager-status" aria-live="polite">
              {page.matched === 0 ? "0" : `${num(params.offset + 1)}–${num(Math.min(page.matched, params.offset + params.limit))}`} of {num(page.matched)}
              {page.matched !== page.total ? ` (filtered from ${num(page.total)})` : ""}
            </span>
            <button type="button" disabled={params.offset + params.limit >= page.matched} onClick={() => update({ offset: params.offset + params.limit })}>
              Next ›
            </button>
            <button type="button" disabled={params.offset >= last} onClick={() => update({ offset: last })}>
              Last »
            </button>
          </nav>
        )}
      </Section>
    </>
  );
}

/** `updated 3s ago` (and the last error), refreshed every second. */
export function Updated({ at, error }: { at?: number; error?: Error }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);
  return (
    <span class="small muted updated">
      {error ? <span class="error-text">refresh failed: {error.message} · </span> : null}
      {at ? `updated ${ago(new Date(at).toISOString())}` : "loading…"} · every {POLL_MS / 1000}s
    </span>
  );
}
