/**
 * A real OCI registry for the test bed: CNCF distribution's `registry` (v3) with its
 * notifications sent to a local HTTP endpoint, and `crane` (go-containerregistry) to push tiny
 * images to it and list their tags. Both are built from the Go module proxy on first use
 * (neither module has `replace` directives, so `go install <pkg>@<version>` builds them) and
 * cached under `<cache>/bin/`. Nothing leaves the machine: the registry listens on 127.0.0.1,
 * stores blobs in a temp folder (or a given one) and has its OpenTelemetry trace export off
 * (`OTEL_TRACES_EXPORTER=none`, https://distribution.github.io/distribution/about/configuration/).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { cacheDir } from "./cache.js";
import { runCounting } from "./kube.js";
import { freePort, requireTool, startProcess } from "./proc.js";

const run = promisify(execFile);

/** The distribution (registry) version built. */
export const DISTRIBUTION_VERSION = "v3.1.2";
/** The go-containerregistry (crane) version built. */
export const CRANE_VERSION = "v0.22.1";

/** Time to allow a `before` that starts the registry: a first run builds both tools (module downloads included). */
export const REGISTRY_START_TIMEOUT_MS = 30 * 60_000;

/** The built tools' absolute paths. */
export interface RegistryTools {
  registry: string;
  crane: string;
}

const stderrLog = (s: string) => void process.stderr.write(`${s}\n`);

/** One `go install` target: the binary's name, its package at a version, extra `-ldflags`. */
interface GoTool {
  name: string;
  pkg: string;
  ldflags: string;
}

const TOOLS: GoTool[] = [
  {
    name: "registry",
    pkg: `github.com/distribution/distribution/v3/cmd/registry@${DISTRIBUTION_VERSION}`,
    // the version `registry --version` prints (set by distribution's Makefile the same way)
    ldflags: `-X github.com/distribution/distribution/v3/version.version=${DISTRIBUTION_VERSION}`,
  },
  { name: "crane", pkg: `github.com/google/go-containerregistry/cmd/crane@${CRANE_VERSION}`, ldflags: "" },
];

/**
 * Builds `tool` into `dir` when missing: `go install` with GOBIN set to a private temp folder
 * (CGO_ENABLED=0), then an atomic rename into place. Progress to `log`: a start line, the
 * count of compiled packages every 20 s, the total time in seconds.
 */
async function buildTool(tool: GoTool, dir: string, log: (line: string) => void): Promise<void> {
  const target = join(dir, tool.name);
  if (existsSync(target)) return;
  const tmp = mkdtempSync(`${dir}.building-`);
  const t0 = Date.now();
  let packages = 0;
  log(`building ${tool.name} (${tool.pkg}) from the Go module proxy into ${dir} (first run only)...`);
  const timer = setInterval(() => log(`  ... ${packages} packages compiled, ${Math.round((Date.now() - t0) / 1000)} s`), 20_000);
  timer.unref();
  try {
    await runCounting(
      "go",
      ["install", "-v", "-trimpath", `-ldflags=-s -w ${tool.ldflags}`.trim(), tool.pkg],
      { cwd: tmp, env: { ...process.env, CGO_ENABLED: "0", GOBIN: tmp } },
      () => void packages++,
    );
    renameSync(join(tmp, tool.name), target);
  } finally {
    clearInterval(timer);
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`built ${tool.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${packages} packages compiled)`);
}

/**
 * Builds distribution's `registry` into `<cache>/bin/distribution-v3.1.2/` and `crane` into
 * `<cache>/bin/crane-v0.22.1/` when missing there, one after the other. When both are there,
 * nothing runs.
 * @returns the binaries' absolute paths.
 * @throws Error "go is required: ..." when a build is needed and Go is not on PATH; Error with
 *   the failing command and the tail of Go's output when a build fails.
 */
export async function ensureRegistryTools(log: (line: string) => void = stderrLog): Promise<RegistryTools> {
  const dirs = { registry: cacheDir("bin", `distribution-${DISTRIBUTION_VERSION}`), crane: cacheDir("bin", `crane-${CRANE_VERSION}`) };
  const tools: RegistryTools = { registry: join(dirs.registry, "registry"), crane: join(dirs.crane, "crane") };
  if (existsSync(tools.registry) && existsSync(tools.crane)) return tools;
  requireTool("go", "Go 1.26 or later builds the OCI registry and crane for the test bed (https://go.dev/dl)");
  for (const t of TOOLS) await buildTool(t, dirs[t.name as keyof RegistryTools], log);
  return tools;
}

/** A running registry. */
export interface Registry {
  /** `127.0.0.1:<port>`: the host part of image references (`<host>/<repository>:<tag>`). */
  host: string;
  /** `http://127.0.0.1:<port>` (no trailing `/`). */
  url: string;
  /** Its log file (stdout and stderr). */
  logFile: string;
  /** Stops the registry (SIGTERM, SIGKILL after 5 s) and removes its temp folder (not a given `storageDir`). Idempotent. */
  stop(): Promise<void>;
}

/**
 * The registry's access control, written as its config's `auth` section
 * (https://distribution.github.io/distribution/about/configuration/#auth):
 * - `htpasswd`: the path of an htpasswd file of bcrypt entries (`user:$2y$...`), Basic auth;
 * - `token`: bearer tokens from `realm` for `service`, JWTs whose `iss` is `issuer`, signed by
 *   the key of a certificate that chains to `rootCertBundle` (a PEM file path), per
 *   https://distribution.github.io/distribution/spec/auth/token/.
 */
export type RegistryAuthConfig = { htpasswd: string } | { token: { realm: string; service: string; issuer: string; rootCertBundle: string } };

