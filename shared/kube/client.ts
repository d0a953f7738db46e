/**
 * Raw JSON access to a cluster's API server. Authentication and TLS come from
 * @kubernetes/client-node's `KubeConfig` (kubeconfig files, bearer tokens, client
 * certificates, exec plugins); requests are plain HTTPS with a keep-alive agent so objects
 * come back exactly as the API server sent them (client-node's typed deserializer drops
 * fields it does not know and turns timestamps into Dates, which would fake drift).
 */
import * as http from "node:http";
import * as https from "node:https";
import { createHash } from "node:crypto";
import { KubeConfig } from "@kubernetes/client-node";
import type { ClusterAccess } from "../cluster/spec.js";

/** An API request that failed with an HTTP status; `status` is the Kubernetes Status object if any. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly method: string,
    readonly path: string,
    readonly status?: { reason?: string; message?: string },
  ) {
    super(`${method} ${path}: HTTP ${code}${status?.message ? `: ${status.message}` : ""}`);
    this.name = "KubeApiError";
  }
}

/** The cluster could not be reached at all (DNS, TCP, TLS, timeout): its sync status becomes Unknown. */
export class ClusterUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClusterUnreachableError";
  }
}

/**
 * Builds a KubeConfig for a kubeconfig or server access spec (EKS: see `connect.ts`).
 * `kubeconfig`: loads the file, switching to `context` when given.
 * `server`: a single-cluster config; the bearer token is read from the environment variable
 * named by `tokenEnv` at call time, never stored.
 * @throws Error when the file cannot be read or the context does not exist.
 */
export function kubeConfigFor(access: Exclude<ClusterAccess, { type: "eks" }>, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (access.type === "kubeconfig") {
    kc.loadFromFile(access.kubeconfig);
    if (access.context) {
      if (!kc.getContextObject(access.context)) throw new Error(`context "${access.context}" not found in ${access.kubeconfig}`);
      kc.setCurrentContext(access.context);
    }
  } else {
    const token = access.tokenEnv ? env[access.tokenEnv] : undefined;
    if (access.tokenEnv && !token) throw new Error(`environment variable ${access.tokenEnv} (the cluster's bearer token) is not set`);
    kc.loadFromOptions({
      clusters: [{ name: "target", server: access.server, caFile: access.caFile, skipTLSVerify: access.insecureSkipTlsVerify }],
      users: [{ name: "converge", ...(token ? { token } : {}) }],
      contexts: [{ name: "target", cluster: "target", user: "converge" }],
      currentContext: "target",
    });
  }
  return kc;
}

/** Keep-alive agents by API server and TLS material, shared by every client of this process (see `pooledAgent`). */
const agents = new Map<string, http.Agent>();
/** Agents kept at most; the least recently used one is closed past it. */
const MAX_AGENTS = 64;

/**
 * The keep-alive agent for `origin` with this TLS material, created once per process: the
 * reconciles of a warm Lambda reuse its connections instead of a TLS handshake each (the
 * credentials travel per request, in headers or the client certificate that is part of the
 * key). Idle sockets are closed after 30 s and do not keep the process alive (Node unrefs free
 * keep-alive sockets).
 */
function pooledAgent(origin: string, tls: Pick<https.RequestOptions, "ca" | "cert" | "key" | "rejectUnauthorized">, secure: boolean): http.Agent {
  const key = createHash("sha256")
    .update(JSON.stringify([origin, String(tls.ca ?? ""), String(tls.cert ?? ""), String(tls.key ?? ""), tls.rejectUnauthorized !== false]))
    .digest("hex");
  let agent = agents.get(key);
  if (agent) agents.delete(key); // re-inserted below: the map's order is the recency
  agent ??= secure
    ? new https.Agent({ keepAlive: true, maxSockets: 16, timeout: 30_000, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.rejectUnauthorized })
    : new http.Agent({ keepAlive: true, maxSockets: 16, timeout: 30_000 });
  agents.set(key, agent);
  for (const [old, a] of agents) {
    if (agents.size <= MAX_AGENTS) break;
    a.destroy();
    agents.delete(old);
  }
  return agent;
}

/** Minimal REST client over one cluster: GET / PATCH / DELETE of JSON, counting requests. */
export class KubeClient {
  /** Requests sent so far (discovery, lists, applies), for metrics, tests and benchmarks. */
  requests = 0;
  private readonly server: URL;
  private agent?: http.Agent;

  constructor(
    private readonly kc: KubeConfig,
    private readonly timeoutMs = 30_000,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.server = new URL(cluster.server);
  }

  /** The API server URL. */
  get serverUrl(): string {
    return this.server.toString();
  }

  /**
   * Sends one request. `body` is JSON-encoded unless a string.
   * @throws KubeApiError on a non-2xx answer; ClusterUnreachableError on a network/TLS failure, a timeout or credentials
   *   client-node cannot apply (e.g. an http:// server without `insecureSkipTlsVerify`).
   */
  async request<T>(method: string, path: string, opts: { body?: unknown; contentType?: string; query?: Record<string, string | undefined> } = {}): Promise<T> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const reqOpts: https.RequestOptions = { method, headers: { Accept: "application/json" } };
    try {
      await this.kc.applyToHTTPSOptions(reqOpts);
    } catch (err) {
      // the access cannot be used (plain http without insecureSkipTlsVerify, a failing exec plugin, unreadable TLS files): a retry cannot fix it
      throw new ClusterUnreachableError(`cannot use the access to ${this.server.origin}: ${(err as Error).message}`);
    }
    const isHttps = url.protocol === "https:";
    this.agent ??= pooledAgent(this.server.origin, reqOpts, isHttps);
    const payload = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = { ...(reqOpts.headers as Record<string, string>) };
    if (payload !== undefined) {
      headers["Content-Type"] = opts.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    this.requests++;
    const transport = isHttps ? https : http;
    const send = (retry: boolean) =>
      new Promise<T>((resolve, reject) => {
        const req = transport.request(
          url,
          { method, headers, agent: this.agent, ca: reqOpts.ca, cert: reqOpts.cert, key: reqOpts.key, rejectUnauthorized: reqOpts.rejectUnauthorized, timeout: this.timeoutMs },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("error", (e) => reject(new ClusterUnreachableError(`${method} ${url.pathname}: ${e.message}`)));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8");
              let json: unknown;
              try {
                json = text ? JSON.parse(text) : undefined;
              } catch {
                json = undefined;
              }
              const code = res.statusCode ?? 0;
              if (code >= 200 && code < 300) resolve(json as T);
              else reject(new KubeApiError(code, method, url.pathname, json as { message?: string }));
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
        req.on("error", (e: NodeJS.ErrnoException) => {
          // a pooled connection the server closed while idle: sent again once on a new one (Node's http docs, `request.reusedSocket`)
          if (retry && req.reusedSocket && (e.code === "ECONNRESET" || e.code === "EPIPE")) resolve(send(false));
          else reject(new ClusterUnreachableError(`cannot reach ${this.server.origin}: ${e.message}`));
        });
        if (payload !== undefined) req.write(payload);
        req.end();
      });
    return send(true);
  }

  /** Ends this client's use of the pooled connections (kept for the next client of the same API server; see `pooledAgent`). */
  close(): void {
    this.agent = undefined;
  }
}
