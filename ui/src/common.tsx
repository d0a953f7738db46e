/** Pieces both pages use: status badges, label chips, polling, the hash route. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

/** Poll interval of both pages, ms (`?poll=2` in the page URL sets seconds). */
export const POLL_MS = Math.max(1, Number(new URLSearchParams(location.search).get("poll") ?? 5)) * 1000;

/** A sync, health, drift or phase status as a coloured badge (the colour is never the only sign: the word is there). */
export function Badge({ value, title }: { value: string | undefined; title?: string }) {
  const v = value ?? "None";
  return (
    <span class={`badge s-${v.toLowerCase()}`} title={title}>
      {v}
    </span>
  );
}

/** Label chips; `onPick` makes each a button that selects on it. */
export function Labels({ labels, onPick }: { labels: Record<string, string> | undefined; onPick?: (label: string) => void }) {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return <span class="muted">-</span>;
  return (
    <span class="labels">
      {entries.map(([k, v]) =>
        onPick ? (
          <button type="button" class="chip" key={k} onClick={() => onPick(`${k}=${v}`)} title={`show only ${k}=${v}`}>
            {k}={v}
          </button>
        ) : (
          <span class="chip" key={k}>
            {k}={v}
          </span>
        ),
      )}
    </span>
  );
}

/**
 * Runs `load` now, whenever `deps` change, and every `ms` (default `POLL_MS`; 0: never) while
 * the page is visible, without reloading the page; the last answer and error are kept.
 * @returns the data, the error of the last attempt, when the data was loaded, and `reload`.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], ms = POLL_MS): { data?: T; error?: Error; at?: number; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: Error; at?: number }>({});
  const gen = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const run = () => {
    const mine = ++gen.current;
    loadRef.current().then(
      (data) => mine === gen.current && setState({ data, at: Date.now() }),
      (error: Error) => mine === gen.current && setState((s) => ({ ...s, error })),
    );
  };
  useEffect(() => {
    run();
    if (ms <= 0) return;
    const timer = setInterval(() => document.visibilityState === "visible" && run(), ms);
    return () => clearInterval(timer);
  }, deps);
  return { ...state, reload: run };
}

/** The current hash route: path segments and query parameters (`#/clusters/x?since=24h`). */
export function useRoute(): { path: string[]; query: URLSearchParams } {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  const [p = "", q = ""] = hash.replace(/^#/, "").split("?", 2);
  return { path: p.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

/** Replaces the hash's query parameters (history entry replaced, so Back leaves the page). */
export function setQuery(path: string, params: Record<string, string | number | undefined>): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "" && v !== 0) q.set(k, String(v));
  const s = q.toString();
  history.replaceState(null, "", `#${path}${s ? `?${s}` : ""}`);
  dispatchEvent(new HashChangeEvent("hashchange"));
}

/** A titled section of a page. */
export function Section({ title, id, actions, children }: { title: string; id?: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="card" aria-labelledby={id ? `${id}-h` : undefined}>
      <div class="card-head">
        <h2 id={id ? `${id}-h` : undefined}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** A segmented choice (time ranges, ...) as radio-like buttons. */
export function Choice<T extends string>({ value, options, onChange, label }: { value: T; options: readonly T[]; onChange: (v: T) => void; label: string }) {
  return (
    <fieldset class="seg" aria-label={label}>
      {options.map((o) => (
        <button type="button" key={o} aria-pressed={o === value} onClick={() => onChange(o)}>
          {o}
        </button>
      ))}
    </fieldset>
  );
}
