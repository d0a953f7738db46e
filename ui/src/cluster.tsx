/**
 * The cluster page: the registration and status, the sync / sync with prune / rollback
 * buttons (each behind a confirmation showing the dry run), the timeline of sync status with
 * drift events and operations, the history with every drift's field changes and every
 * operation's per-resource results, and the resources with their drift and health, each with a
 * field-level diff (desired vs live; Secret values as digests).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { type Action, type ActionResult, api, ApiError, type DriftEvent, type DryRun, type FieldChange, type Operation, type OperationSummary, type ResourceRow, type SyncChange } from "./api.js";
import { Badge, Choice, Labels, Section, setQuery, usePoll } from "./common.js";
import { Updated } from "./fleet.js";
import { ago, policy, resourceName, results, shortRev, show, trigger, when } from "./format.js";
import { Timeline } from "./timeline.js";

const RANGES = ["1h", "6h", "24h", "7d"] as const;
const RANGE_MS: Record<string, number> = { "1h": 3600_000, "6h": 6 * 3600_000, "24h": 86400_000, "7d": 7 * 86400_000 };

/** Desired vs live, field by field. */
export function Diff({ changes, state }: { changes?: FieldChange[]; state: string }) {
  if (state === "Missing") return <p class="small">In Git, not in the cluster: a sync creates it.</p>;
  if (state === "Extra") return <p class="small">In the cluster with this cluster's tracking annotation, gone from Git: a sync with prune deletes it.</p>;
  if (!changes?.length) return <p class="small muted">No field differs.</p>;
  return (
    <table class="diff">
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Desired (Git)</th>
          <th scope="col">Live (cluster)</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={c.path}>
            <th scope="row" class="mono">
              {c.path}
            </th>
            <td class="mono want">{show(c.desired)}</td>
            <td class="mono have">{show(c.live)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ResourceItem({ r, events, open, onToggle }: { r: ResourceRow; events: DriftEvent[]; open: boolean; onToggle: () => void }) {
  const mine = events.filter((e) => e.resource === r.key).reverse();
  const id = `res-${r.key.replace(/[^A-Za-z0-9]/g, "-")}`;
  return (
    <>
      <tr data-resource={r.key} class={open ? "open" : undefined}>
        <td>{r.kind}</td>
        <td class="hide-s">{r.namespace ?? <span class="muted">-</span>}</td>
        <th scope="row">
          <button type="button" class="link" aria-expanded={open} aria-controls={id} onClick={onToggle}>
            {r.name}
          </button>
        </th>
        <td>
          <Badge value={r.state} title={r.paths.join(", ") || undefined} />
        </td>
        <td>
          {r.health ? <Badge value={r.health.status} title={r.health.message} /> : <span class="muted">-</span>}
          {r.health?.message && <span class="small muted hmsg"> {r.health.message}</span>}
        </td>
      </tr>
      {open && (
        <tr id={id} class="detail">
          <td colSpan={5}>
            <h3>
              {resourceName(r)}: {r.state}
            </h3>
            <Diff changes={r.changes} state={r.state} />
            {mine.length > 0 && (
              <>
                <h4>Drift of this resource in the window</h4>
                <ul class="events">
                  {mine.map((e) => (
                    <li key={e.at}>
                      <span class="small">{when(e.at)}</span> <Badge value={e.from} /> → <Badge value={e.to} /> <span class="small muted">at {shortRev(e.revision)}</span>
                      {e.changes?.length ? <Diff changes={e.changes} state={e.to} /> : null}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

/** What the history table lists: sync status changes, drift events and operations, newest first. */
type Entry = { at: string; kind: "status"; c: SyncChange } | { at: string; kind: "drift"; e: DriftEvent } | { at: string; kind: "op"; o: OperationSummary };

function OperationResults({ cluster, id }: { cluster: string; id: string }) {
  const [op, setOp] = useState<Operation>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api.operation(cluster, id).then(setOp, (e: Error) => setError(e.message));
  }, [cluster, id]);
  if (error) return <p class="error-text">{error}</p>;
  if (!op) return <p class="muted">Loading…</p>;
  if (!op.resources.length) return <p class="small muted">No per-resource results.</p>;
  return (
    <table class="results">
      <thead>
        <tr>
          <th scope="col">Resource</th>
          <th scope="col">Action</th>
          <th scope="col">Phase / wave</th>
          <th scope="col">Result</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        {op.resources.map((r) => (
          <tr key={`${r.key}${r.phase}`}>
            <th scope="row">{resourceName(r)}</th>
            <td>{r.action}</td>
            <td>
              {r.phase ?? "Sync"} {r.wave ?? 0}
            </td>
            <td>
              <Badge value={r.status} />
            </td>
            <td class="small">{r.message ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function History({ cluster, entries }: { cluster: string; entries: Entry[] }) {
  const [open, setOpen] = useState<string>();
  if (!entries.length) return <p class="muted">Nothing happened in this window.</p>;
  return (
    <ol class="history">
      {entries.map((x) => {
        const key = x.kind === "op" ? x.o.id : x.kind === "drift" ? `${x.e.at}${x.e.resource}` : `s${x.at}`;
        const expandable = x.kind === "op" || (x.kind === "drift" && !!x.e.changes?.length);
        return (
          <li key={key} class={`h-${x.kind}`}>
            <span class="small h-time">{when(x.at)}</span>
            {x.kind === "status" && (
              <span>
                Cluster <Badge value={x.c.from} /> → <Badge value={x.c.to} />
                {x.c.message && <span class="small muted"> {x.c.message}</span>}
              </span>
            )}
            {x.kind === "drift" && (
              <span>
                {resourceName(x.e)} <Badge value={x.e.from} /> → <Badge value={x.e.to} />
                {x.e.paths.length > 0 && <span class="small mono"> {x.e.paths.join(", ")}</span>}
              </span>
            )}
            {x.kind === "op" && (
              <span>
                {x.o.trigger.type === "image-update" ? "Image update" : "Sync"} <Badge value={x.o.phase} /> {trigger(x.o.trigger)} at <span class="mono">{shortRev(x.o.revision)}</span>{" "}
                <span class="small">{results(x.o.counts)}</span>
                {x.o.message && <span class="small muted"> {x.o.message}</span>}
                {x.o.trigger.pullRequest && /^https?:\/\//.test(x.o.trigger.pullRequest.url) && (
                  <>
                    {" "}
                    <a class="small" href={x.o.trigger.pullRequest.url} target="_blank" rel="noreferrer">
                      pull request #{x.o.trigger.pullRequest.number}
                    </a>
                  </>
                )}
              </span>
            )}
            {expandable && (
              <button type="button" class="link small" aria-expanded={open === key} onClick={() => setOpen(open === key ? undefined : key)}>
                {open === key ? "hide" : x.kind === "op" ? "results" : "changes"}
              </button>
            )}
            {open === key && x.kind === "drift" && <Diff changes={x.e.changes} state={x.e.to} />}
            {open === key && x.kind === "op" && <OperationResults cluster={cluster} id={x.o.id} />}
          </li>
        );
      })}
    </ol>
  );
}

const ACTION_TEXT: Record<Action, { title: string; button: string; busy: string }> = {
  sync: { title: "Sync to Git", button: "Sync", busy: "Syncing…" },
  prune: { title: "Sync with prune", button: "Sync and prune", busy: "Syncing…" },
  rollback: { title: "Roll back", button: "Roll back", busy: "Rolling back…" },
  resume: { title: "Resume following Git", button: "Resume and sync", busy: "Syncing…" },
};

/** The confirmation: the dry run first, then the action when confirmed, then its result. */
function Confirm({ cluster, action, onClose }: { cluster: string; action: Action; onClose: (changed: boolean) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [dry, setDry] = useState<DryRun>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<ActionResult>();
  const text = ACTION_TEXT[action];
  useEffect(() => {
    dialog.current?.showModal();
    api.dryRun(cluster, action).then(setDry, (e: Error) => setError(e.message));
  }, [cluster, action]);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setDone(await api.act(cluster, action, dry?.to));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const close = () => {
    dialog.current?.close();
    onClose(!!done);
  };
  return (
    <dialog ref={dialog} class="confirm" aria-labelledby="confirm-h" onCancel={(e) => (busy ? e.preventDefault() : close())}>
      <h2 id="confirm-h">
        {text.title}: {cluster}
      </h2>
      {!dry && !error && <p aria-live="polite">Dry run…</p>}
      {dry && !done && (
        <>
          <p>
            {action === "rollback" && dry.to ? (
              <>
                Returns to <span class="mono">{shortRev(dry.to)}</span> and pauses automated sync until resumed.{" "}
              </>
            ) : null}
            What it would do, in order (dry run, nothing changed yet):
          </p>
          <pre class="dry" data-testid="dry-run">
            {dry.lines.join("\n")}
          </pre>
        </>
      )}
      {busy && (
        <p aria-live="polite" class="busy">
          {text.busy}
        </p>
      )}
      {done && (
        <div aria-live="polite" data-testid="action-result">
          {done.operation ? (
            <p>
              <Badge value={done.operation.phase} /> {done.operation.id} at <span class="mono">{shortRev(done.operation.revision)}</span>: {results(done.operation.counts)}
              {done.operation.message ? ` — ${done.operation.message}` : ""}
            </p>
          ) : (
            <p>Already in sync with Git: nothing to do.</p>
          )}
        </div>
      )}
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <div class="buttons">
        {!done && (
          <button type="button" class="primary" disabled={!dry || busy} onClick={run}>
            {text.button}
          </button>
        )}
        <button type="button" disabled={busy} onClick={close}>
          {done ? "Close" : "Cancel"}
        </button>
      </div>
    </dialog>
  );
}

/** The page of cluster `name`; `query` holds the timeline's range and the resource filter. */
export function ClusterPageView({ name, query }: { name: string; query: URLSearchParams }) {
  const range = (query.get("range") as (typeof RANGES)[number] | null) ?? "24h";
  const onlyDrift = query.get("drifted") === "1";
  const filter = query.get("q") ?? "";
  const path = `/clusters/${encodeURIComponent(name)}`;
  const update = (p: Record<string, string | undefined>) => setQuery(path, { range, drifted: onlyDrift ? "1" : undefined, q: filter, ...p });
  const detail = usePoll(() => api.cluster(name), [name]);
  const resources = usePoll(
    () => api.resources(name).catch((e: unknown) => (e instanceof ApiError && e.status === 404 ? { revision: "", complete: false, resources: [] } : Promise.reject(e))),
    [name],
  );
  const history = usePoll(async () => {
    const [c, d, o] = await Promise.all([api.syncChanges(name, range), api.drift(name, range), api.operations(name, range)]);
    return { changes: c.changes, drift: d.events, operations: o.operations, now: Date.now() };
  }, [name, range]);
  const [open, setOpen] = useState<string>();
  const [action, setAction] = useState<Action>();

  if (detail.error && !detail.data) {
    return (
      <Section title={name}>
        <p class="error-text" role="alert">
          {detail.error.message}
        </p>
        <a href="#/">Back to the fleet</a>
      </Section>
    );
  }
  const c = detail.data;
  const h = history.data;
  const entries: Entry[] = h
    ? [
        ...h.changes.map((x) => ({ at: x.at, kind: "status" as const, c: x })),
        ...h.drift.map((x) => ({ at: x.at, kind: "drift" as const, e: x })),
        ...h.operations.map((x) => ({ at: x.startedAt, kind: "op" as const, o: x })),
      ].sort((a, b) => b.at.localeCompare(a.at))
    : [];
  const order = (r: ResourceRow) => (r.state === "Synced" ? 1 : 0);
  const rows = (resources.data?.resources ?? [])
    .slice()
    .sort((a, b) => order(a) - order(b))
    .filter((r) => (!onlyDrift || r.state !== "Synced") && (!filter || `${r.kind} ${r.namespace ?? ""} ${r.name}`.toLowerCase().includes(filter.toLowerCase())));
  const running = !!c?.status.operation;

  return (
    <>
      <nav class="crumbs" aria-label="breadcrumb">
        <a href="#/">Fleet</a> / <span aria-current="page">{name}</span>
      </nav>
      <Section
        title={name}
        id="cluster"
        actions={
          <div class="actions">
            <button type="button" class="primary" disabled={!c || running} onClick={() => setAction("sync")}>
              Sync
            </button>
            <button type="button" disabled={!c || running} onClick={() => setAction("prune")}>
              Sync with prune
            </button>
            <button type="button" disabled={!c || running} onClick={() => setAction("rollback")}>
              Rollback
            </button>
            {c?.spec.rollback && (
              <button type="button" disabled={running} onClick={() => setAction("resume")}>
                Resume
              </button>
            )}
          </div>
        }
      >
        {c ? (
          <>
            <p class="status-line">
              <span data-testid="cluster-sync">
                <Badge value={c.status.sync} />
              </span>{" "}
              <Badge value={c.status.health} /> <span class="mono">{shortRev(c.status.revision)}</span>{" "}
              {running && (
                <>
                  <Badge value="Running" /> <span class="small">{c.status.operation?.id}</span>
                </>
              )}
              <Updated at={detail.at} error={detail.error} />
            </p>
            {c.status.message && <p class="message">{c.status.message}</p>}
            <dl class="facts">
              <dt>Source</dt>
              <dd class="mono">
                {c.spec.source.repoUrl} {c.spec.source.ref ? `@${c.spec.source.ref.slice(0, 12)}` : c.spec.source.branch}:{c.spec.source.path || "/"}
              </dd>
              <dt>Sync policy</dt>
              <dd>
                {policy(c.spec)}
                {c.spec.rollback && (
                  <span class="chip warn">
                    rolled back to {shortRev(c.spec.rollback.to)} by {c.spec.rollback.caller}: automated sync paused
                  </span>
                )}
              </dd>
              <dt>Resources</dt>
              <dd>
                {c.status.counts.resources} ({c.status.counts.modified} modified, {c.status.counts.missing} missing, {c.status.counts.extra} extra)
              </dd>
              <dt>Last reconcile</dt>
              <dd title={when(c.status.lastReconcileAt)}>{ago(c.status.lastReconcileAt)}</dd>
              {c.status.outOfSyncSince && (
                <>
                  <dt>OutOfSync since</dt>
                  <dd>{when(c.status.outOfSyncSince)}</dd>
                </>
              )}
              <dt>Labels</dt>
              <dd>
                <Labels labels={c.spec.labels} />
              </dd>
            </dl>
          </>
        ) : (
          <p class="muted">Loading…</p>
        )}
      </Section>

      <Section title="Timeline" id="timeline" actions={<Choice label="time range" value={range} options={RANGES} onChange={(r) => update({ range: r })} />}>
        {h && c ? (
          <>
            <Timeline changes={h.changes} current={c.status.sync} drift={h.drift} operations={h.operations} since={Math.max(h.now - RANGE_MS[range]!, Date.parse(c.createdAt) || 0)} now={h.now} />
            <h3>History</h3>
            <History cluster={name} entries={entries} />
          </>
        ) : (
          <p class="muted">{history.error ? history.error.message : "Loading…"}</p>
        )}
      </Section>

      <Section title="Resources" id="resources">
        <div class="filters">
          <div class="field">
            <label for="rq">Filter</label>
            <input id="rq" type="search" value={filter} placeholder="kind, namespace, name" onInput={(e) => update({ q: (e.target as HTMLInputElement).value })} />
          </div>
          <label class="check">
            <input type="checkbox" checked={onlyDrift} onChange={(e) => update({ drifted: (e.target as HTMLInputElement).checked ? "1" : undefined })} /> only out of sync
          </label>
        </div>
        {resources.data && !resources.data.complete && resources.data.resources.length > 0 && <p class="small muted">Synced resources are listed from the next reconcile on.</p>}
        <div class="table-wrap">
          <table class="resources">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col" class="hide-s">
                  Namespace
                </th>
                <th scope="col">Name</th>
                <th scope="col">Sync</th>
                <th scope="col">Health</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <ResourceItem key={r.key} r={r} events={h?.drift ?? []} open={open === r.key} onToggle={() => setOpen(open === r.key ? undefined : r.key)} />
              ))}
              {resources.data && rows.length === 0 && (
                <tr>
                  <td colSpan={5} class="muted">
                    {resources.data.resources.length ? "No resource matches." : "No comparison recorded yet."}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </Section>
      {action && (
        <Confirm
          cluster={name}
          action={action}
          onClose={(changed) => {
            setAction(undefined);
            if (changed) {
              detail.reload();
              resources.reload();
              history.reload();
            }
          }}
        />
      )}
    </>
  );
}
