/**
 * A real Gitea for the test bed: `code.gitea.io/gitea` built from the Go module proxy (its
 * go.mod has `replace` directives, so `go install pkg@version` refuses it: the module is
 * downloaded with `go mod download` and built in its own folder), run on 127.0.0.1 with SQLite
 * (pure Go since Gitea 1.27: no cgo, no build tags) and without bindata: templates, options
 * (locales, licences, .gitignore templates) and public files are read at run time from a copy of
 * the module's folders beside the binary (`[server] STATIC_ROOT_PATH`). The web UI's built
 * JS/CSS are absent; the API, Git over HTTP and webhooks do not need them.
 *
 * Nothing leaves the machine: the update checker is off, the mailer is off, Gravatar and
 * federated avatars are off by default (admin panel settings since 1.22, not app.ini keys;
 * Gitea 1.27 has no `OFFLINE_MODE` any more), and webhooks may only call loopback addresses
 * (`[security] ALLOWED_HOST_LIST = loopback`, https://docs.gitea.com/administration/config-cheat-sheet).
 */
import { execFile, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { cacheDir } from "./cache.js";
import { runCounting } from "./kube.js";
import { freePort, requireTool, startProcess } from "./proc.js";

const run = promisify(execFile);

/** What is built. */
export const GITEA_VERSION = "v1.27.3";

/** The built Gitea: the binary and the folder it reads templates/options/public from. */
export interface GiteaBinary {
  gitea: string;
  staticRoot: string;
}

const stderrLog = (s: string) => void process.stderr.write(`${s}\n`);
const STATIC_DIRS = ["options", "templates", "public"];

/**
 * Builds Gitea into `<cache>/bin/gitea-v1.27.3/` when missing there: `go mod download` of the
 * module, `go build` in its folder (CGO_ENABLED=0, version-stamped), and a copy of its
 * `options`, `templates` and `public` folders (about 16 MB). Go writes into a private temp
 * folder; everything is renamed into place at the end, the binary last, so an interrupted build
 * is never taken for a finished one. Progress goes to `log`: a start line, a count of compiled
 * packages every 20 s, the total time. When the binary is there, nothing runs.
 * @throws Error "go is required: ..." when Go is not on PATH; Error with the failing command and
 *   the tail of Go's output when the download or the build fails.
 */
export async function ensureGitea(log: (line: string) => void = stderrLog): Promise<GiteaBinary> {
  const dir = cacheDir("bin", `gitea-${GITEA_VERSION}`);
  const b: GiteaBinary = { gitea: join(dir, "gitea"), staticRoot: dir };
  if (existsSync(b.gitea)) return b;
  requireTool("go", "Go 1.26 or later builds Gitea for the test bed (https://go.dev/dl)");
  const tmp = mkdtempSync(`${dir}.building-`);
  const t0 = Date.now();
  let packages = 0;
  log(`building Gitea ${GITEA_VERSION} from the Go module proxy into ${dir} (first run only, about 10 minutes on 2 cores)...`);
  const timer = setInterval(() => log(`  ... ${packages} packages compiled, ${Math.round((Date.now() - t0) / 1000)} s`), 20_000);
  timer.unref();
  try {
    const { stdout } = await run("go", ["mod", "download", "-json", `code.gitea.io/gitea@${GITEA_VERSION}`], { maxBuffer: 1 << 20 });
    const moduleDir = (JSON.parse(stdout) as { Dir: string }).Dir;
    await runCounting(
      "go",
      ["build", "-v", "-trimpath", "-buildvcs=false", `-ldflags=-s -w -X "main.Version=${GITEA_VERSION.slice(1)}"`, "-o", join(tmp, "gitea"), "."],
      { cwd: moduleDir, env: { ...process.env, CGO_ENABLED: "0" } },
      () => void packages++,
    );
    for (const d of STATIC_DIRS) cpSync(join(moduleDir, d), join(tmp, d), { recursive: true });
    // the module cache's files are read-only: make the copies removable by their owner
    execFileSync("chmod", ["-R", "u+w", tmp]);
    for (const d of STATIC_DIRS) {
      rmSync(join(dir, d), { recursive: true, force: true });
      renameSync(join(tmp, d), join(dir, d));
    }
    renameSync(join(tmp, "gitea"), b.gitea);
  } finally {
    clearInterval(timer);
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`built Gitea in ${Math.round((Date.now() - t0) / 1000)} s (${packages} packages compiled)`);
  return b;
}

/** A running Gitea with one admin user and an API token for it. */
export interface Gitea {
  /** `http://127.0.0.1:<port>` (no trailing `/`). */
  url: string;
  /** The admin's name and password (HTTP Basic), and a token with `write:repository` and `write:user`. */
  username: string;
  password: string;
  token: string;
  /** Gitea's work folder (app.ini, SQLite database, repositories); removed by stop(). */
  work: string;
  /** Its log file (stdout and stderr). */
  logFile: string;
  /**
   * Calls the API under `/api/v1` with the token; returns the parsed JSON (undefined for 204).
   * @throws Error with the method, path, HTTP status and body on a non-2xx answer.
   */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** `http://<user>:<token>@127.0.0.1:<port>/<owner>/<repo>.git`, for the git CLI. */
  cloneUrl(repo: string, withCredentials?: boolean): string;
  /** Stops Gitea (SIGTERM, SIGKILL after 5 s) and removes its work folder. Idempotent. */
  stop(): Promise<void>;
}

/** Gitea's app.ini for the test bed (keys: https://docs.gitea.com/administration/config-cheat-sheet). */
function appIni(o: { work: string; port: number; staticRoot: string; internalToken: string; secretKey: string }): string {
  const sections: Record<string, Record<string, string | number | boolean>> = {
    "": {
      APP_NAME: "converge test bed",
      RUN_MODE: "prod",
      RUN_USER: userInfo().username,
      WORK_PATH: o.work,
      // Gitea refuses to run as root unless told; CI and these machines run as root
      ...(userInfo().uid === 0 ? { I_AM_BEING_UNSAFE_RUNNING_AS_ROOT: true } : {}),
    },
    server: {
      PROTOCOL: "http",
      HTTP_ADDR: "127.0.0.1",
      HTTP_PORT: o.port,
      DOMAIN: "127.0.0.1",
      ROOT_URL: `http://127.0.0.1:${o.port}/`,
      LOCAL_ROOT_URL: `http://127.0.0.1:${o.port}/`,
      STATIC_ROOT_PATH: o.staticRoot,
      APP_DATA_PATH: join(o.work, "data"),
      DISABLE_SSH: true,
      START_SSH_SERVER: false,
      LFS_START_SERVER: false,
    },
    database: { DB_TYPE: "sqlite3", PATH: join(o.work, "data", "gitea.db") },
    repository: { ROOT: join(o.work, "repositories") },
    security: { INSTALL_LOCK: true, SECRET_KEY: o.secretKey, INTERNAL_TOKEN: o.internalToken, ALLOWED_HOST_LIST: "loopback" },
    webhook: { DELIVER_TIMEOUT: 10 },
    service: { DISABLE_REGISTRATION: true, ENABLE_NOTIFY_MAIL: false },
    mailer: { ENABLED: false },
    oauth2: { ENABLED: false },
    actions: { ENABLED: false },
    packages: { ENABLED: false },
    "cron.update_checker": { ENABLED: false },
    log: { MODE: "console", LEVEL: "Info", ROOT_PATH: join(o.work, "log") },
  };
  return `${Object.entries(sections)
    .map(([name, keys]) => [...(name ? [`[${name}]`] : []), ...Object.entries(keys).map(([k, v]) => `${k} = ${v}`)].join("\n"))
    .join("\n\n")}\n`;
}

/** An API caller for `/api/v1` of `url`, with `authorization`. */
function apiCaller(url: string, authorization: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization, accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Gitea ${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/**
 * Builds Gitea if needed and starts it on a free 127.0.0.1 port with a new temp work folder,
 * creates the admin user `converge` (`gitea admin user create`) and a token for it
 * (`POST /api/v1/users/{username}/tokens` with Basic auth, scopes `write:repository`,
 * `write:user`). Ready in a few seconds once built.
 * @throws Error with the log's tail when Gitea does not answer `/api/v1/version` within 60 s,
 *   or the failing command's output when the user or the token cannot be created.
 */
export async function startGitea(o: { log?: (line: string) => void } = {}): Promise<Gitea> {
  requireTool("git", "Gitea serves repositories with the git CLI (apt-get install git)");
  const bin = await ensureGitea(o.log);
  const work = mkdtempSync(join(tmpdir(), "converge-gitea-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const ini = join(work, "app.ini");
  writeFileSync(ini, appIni({ work, port, staticRoot: bin.staticRoot, internalToken: randomBytes(32).toString("hex"), secretKey: randomBytes(32).toString("hex") }));
  const env = { ...process.env, GITEA_WORK_DIR: work, HOME: work };
  const ready = () => fetch(`${url}/api/v1/version`).then((r) => r.ok);
  const proc = await startProcess({ name: "gitea", cmd: bin.gitea, args: ["web", "--config", ini, "--work-path", work], env, readyPort: port, readyCheck: ready });
  const stop = async () => {
    await proc.stop();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const username = "converge";
    const password = randomBytes(12).toString("hex");
    await run(
      bin.gitea,
      ["admin", "user", "create", "--config", ini, "--work-path", work, "--admin", "--username", username, "--password", password, "--email", "converge@example.com", "--must-change-password=false"],
      { env },
    );
    const basic = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    const created = await apiCaller(url, basic)<{ sha1: string }>("POST", `/users/${username}/tokens`, { name: "converge-test", scopes: ["write:repository", "write:user"] });
    const token = created.sha1;
    return {
      url,
      username,
      password,
      token,
      work,
      logFile: proc.logFile,
      api: apiCaller(url, `token ${token}`),
      cloneUrl: (repo, withCredentials = true) => `http://${withCredentials ? `${username}:${token}@` : ""}127.0.0.1:${port}/${repo}.git`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A repository as Gitea's API returns it (the fields the test bed reads). */
export interface GiteaRepo {
  id: number;
  name: string;
  full_name: string;
  clone_url: string;
  html_url: string;
  default_branch: string;
}

/**
 * Creates an empty public repository `name` owned by the admin (`POST /user/repos`), default
 * branch `main`.
 * @throws Error from Gitea's API (e.g. HTTP 409 when it exists).
 */
export function createRepo(g: Gitea, name: string): Promise<GiteaRepo> {
  return g.api<GiteaRepo>("POST", "/user/repos", { name, private: false, auto_init: false, default_branch: "main" });
}

/**
 * Commits `files` (path → content, `/`-separated) on `branch` of `repo` (`owner/name`) and
 * pushes over HTTP with the git CLI and the token: clones the repository (empty or not) into a
 * temp folder, writes the files, commits as "Converge Test", `git push`.
 * @returns the new commit's SHA.
 * @throws Error with git's output when a git command fails.
 */
export async function pushFiles(g: Gitea, repo: string, files: Record<string, string>, o: { branch?: string; message?: string } = {}): Promise<string> {
  const branch = o.branch ?? "main";
  const dir = mkdtempSync(join(tmpdir(), "converge-gitea-push-"));
  const env = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", HOME: dir };
  const git = (...args: string[]) => run("git", ["-c", "user.name=Converge Test", "-c", "user.email=test@converge.invalid", "-C", join(dir, "w"), ...args], { env });
  try {
    await run("git", ["clone", "-q", g.cloneUrl(repo), join(dir, "w")], { env });
    await git("checkout", "-q", "-B", branch);
    for (const [path, content] of Object.entries(files)) {
      const file = join(dir, "w", ...path.split("/"));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
    await git("add", "-A");
    await git("commit", "-q", "-m", o.message ?? `update ${Object.keys(files).join(", ")}`);
    await git("push", "-q", "origin", `HEAD:refs/heads/${branch}`);
    return (await git("rev-parse", "HEAD")).stdout.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Adds a webhook of type `gitea` to `repo` (`POST /repos/{owner}/{repo}/hooks`): JSON body,
 * signed with `secret` (`X-Gitea-Signature`: hex HMAC-SHA256 of the body), push events on
 * every branch, delivered to `url`.
 * @returns the hook's id.
 */
export async function addWebhook(g: Gitea, repo: string, url: string, secret: string): Promise<number> {
  const hook = await g.api<{ id: number }>("POST", `/repos/${repo}/hooks`, {
    type: "gitea",
    config: { url, content_type: "json", secret },
    events: ["push"],
    branch_filter: "*",
    active: true,
  });
  return hook.id;
}

/** One commit status as Gitea's API returns it. */
export interface GiteaStatus {
  id: number;
  status: string;
  context: string;
  description: string;
  target_url: string;
}

/** The statuses of `ref` in `repo`, newest first (`GET /repos/{owner}/{repo}/commits/{ref}/statuses`). */
export function commitStatuses(g: Gitea, repo: string, ref: string): Promise<GiteaStatus[]> {
  return g.api<GiteaStatus[]>("GET", `/repos/${repo}/commits/${ref}/statuses?limit=50`);
}

/** The combined status of `ref` (`GET /repos/{owner}/{repo}/commits/{ref}/status`): the worst state and the latest status per context. */
export function combinedStatus(g: Gitea, repo: string, ref: string): Promise<{ state: string; sha: string; total_count: number; statuses: GiteaStatus[] }> {
  return g.api("GET", `/repos/${repo}/commits/${ref}/status`);
}
