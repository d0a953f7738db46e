/**
 * The page's only data source: the query API's operations (shared/api/query.ts) under `api/`,
 * relative to the page, plus the sync actions `converge ui` serves. The types mirror what those
 * routes answer.
 */

/** A cluster's sync status. The interfaces below mirror the answers of shared/api/query.ts and shared/store/*. */
export type SyncStatus = "Synced" | "OutOfSync" | "Unknown" | "Error";

export interface ResourceCounts {
  resources: number;
  synced: number;
  modified: number;
  missing: number;
  extra: number;
}

export interface OperationSummary {
  id: string;
  cluster: string;
  revision: string;
  trigger: {
    type: string;
    caller?: string;
    attempt?: number;
    to?: string;
    deliveryId?: string;
    of?: string;
    /** Image updates: what reported the images, the fields moved, the commit written. */
    source?: string;
    images?: { policy: string; image: string; from: string; to: string }[];
    commit?: string;
    pullRequest?: { number: number; url: string };
  };
  phase: "Running" | "Succeeded" | "Failed" | "Error";
  startedAt: string;
  finishedAt?: string;
  message?: string;
  dryRun?: boolean;
  prune?: boolean;
  counts: Record<string, number>;
  resourceTotal?: number;
}

export interface ResourceResult {
  key: string;
  kind: string;
  namespace?: string;
  name: string;
  action: "apply" | "prune" | "hook";
  phase?: string;
  wave?: number;
  status: string;
  message?: string;
}

export interface Operation extends OperationSummary {
  resources: ResourceResult[];
}

export interface FleetRow {
  name: string;
  labels: Record<string, string>;
  sync: SyncStatus;
  health?: string;
  revision?: string;
  counts: ResourceCounts;
  drifted?: number;
  lastReconcileAt?: string;
  message?: string;
  outOfSyncSince?: string;
  failingSince?: string;
  runningOperation?: string;
  syncPolicy: string;
  repoUrl: string;
  branch: string;
  ref?: string;
  path: string;
  rolledBackTo?: string;
  createdAt: string;
}

export interface FleetPage {
  total: number;
  matched: number;
  counts: { sync: Record<string, number>; health: Record<string, number> };
  offset: number;
  limit: number;
  clusters: FleetRow[];
  readAt: string;
}

export interface FleetSeries {
  t: number[];
  synced: number[];
  outOfSync: number[];
  unknown: number[];
  error: number[];
  source: string;
}

export interface FieldChange {
  path: string;
  desired?: unknown;
  live?: unknown;
}

export interface DriftEvent {
  cluster: string;
  at: string;
  resource: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  from: string;
  to: string;
  paths: string[];
  changes?: FieldChange[];
  revision: string;
}

export interface SyncChange {
  cluster: string;
  at: string;
  from: SyncStatus;
  to: SyncStatus;
  revision?: string;
  message?: string;
}

export interface ResourceRow {
  key: string;
  group: string;
  kind: string;
  namespace?: string;
  name: string;
  state: "Synced" | "Modified" | "Missing" | "Extra";
  health?: { status: string; message?: string };
  paths: string[];
  changes?: FieldChange[];
}

export interface ClusterDetail {
  name: string;
  spec: {
    labels?: Record<string, string>;
    source: { repoUrl: string; branch: string; ref?: string; path: string; type?: string };
    namespace: string;
    syncPolicy: string;
    selfHeal: boolean;
    prune: boolean;
    intervalSeconds: number;
    rollback?: { to: string; previousRef?: string; at: string; caller: string };
  };
  status: {
    sync: SyncStatus;
    revision?: string;
    health?: string;
    message?: string;
    counts: ResourceCounts;
    lastReconcileAt?: string;
    lastSuccessAt?: string;
    outOfSyncSince?: string;
    failingSince?: string;
    appliedRevision?: string;
    operation?: { id: string };
  };
  nextDueAt: string;
  createdAt: string;
}

/** An answer that was not 2xx: the status and the server's reason. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function answer<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new ApiError(res.status, body.error ?? `HTTP ${res.status}`);
  return body as T;
}

/** GET `api/<path>` with the query parameters that are set. */
export async function get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return answer<T>(await fetch(`api/${path}${qs ? `?${qs}` : ""}`, { headers: { accept: "application/json" } }));
}

/** POST a JSON body to one of `converge ui`'s action routes (the custom header keeps other sites' pages out). */
export async function post<T>(path: string, body: unknown): Promise<T> {
  return answer<T>(await fetch(`api/${path}`, { method: "POST", headers: { "content-type": "application/json", "x-converge-ui": "1" }, body: JSON.stringify(body) }));
}

/** The dry run of an action: what it would apply, prune and run, in order. */
export interface DryRun {
  lines: string[];
  revision?: string;
  /** The revision a rollback returns to. */
  to?: string;
}

/** The result of an action. */
export interface ActionResult {
  operation?: OperationSummary;
  inSync?: boolean;
  to?: string;
  progress: string[];
}

const enc = encodeURIComponent;

/** Every call the page makes, by what it reads or does. */
export const api = {
  fleet: (q: Record<string, string | number | undefined>) => get<FleetPage>("fleet", q),
  fleetHistory: (since: string) => get<FleetSeries>("fleet/history", { since, points: 120 }),
  lastOperations: (names: string[]) => get<{ operations: Record<string, OperationSummary> }>("fleet/operations", { names: names.join(",") }),
  cluster: (name: string) => get<ClusterDetail>(`clusters/${enc(name)}`),
  resources: (name: string) => get<{ revision: string; complete: boolean; resources: ResourceRow[] }>(`clusters/${enc(name)}/resources`),
  drift: (name: string, since: string) => get<{ events: DriftEvent[] }>(`clusters/${enc(name)}/drift`, { since }),
  syncChanges: (name: string, since: string) => get<{ changes: SyncChange[] }>(`clusters/${enc(name)}/sync-changes`, { since }),
  operations: (name: string, since: string) => get<{ operations: OperationSummary[] }>(`clusters/${enc(name)}/operations`, { since, limit: 500 }),
  operation: (name: string, id: string) => get<Operation>(`clusters/${enc(name)}/operations/${enc(id)}`),
  dryRun: (name: string, action: Action) => post<DryRun>(`clusters/${enc(name)}/dry-run`, { action }),
  act: (name: string, action: Action, to?: string) => post<ActionResult>(`clusters/${enc(name)}/${action === "prune" ? "sync" : action}`, { prune: action === "prune", ...(to ? { to } : {}) }),
};

/** What the cluster page's buttons do. */
export type Action = "sync" | "prune" | "rollback" | "resume";