/** The config's `auth` section for `auth`. */
function authSection(auth: RegistryAuthConfig): Record<string, unknown> {
  if ("htpasswd" in auth) return { htpasswd: { realm: "converge-registry", path: auth.htpasswd } };
  const t = auth.token;
  return { token: { realm: t.realm, service: t.service, issuer: t.issuer, rootcertbundle: t.rootCertBundle } };
}

/**
 * The registry's configuration (keys: https://distribution.github.io/distribution/about/configuration/).
 * Written as JSON, which is YAML. The endpoint ignores blob events (their target media type
 * is `application/octet-stream`), so only manifest events are sent.
 */
function registryConfig(o: { port: number; root: string; notifyUrl?: string; notifyToken?: string; auth?: RegistryAuthConfig }): string {
  const endpoint = o.notifyUrl && {
    name: "converge",
    url: o.notifyUrl,
    headers: o.notifyToken ? { Authorization: [`Bearer ${o.notifyToken}`] } : {},
    timeout: "2s",
    threshold: 5,
    backoff: "1s",
    ignoredmediatypes: ["application/octet-stream"],
  };
  const config = {
    version: "0.1",
    log: { level: "warn", formatter: "text", accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: o.root }, maintenance: { uploadpurging: { enabled: false } } },
    http: { addr: `127.0.0.1:${o.port}`, secret: randomBytes(24).toString("hex") },
    ...(endpoint ? { notifications: { endpoints: [endpoint] } } : {}),
    ...(o.auth ? { auth: authSection(o.auth) } : {}),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Builds the tools if needed and starts `registry serve` on a free 127.0.0.1 port: filesystem
 * storage under `storageDir` (kept on stop; two registries may serve the same one) or else a
 * new temp folder, a random `http.secret`, log level warn, and when `notifyUrl` is given a
 * notification endpoint named `converge` posting event envelopes
 * (`application/vnd.docker.distribution.events.v2+json`) there with
 * `Authorization: Bearer <notifyToken>` (timeout 2 s, threshold 5, backoff 1 s). No auth unless
 * `auth` is given (see {@link RegistryAuthConfig}); crane's helpers here push without credentials,
 * so push to an open registry on the same storage.
 * Resolves once `GET /v2/` answers 200 (401 with `auth`).
 * @throws Error with the log's tail when the registry does not answer within 60 s.
 */
export async function startRegistry(o: { notifyUrl?: string; notifyToken?: string; storageDir?: string; auth?: RegistryAuthConfig; log?: (line: string) => void } = {}): Promise<Registry> {
  const tools = await ensureRegistryTools(o.log);
  const work = mkdtempSync(join(tmpdir(), "converge-registry-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(work, "config.yml");
  const root = o.storageDir ?? join(work, "storage");
  writeFileSync(config, registryConfig({ port, root, notifyUrl: o.notifyUrl, notifyToken: o.notifyToken, auth: o.auth }));
  const env = { ...process.env, OTEL_TRACES_EXPORTER: "none" };
  const readyStatus = o.auth ? 401 : 200;
  const ready = () => fetch(`${url}/v2/`).then((r) => r.status === readyStatus);
  try {
    // a registry with auth logs to its own file, next to an open one on the same storage
    const name = o.auth ? `registry-${port}` : "registry";
    const proc = await startProcess({ name, cmd: tools.registry, args: ["serve", config], env, readyPort: port, readyCheck: ready });
    const stop = async () => {
      await proc.stop();
      rmSync(work, { recursive: true, force: true });
    };
    return { host: `127.0.0.1:${port}`, url, logFile: proc.logFile, stop };
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

/** Runs crane with `args` and `--insecure` (plain HTTP), isolated from any Docker credentials; returns its stdout. */
async function crane(args: string[]): Promise<string> {
  const { crane: bin } = await ensureRegistryTools();
  const home = mkdtempSync(join(tmpdir(), "converge-crane-"));
  try {
    const { stdout } = await run(bin, [...args, "--insecure"], { env: { ...process.env, HOME: home, DOCKER_CONFIG: home } });
    return stdout;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Pushes a tiny real image `<host>/<repository>:<tag>`: an empty OCI base with one layer
 * holding the file `tag` (content: the tag), by `crane append --oci-empty-base`. The layer's
 * tar is reproducible (mtime 0, owner 0), so each tag has its own digest and the same tag the
 * same digest on every run.
 * @returns the pushed manifest's digest (`sha256:<hex>`).
 * @throws Error with crane's or tar's output when the push fails.
 */
export async function pushImage(reg: Registry, repository: string, tag: string): Promise<{ digest: string }> {
  requireTool("tar", "GNU tar builds the image's layer (apt-get install tar)");
  const dir = mkdtempSync(join(tmpdir(), "converge-image-"));
  try {
    writeFileSync(join(dir, "tag"), `${tag}\n`);
    const layer = join(dir, "layer.tar");
    await run("tar", ["-C", dir, "--format=ustar", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", layer, "tag"]);
    const out = await crane(["append", "--oci-empty-base", "-f", layer, "-t", `${reg.host}/${repository}:${tag}`]);
    const digest = /@(sha256:[0-9a-f]{64})\s*$/.exec(out)?.[1];
    if (!digest) throw new Error(`crane append printed no digest reference: ${out}`);
    return { digest };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The tags of `repository` (`crane ls`, i.e. `GET /v2/<repository>/tags/list`), in the
 * registry's order (lexical).
 * @throws Error with crane's output, e.g. when the repository is unknown.
 */
export async function listTags(reg: Registry, repository: string): Promise<string[]> {
  const out = await crane(["ls", `${reg.host}/${repository}`]);
  return out.split("\n").filter((l) => l.trim() !== "");
}
