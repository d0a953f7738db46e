/**
 * `converge ui [--port 8080] [--open]`: the central view in a browser. A small HTTP server on
 * 127.0.0.1 serves the page built from `ui/` (Preact and uPlot bundled by esbuild into
 * `ui/dist`; built on first use when missing or older than its sources) and answers:
 *
 * - `GET /api/...`: the query API's operations, through the same code as the API function
 *   (`shared/api/query.ts`), with this process's AWS credentials or the local stack's
 *   endpoints (`shared/config.ts`). The page reads nothing else, so the same build can be
 *   hosted in AWS in front of the query API.
 * - `POST /api/clusters/{name}/dry-run` (`{ action: "sync" | "prune" | "rollback" | "resume" }`),
 *   `POST /api/clusters/{name}/sync` (`{ prune? }`), `.../rollback` (`{ to? }`), `.../resume`:
 *   the code of `converge sync`, `converge sync --dry-run`, `converge rollback` and
 *   `converge sync --resume` (cli/sync.ts), run here with the caller's credentials and recorded
 *   with the caller `user@host (converge ui)`.
 *
 * It opens no new door: it listens on 127.0.0.1 only, answers only requests whose Host is
 * 127.0.0.1 / localhost on its port (no DNS rebinding), and takes actions only with the header
 * `x-converge-ui: 1` and a JSON body, which a page of another site cannot send without a CORS
 * preflight this server never grants.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join } from "node:path";
import type { Command } from "commander";
import { handleQuery, type QueryDeps } from "../shared/api/query.js";
import { FleetView, scanFleet } from "../shared/api/fleet.js";
import { dynamo } from "../shared/compose/stores.js";
import { ValidationError } from "../shared/cluster/spec.js";
import { ClusterNotFoundError } from "../shared/store/clusters.js";
import { reconcileDeps, type Services } from "../shared/services.js";
import type { OperationRecord } from "../shared/store/operations.js";
import { buildUi, UI_DIST, uiStale } from "../ui/build.js";
import { UsageError } from "./errors.js";
import { localCaller, resumeCluster, rollbackCluster, rollbackTarget, syncDryRun, syncNow } from "./sync.js";

/** What `startUi` takes. */
export interface UiOptions {
  services: Services;
  /** Port on 127.0.0.1; 0 picks a free one (default 8080). */
  port?: number;
  /** Who actions are recorded as (default `user@host (converge ui)`). */
  caller?: string;
  /** How long fleet rows are kept at least before a new Scan, ms (default 5000; see shared/api/fleet.ts). */
  fleetMaxAgeMs?: number;
  log?: (line: string) => void;
}

/** A running `converge ui`. */
export interface UiServer {
  url: string;
  port: number;
  /** The fleet rows it serves (kept in memory, see shared/api/fleet.ts). */
  fleet: FleetView;
  /** Clusters read and how long the first read took, ms. */
  warmed: { clusters: number; ms: number };
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'",
};

/** An HTTP error with the status the page gets. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a JSON request body of at most 64 KiB. */
async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65536) throw new HttpError(413, "request body over 64 KiB");
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
    if (!body || typeof body !== "object" || Array.isArray(body)) throw new Error("not an object");
    return body as Record<string, unknown>;
  } catch {
    throw new HttpError(400, "the body must be a JSON object");
  }
}

/** The summary the page shows of an operation (its per-resource results are read through the query API). */
function summary(op: OperationRecord | undefined) {
  if (!op) return undefined;
  const { resources: _r, ...rest } = op;
  return rest;
}

/** Builds `ui/dist` when it is missing or older than `ui/src`. */
async function ensureBuilt(log: (line: string) => void): Promise<void> {
  if (!uiStale()) return;
  const t0 = Date.now();
  log("building the page into ui/dist (esbuild)...");
  const sizes = await buildUi();
  log(
    `built in ${Date.now() - t0} ms (${Object.entries(sizes)
      .map(([f, b]) => `${f} ${(b / 1024).toFixed(0)} kB`)
      .join(", ")})`,
  );
}

