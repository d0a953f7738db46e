/**
 * The fault injector of the chaos suite: wraps the reconcile's I/O dependencies (the ports of
 * `shared/reconcile/ports.ts`, the Kubernetes client's one request method, the resume queue,
 * the announce dependencies and the metrics publisher) so that the k-th I/O call of one
 * reconcile fails in one of three ways:
 * - `throw`: the call fails before it reaches the component (a refused connection, a throttled
 *   request the SDK gave up retrying);
 * - `timeout`: the call reaches the component and does its work, then the caller sees a
 *   timeout (the answer lost on the way back: the case that makes retries write twice);
 * - `kill`: the call and every later one never return and the reconcile is abandoned, as when
 *   the process dies there (a Lambda timeout, an out-of-memory kill): no `finally` block gets
 *   its I/O done, the lease and a started operation stay as they were.
 * Calls are counted in the order they start; a reconcile with fewer calls than k runs clean.
 */
import { ClusterUnreachableError, KubeApiError, type KubeClient } from "../../shared/kube/client.js";
import type { ResourceApi } from "../../shared/kube/resources.js";
import type { ReconcileDeps } from "../../shared/reconcile/reconcile.js";
import { publishReconcileMetrics } from "../../shared/metrics/emf.js";

/** How the k-th call fails. */
export type FaultKind = "throw" | "timeout" | "kill";

/** Which dependency a call went to: the error it fails with is the one that dependency's real client throws. */
type Port = "dynamodb" | "git" | "kubernetes" | "sqs" | "events" | "metrics";

/** The fault that fired: where and how. */
export interface Fired {
  kind: FaultKind;
  /** 1-based index of the I/O call it hit. */
  call: number;
  /** `<port>.<method>` of that call, e.g. `dynamodb.setStatus`. */
  target: string;
}

/** Thrown by a synchronous call hit by `kill`: the reconcile stops there like a dead process. */
export class KilledError extends Error {
  constructor(target: string) {
    super(`chaos: process killed at ${target}`);
    this.name = "KilledError";
  }
}

/** The error the real client of `port` would throw for a failed request. */
function failureOf(port: Port, target: string, kind: "throw" | "timeout"): Error {
  const what = kind === "throw" ? "connection reset before the request was sent" : "timed out after the request was sent";
  if (port === "kubernetes")
    return kind === "throw" ? new KubeApiError(503, "GET", target, { message: `chaos: ${what}`, reason: "ServiceUnavailable" }) : new ClusterUnreachableError(`chaos: ${target} ${what}`);
  const err = new Error(`chaos: ${target} ${what}`);
  err.name = port === "dynamodb" ? (kind === "throw" ? "ProvisionedThroughputExceededException" : "TimeoutError") : kind === "throw" ? "ECONNRESET" : "TimeoutError";
  return err;
}

/** One reconcile's injector: a fault planned at call `at` (0: none), the calls counted, what fired. */
export class Injector {
  calls = 0;
  fired?: Fired;
  private dead = false;
  private readonly clients: KubeClient[] = [];
  private onDeath: () => void = () => {};
  /** Settles when a `kill` fires. */
  readonly death = new Promise<void>((resolve) => (this.onDeath = resolve));

  /**
   * @param at the 1-based I/O call to fail (0: none), or the `<port>.<method>` target whose
   *   first call fails (e.g. `dynamodb.setStatus`)
   */
  constructor(
    private readonly at: number | string,
    private readonly kind: FaultKind,
  ) {}

  /** True once a `kill` fired: the reconcile's promise never settles and is abandoned. */
  get killed(): boolean {
    return this.dead;
  }

  /** Closes the Kubernetes clients an abandoned (killed) reconcile opened, as the dead process's sockets would be. */
  closeClients(): void {
    for (const c of this.clients) c.close();
  }

  /** Runs one I/O call through the plan: counted, and failed if it is the k-th. */
  call<T>(port: Port, method: string, run: () => T): T {
    const target = `${port}.${method}`;
    if (this.dead) return new Promise(() => {}) as T;
    const n = ++this.calls;
    if (this.fired || (n !== this.at && target !== this.at)) return run();
    this.fired = { kind: this.kind, call: n, target };
    if (this.kind === "kill") {
      this.dead = true;
      this.onDeath();
      return (
        port === "metrics"
          ? (() => {
              throw new KilledError(target);
            })()
          : new Promise(() => {})
      ) as T;
    }
    if (this.kind === "throw") {
      if (port === "metrics") throw failureOf(port, target, "throw");
      return Promise.reject(failureOf(port, target, "throw")) as T;
    }
    const out = run();
    if (!(out instanceof Promise)) throw failureOf(port, target, "timeout");
    return out.then(
      () => Promise.reject(failureOf(port, target, "timeout")),
      () => Promise.reject(failureOf(port, target, "timeout")),
    ) as T;
  }

  /** `target` with each of its methods routed through `call` (methods' own `this` is the target, so internal calls are not counted). */
  wrap<T extends object>(port: Port, target: T): T {
    return new Proxy(target, {
      get: (t, prop, receiver) => {
        const v = Reflect.get(t, prop, receiver);
        if (typeof v !== "function" || prop === "constructor") return v;
        return (...args: unknown[]) => this.call(port, String(prop), () => v.apply(t, args));
      },
    });
  }

  /** The reconcile's dependencies with every I/O call routed through this injector. */
  deps(base: ReconcileDeps): ReconcileDeps {
    const announce = base.announce && {
      ...base.announce,
      publisher: this.wrap("events", base.announce.publisher),
      ...(base.announce.fleet ? { fleet: this.wrap("dynamodb", base.announce.fleet) } : {}),
      ...(base.announce.markers ? { markers: this.wrap("dynamodb", base.announce.markers) } : {}),
      ...(base.announce.statuses ? { statuses: this.wrap("events", base.announce.statuses) } : {}),
    };
    const metrics = base.metrics ?? publishReconcileMetrics;
    return {
      ...base,
      clusters: this.wrap("dynamodb", base.clusters),
      snapshots: this.wrap("dynamodb", base.snapshots),
      events: this.wrap("dynamodb", base.events),
      operations: this.wrap("dynamodb", base.operations),
      git: this.wrap("git", base.git),
      ...(base.resume ? { resume: this.wrap("sqs", base.resume) } : {}),
      ...(announce ? { announce } : {}),
      metrics: (m) => this.call("metrics", "publish", () => metrics(m)),
      connect: async (access) => this.kube(await this.call("kubernetes", "connect", () => base.connect(access))),
    };
  }

  /** `api` with its client's requests routed through this injector. */
  private kube(api: ResourceApi): ResourceApi {
    const client = api.client;
    this.clients.push(client);
    const request = client.request.bind(client);
    client.request = (<T>(method: string, path: string, opts?: Parameters<KubeClient["request"]>[2]) =>
      this.call("kubernetes", `${method} ${path.split("?")[0]}`, () => request<T>(method, path, opts))) as KubeClient["request"];
    return api;
  }
}
