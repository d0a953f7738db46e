/**
 * A Git smart-HTTP server: Debian git's `git http-backend` run as CGI behind a small Node
 * HTTP server on 127.0.0.1 — the same protocol GitHub and GitLab serve, so isomorphic-git
 * and the git CLI talk to it as to a real host.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as http from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { repoRoot } from "./cache.js";
import { requireTool } from "./proc.js";

/** A running Git server. `requests` counts HTTP requests served (for tests). */
export interface GitServer {
  baseUrl: string;
  url(name: string): string;
  requests: number;
  stop(): Promise<void>;
}

/**
 * Serves every `<name>.git` bare repository under `root`. With `token`, requests must carry
 * HTTP Basic credentials whose password is that token (401 with a challenge otherwise).
 */
export async function startGitServer(o: { root: string; token?: string }): Promise<GitServer> {
  requireTool("git", "git serves the example repository (apt-get install git)");
  const backend = join(execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim(), "git-http-backend");
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    if (o.token) {
      const auth = req.headers.authorization ?? "";
      const password = auth.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString().split(":").slice(1).join(":") : "";
      if (password !== o.token) {
        res.writeHead(401, { "WWW-Authenticate": 'Basic realm="converge-test"' });
        res.end("authentication required\n");
        return;
      }
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const cgi = spawn(backend, [], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: o.root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        ...(req.headers["content-length"] ? { CONTENT_LENGTH: req.headers["content-length"] } : {}),
        ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: req.headers["content-encoding"] } : {}),
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
        REMOTE_ADDR: "127.0.0.1",
        REMOTE_USER: o.token ? "git" : "",
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const i = line.indexOf(":");
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on("end", () => {
      if (!headersDone) res.writeHead(502);
      res.end();
    });
    cgi.on("error", () => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    url: (name) => `${baseUrl}/${name}.git`,
    get requests() {
      return state.requests;
    },
    stop: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** The example repository bundle (../shared/fixtures beside the project, or `$CONVERGE_FIXTURES_DIR`). */
export function exampleBundle(): string {
  return join(process.env.CONVERGE_FIXTURES_DIR ?? join(repoRoot, "..", "shared", "fixtures"), "argocd-example-apps.bundle");
}

/**
 * Clones the example repository bundle into `<root>/argocd-example-apps.git` (bare, branch
 * `master`) and lets it serve any SHA and accept pushes.
 * @returns the bare repository's folder.
 * @throws Error naming the expected path when the bundle is missing.
 */
export function prepareExampleRepo(root: string): string {
  const bare = join(root, "argocd-example-apps.git");
  const bundle = exampleBundle();
  if (!existsSync(bundle)) throw new Error(`example repository bundle not found at ${bundle}: the project expects ../shared/fixtures beside it, or set CONVERGE_FIXTURES_DIR`);
  execFileSync("git", ["clone", "-q", "--bare", bundle, bare]);
  for (const [k, v] of [
    ["uploadpack.allowAnySHA1InWant", "true"],
    ["uploadpack.allowReachableSHA1InWant", "true"],
    ["http.receivepack", "true"],
  ] as const) {
    execFileSync("git", ["-C", bare, "config", k, v]);
  }
  return bare;
}