/**
 * Starts the server: builds the page if needed, reads the fleet once (so the first page is
 * served from memory), listens on 127.0.0.1.
 * @throws the listen error (port in use...), esbuild's error, or DynamoDB's on the first read.
 */
export async function startUi(o: UiOptions): Promise<UiServer> {
  const log = o.log ?? (() => {});
  const { services } = o;
  const caller = o.caller ?? `${localCaller()} (converge ui)`;
  await ensureBuilt(log);
  const files = new Map<string, { body: Buffer; type: string; etag: string; cache: string }>();
  for (const f of readdirSync(UI_DIST)) {
    const body = readFileSync(join(UI_DIST, f));
    // chunk names carry their content hash: cached for good; the rest revalidated by ETag
    files.set(`/${f}`, {
      body,
      type: TYPES[extname(f)] ?? "application/octet-stream",
      etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`,
      cache: f.startsWith("chunk-") ? "public, max-age=31536000, immutable" : "no-cache",
    });
  }
  files.set("/", files.get("/index.html")!);

  const fleet = new FleetView(() => scanFleet(dynamo(services.config), services.config.tables.clusters), o.fleetMaxAgeMs ?? 5000);
  const warm = await fleet.refresh();
  const deps: QueryDeps = { clusters: services.clusters, events: services.events, operations: services.operations, snapshots: services.snapshots, fleet };
  const busy = new Set<string>();
  let port = 0;

  /** One action of the cluster page, run with this process's credentials. */
  const act = async (cluster: string, verb: string, body: Record<string, unknown>): Promise<unknown> => {
    const progress: string[] = [];
    const note = (line: string) => progress.push(line);
    if (verb === "dry-run") {
      const action = body.action ?? "sync";
      if (action === "sync" || action === "prune") return { lines: await syncDryRun(services, cluster, action === "prune" ? { prune: true } : {}) };
      if (action === "rollback") {
        const to = await rollbackTarget(services, cluster, typeof body.to === "string" ? body.to : undefined);
        return { to, lines: await syncDryRun(services, cluster, { revision: to }) };
      }
      if (action === "resume") {
        const rec = await services.clusters.get(cluster);
        if (!rec) throw new ClusterNotFoundError(cluster);
        if (!rec.spec.rollback) throw new UsageError(`${cluster} is not rolled back: nothing to resume`);
        const { repoUrl, branch } = rec.spec.source;
        const auth = await reconcileDeps(services).gitAuth?.(rec.spec.source);
        const ref = rec.spec.rollback.previousRef;
        const revision = ref ? await services.git.resolveRef(repoUrl, ref, auth) : await services.git.resolveBranch(repoUrl, branch, auth);
        return { lines: [`follows ${ref ?? `branch ${branch}`} again (${revision.slice(0, 12)})`, ...(await syncDryRun(services, cluster, { revision }))] };
      }
      throw new HttpError(400, `action must be sync, prune, rollback or resume, not ${JSON.stringify(action)}`);
    }
    if (busy.has(cluster)) throw new HttpError(409, `an action on ${cluster} is already running from this page`);
    busy.add(cluster);
    try {
      if (verb === "sync") {
        const op = await syncNow(services, cluster, note, body.prune === true ? { prune: true } : {}, caller);
        log(`sync${body.prune === true ? " --prune" : ""} ${cluster} by ${caller}: ${op ? `${op.phase} ${op.id}` : "in sync, nothing to do"}`);
        return { operation: summary(op), inSync: !op, progress };
      }
      if (verb === "rollback") {
        const to = await rollbackTarget(services, cluster, typeof body.to === "string" ? body.to : undefined);
        const op = await rollbackCluster(services, cluster, to, note, caller);
        log(`rollback ${cluster} to ${to.slice(0, 12)} by ${caller}: ${op ? `${op.phase} ${op.id}` : "already there"}`);
        return { to, operation: summary(op), inSync: !op, progress };
      }
      if (verb === "resume") {
        await resumeCluster(services, cluster);
        const op = await syncNow(services, cluster, note, {}, caller);
        log(`resume ${cluster} by ${caller}: ${op ? `${op.phase} ${op.id}` : "in sync"}`);
        return { operation: summary(op), inSync: !op, progress };
      }
      throw new HttpError(404, `no action ${verb}`);
    } finally {
      busy.delete(cluster);
    }
  };

  const hostOk = (host: string | undefined) => host !== undefined && [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());

  const server = createServer(async (req, res) => {
    try {
      if (!hostOk(req.headers.host)) throw new HttpError(403, "converge ui answers requests for 127.0.0.1 and localhost only");
      const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
      if (url.pathname.startsWith("/api/")) {
        const path = url.pathname.slice(4);
        if (req.method === "GET") {
          const query = Object.fromEntries(url.searchParams);
          const t0 = performance.now();
          const r = await handleQuery({ method: "GET", path, query }, deps);
          res.setHeader("server-timing", `query;dur=${(performance.now() - t0).toFixed(1)}`);
          return send(res, r.statusCode, r.body);
        }
        if (req.method !== "POST") throw new HttpError(405, "GET or POST");
        if (req.headers["x-converge-ui"] !== "1" || !String(req.headers["content-type"]).startsWith("application/json"))
          throw new HttpError(403, "actions need the header x-converge-ui: 1 and a JSON body");
        if (req.headers.origin !== undefined && req.headers.origin !== `http://${req.headers.host}`) throw new HttpError(403, "cross-origin actions are refused");
        const m = /^\/clusters\/([^/]+)\/(dry-run|sync|rollback|resume)$/.exec(path);
        if (!m) throw new HttpError(404, `no action route ${path}`);
        return send(res, 200, await act(decodeURIComponent(m[1]!), m[2]!, await jsonBody(req)));
      }
      const file = req.method === "GET" || req.method === "HEAD" ? files.get(url.pathname) : undefined;
      if (!file) throw new HttpError(404, `not found: ${url.pathname}`);
      if (req.headers["if-none-match"] === file.etag) {
        res.writeHead(304, { etag: file.etag, "cache-control": file.cache });
        return res.end();
      }
      res.writeHead(200, { ...SECURITY_HEADERS, "content-type": file.type, "cache-control": file.cache, etag: file.etag, "content-length": file.body.length });
      res.end(req.method === "HEAD" ? undefined : file.body);
    } catch (err) {
      if (err instanceof HttpError) return send(res, err.status, { error: err.message });
      if (err instanceof ClusterNotFoundError) return send(res, 404, { error: err.message });
      if (err instanceof ValidationError) return send(res, 400, { error: err.message });
      if (err instanceof UsageError) return send(res, 409, { error: err.message });
      log(`error: ${req.method} ${req.url}: ${(err as Error).stack ?? err}`);
      return send(res, 500, { error: (err as Error).message ?? String(err) });
    }
  });
  server.requestTimeout = 0; // a sync answers when its operation ends
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 8080, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    fleet,
    warmed: { clusters: warm.rows.length, ms: warm.readMs },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Opens `url` in the desktop's browser (xdg-open, open, start); says so when it cannot. */
function openBrowser(url: string, err: (line: string) => void): void {
  const [cmd, args] = process.platform === "darwin" ? ["open", [url]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", url]] : ["xdg-open", [url]];
  const child = spawn(cmd, args as string[], { detached: true, stdio: "ignore" });
  child.on("error", () => err(`could not start ${cmd}: open ${url} in a browser`));
  child.unref();
}

/** Adds `converge ui` to `program`. */
export function registerUiCommand(program: Command, io: { svc: () => Services; out: (line: string) => void; err: (line: string) => void }): void {
  program
    .command("ui")
    .description("the central view in a browser: fleet and cluster pages served on 127.0.0.1, with this shell's AWS credentials (or the local stack's)")
    .option("--port <port>", "port on 127.0.0.1", "8080")
    .option("--open", "open the page in the default browser")
    .action(async (o: { port: string; open?: boolean }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port takes 0 to 65535, not "${o.port}"`);
      const ui = await startUi({ services: io.svc(), port, log: io.err });
      io.out(`converge ui on ${ui.url} (${ui.warmed.clusters} clusters read in ${ui.warmed.ms} ms); Ctrl-C stops it`);
      if (o.open) openBrowser(ui.url, io.err);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await ui.close();
    });
}
