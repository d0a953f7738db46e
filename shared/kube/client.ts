/**
 * Raw JSON access to a cluster's API server. Authentication and TLS come from
 * @kubernetes/client-node's `KubeConfig` (kubeconfig files, bearer tokens, client
 * certificates, exec plugins); requests are plain HTTPS with a keep-alive agent so objects
 * come back exactly as the API server sent them (client-node's typed deserializer drops
 * fields it does not know and turns timestamps into Dates, which would fake drift).
 */
import * as http from "node:http";
import * as https from "node:https";
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
   * @throws KubeApiError on a non-2xx answer; ClusterUnreachableError on a network/TLS failure or timeout.
   */
  async request<T>(method: string, path: string, opts: { body?: unknown; contentType?: string; query?: Record<string, string | undefined> } = {}): Promise<T> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const reqOpts: https.RequestOptions = { method, headers: { Accept: "application/json" } };
    await this.kc.applyToHTTPSOptions(reqOpts);
    const isHttps = url.protocol === "https:";
    this.agent ??= isHttps
      ? new https.Agent({ keepAlive: true, maxSockets: 16, ca: reqOpts.ca, cert: reqOpts.cert, key: reqOpts.key, rejectUnauthorized: reqOpts.rejectUnauthorized })
      : new http.Agent({ keepAlive: true, maxSockets: 16 });
    const payload = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = { ...(reqOpts.headers as Record<string, string>) };
    if (payload !== undefined) {
      headers["Content-Type"] = opts.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    this.requests++;
    const transport = isHttps ? https : http;
    return new Promise<T>((resolve, reject) => {
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
      req.on("error", (e) => reject(new ClusterUnreachableError(`cannot reach ${this.server.origin}: ${e.message}`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Releases the keep-alive sockets. */
  close(): void {
    this.agent?.destroy();
  }
}
