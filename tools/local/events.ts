/**
 * One terminal line per event of the local control plane: a webhook delivery received, a
 * cluster registered or removed, a cluster reconciled (sync status, revision, health, drift),
 * a sync operation finished. Reconciles and operations are read back from the stores, so the
 * ones run elsewhere (`converge sync` in another shell) are reported too.
 */
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { Services } from "../../shared/services.js";
import type { ClusterRecord } from "../../shared/store/clusters.js";
import { describeTrigger, RESULT_STATUSES, type OperationSummary } from "../../shared/store/operations.js";

/** The time of day, `HH:MM:SS`, that prefixes each event line. */
export const clock = (at = new Date()) => at.toTimeString().slice(0, 8);

/** Headers naming a delivery's event, per Git host (the first present is shown). */
const EVENT_HEADERS = ["x-github-event", "x-gitlab-event", "x-event-key", "x-forgejo-event", "x-gitea-event", "x-gogs-event"];

/**
 * The line of a webhook delivery, from any Git host: `[<host> ]push <branch> <commit> received
 * -> <status>, <outcome>` for an enqueued push (GitHub's without the host name), `webhook
 * <event> received -> ...` otherwise, read from the webhook's answer (shared/webhook/receive.ts).
 */
export function describeDelivery(event: APIGatewayProxyEventV2, statusCode: number, answer: string | undefined): string {
  const h = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  let res: { host?: string; branch?: string; revision?: string; enqueued?: number; clusters?: string[]; error?: string; ignored?: string; duplicate?: boolean } = {};
  try {
    res = JSON.parse(answer ?? "{}") as typeof res;
  } catch {
    // keep the status alone
  }
  const eventName = EVENT_HEADERS.map((k) => h[k]).find(Boolean) ?? res.host ?? "(no event)";
  const what = res.branch && res.revision ? `${res.host && res.host !== "github" ? `${res.host} ` : ""}push ${res.branch} ${res.revision.slice(0, 12)}` : `webhook ${eventName}`;
  const outcome = res.error ?? res.ignored ?? (res.duplicate ? "duplicate delivery" : `${res.enqueued ?? 0} cluster(s) enqueued${res.clusters?.length ? `: ${res.clusters.join(", ")}` : ""}`);
  return `${what} received -> ${statusCode}, ${outcome}`;
}

/** The line of a reconciled cluster: `reconciled <name>: <sync> at <revision>, <health>[, drift][ — message]`. */
export function describeReconcile(c: ClusterRecord): string {
  const s = c.status;
  const drift = (["modified", "missing", "extra"] as const).filter((k) => s.counts[k] > 0).map((k) => `${s.counts[k]} ${k}`);
  const parts = [`${s.sync}${s.revision ? ` at ${s.revision.slice(0, 12)}` : ""}`, s.health, drift.join(", "), s.operation ? `operation ${s.operation.id} running` : undefined].filter(Boolean);
  return `reconciled ${c.name}: ${parts.join(", ")}${s.message ? ` — ${s.message.replace(/\s+/g, " ").slice(0, 160)}` : ""}`;
}

/** The line of a finished operation: cluster, trigger, revision, phase, result counts, message. */
export function describeOperation(op: OperationSummary): string {
  const counts = RESULT_STATUSES.filter((r) => op.counts[r]).map((r) => `${op.counts[r]} ${r}`);
  return `operation ${op.id} of ${op.cluster} (${describeTrigger(op.trigger)}) ${op.revision.slice(0, 12)}: ${op.phase}${counts.length ? ` (${counts.join(", ")})` : ""}${op.message ? ` — ${op.message.replace(/\s+/g, " ").slice(0, 160)}` : ""}`;
}

/**
 * Watches the clusters and operations tables: `check()` emits a line for each cluster added or
 * removed, each reconcile since the last check (its `lastReconcileAt` moved) and each
 * operation of a reconciled cluster that finished since the watcher started. Checks run one at
 * a time (a call during a check waits for it, then checks again).
 */
export class StoreWatcher {
  private readonly seen = new Map<string, string | undefined>();
  private readonly printed = new Set<string>();
  private since = new Date().toISOString();
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly services: Pick<Services, "clusters" | "operations">,
    private readonly emit: (line: string) => void,
  ) {}

  /** Records the clusters as they are now, without a line: only what happens next is reported. */
  async seed(): Promise<void> {
    this.since = new Date().toISOString();
    for (const c of await this.services.clusters.listAll()) this.seen.set(c.name, c.status.lastReconcileAt);
  }

  /** Emits the lines of what changed since the previous check. */
  check(): Promise<void> {
    this.running = this.running.then(() => this.scan()).catch((err: unknown) => this.emit(`watcher: ${(err as Error).message}`));
    return this.running;
  }

  private async scan(): Promise<void> {
    const all = await this.services.clusters.listAll();
    for (const name of [...this.seen.keys()].filter((n) => !all.some((c) => c.name === n))) {
      this.seen.delete(name);
      this.emit(`cluster ${name} removed`);
    }
    for (const c of all) {
      if (!this.seen.has(c.name))
        this.emit(
          `cluster ${c.name} registered: ${c.spec.source.repoUrl} ${c.spec.source.ref ?? c.spec.source.branch}:${c.spec.source.path || "/"}, sync ${c.spec.syncPolicy}${c.spec.selfHeal ? " + self-heal" : ""}${c.spec.prune ? " + prune" : ""}`,
        );
      else if (this.seen.get(c.name) === c.status.lastReconcileAt) continue;
      this.seen.set(c.name, c.status.lastReconcileAt);
      if (!c.status.lastReconcileAt) continue;
      this.emit(describeReconcile(c));
      await this.operations(c.name);
    }
  }

  private async operations(cluster: string): Promise<void> {
    const { operations } = await this.services.operations.summaries(cluster, { limit: 10 });
    for (const op of operations.reverse()) {
      if (!op.finishedAt || op.finishedAt < this.since || this.printed.has(op.id)) continue;
      this.printed.add(op.id);
      this.emit(describeOperation(op));
    }
  }
}
