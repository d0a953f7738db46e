/**
 * Push deliveries of every supported Git host, built from the documented example payloads in
 * test/fixtures/webhooks/<host>/push.json (sources in the README there) with the repository
 * URL, ref and commits rewritten for the test bed, and sent over HTTP with the headers and the
 * proof (signature, token, basic auth) that host sends.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { HostName } from "../../shared/webhook/host.js";
import { hmacSha256Hex } from "../../shared/webhook/verify.js";

const ZERO = "0".repeat(40);

/**
 * What a push changes: the repository URL as clusters register it, the full ref, old and new
 * commit (`after` all zeros: deleted), and the files it changed when the payload should list
 * them (else the rewritten payload lists none, so the receiver reads them from Git: the
 * documented example's own lists name files of another repository).
 */
export interface PushSpec {
  repoUrl: string;
  ref: string;
  before: string;
  after: string;
  changed?: string[];
}

/** A documented payload, navigated by the paths of its host's documented shape. */
// biome-ignore lint/suspicious/noExplicitAny: each rewrite below walks its own host's documented JSON
type Json = Record<string, any>;

/** The documented example push payload of `host`, as stored. */
export function fixture(host: HostName): Json {
  return JSON.parse(readFileSync(new URL(`../fixtures/webhooks/${host}/push.json`, import.meta.url), "utf8")) as Json;
}

const shortName = (ref: string) => ref.replace(/^refs\/(heads|tags)\//, "");
const pathOf = (repoUrl: string) => new URL(repoUrl).pathname.replace(/^\//, "").replace(/\.git$/, "");

/** Per host: the fixture rewritten for `s`. */
const REWRITE: Record<HostName, (p: Json, s: PushSpec) => void> = {
  github(p, s) {
    const name = pathOf(s.repoUrl);
    Object.assign(p, { ref: s.ref, before: s.before, after: s.after, deleted: s.after === ZERO });
    Object.assign(p.repository, {
      name,
      full_name: `local/${name}`,
      clone_url: s.repoUrl,
      html_url: s.repoUrl.replace(/\.git$/, ""),
      git_url: s.repoUrl.replace(/^https?:/, "git:"),
      ssh_url: `git@127.0.0.1:${name}.git`,
    });
  },
  gitlab(p, s) {
    Object.assign(p, { ref: s.ref, before: s.before, after: s.after, checkout_sha: s.after === ZERO ? null : s.after });
    Object.assign(p.project, { git_http_url: s.repoUrl, web_url: s.repoUrl.replace(/\.git$/, ""), http_url: s.repoUrl });
    Object.assign(p.repository, { git_http_url: s.repoUrl, homepage: s.repoUrl.replace(/\.git$/, "") });
  },
  gitea(p, s) {
    Object.assign(p, { ref: s.ref, before: s.before, after: s.after });
    Object.assign(p.repository, { clone_url: s.repoUrl, html_url: s.repoUrl.replace(/\.git$/, "") });
  },
  "bitbucket-cloud"(p, s) {
    const change = p.push.changes[0];
    const type = s.ref.startsWith("refs/tags/") ? "tag" : "branch";
    p.repository.links.html.href = s.repoUrl.replace(/\.git$/, "");
    Object.assign(change.old, { type, name: shortName(s.ref) });
    change.old.target.hash = s.before;
    if (s.after === ZERO) change.new = null;
    else Object.assign(change.new, { type, name: shortName(s.ref), target: { ...change.new.target, hash: s.after } });
  },
  "bitbucket-server"(p, s) {
    const change = p.changes[0];
    p.repository.links.clone.find((l: Json) => l.name === "http").href = s.repoUrl;
    change.ref = { id: s.ref, displayId: shortName(s.ref), type: s.ref.startsWith("refs/tags/") ? "TAG" : "BRANCH" };
    Object.assign(change, { refId: s.ref, fromHash: s.before, toHash: s.after, type: s.after === ZERO ? "DELETE" : "UPDATE" });
  },
  "azure-devops"(p, s) {
    p.resource.refUpdates = [{ name: s.ref, oldObjectId: s.before, newObjectId: s.after }];
    p.resource.repository.remoteUrl = s.repoUrl;
  },
};

/** The documented push payload of `host` rewritten for `s`. */
export function pushFor(host: HostName, s: PushSpec): Json {
  const p = fixture(host);
  REWRITE[host](p, s);
  // the hosts that list files per commit (GitHub, GitLab, Gitea): the push's own files, or none
  if (Array.isArray(p.commits)) {
    p.commits = s.changed ? [{ ...p.commits[0], id: s.after, added: [], modified: s.changed, removed: [] }] : [];
    for (const count of ["total_commits_count", "total_commits"]) if (count in p) p[count] = p.commits.length;
  }
  return p;
}

/**
 * How to prove a delivery: `secret` signs (HMAC hosts) or is sent as the token / `user:password`
 * (GitLab, Azure DevOps); `proof: null` sends none; `proof: "<value>"` sends that value as is.
 */
export interface SendOptions {
  secret: string;
  proof?: string | null;
  delivery?: string;
  /** The event header's value when not the host's push event (`Tag Push Hook`, `diagnostics:ping`). */
  event?: string;
  /** The raw body to send instead of the payload's JSON. */
  rawBody?: string;
}

/** The headers `host` sends with `body` (text, or raw bytes that need not be UTF-8), its proof made from `o`. */
export function headersFor(host: HostName, body: string | Buffer, delivery: string, o: SendOptions): Record<string, string> {
  const hex = () => hmacSha256Hex(o.secret, body);
  const withProof = (name: string, value: () => string): Record<string, string> => (o.proof === null ? {} : { [name]: o.proof ?? value() });
  const json = { "content-type": "application/json" };
  switch (host) {
    case "github":
      return { ...json, "x-github-event": o.event ?? "push", "x-github-delivery": delivery, ...withProof("x-hub-signature-256", () => `sha256=${hex()}`) };
    case "gitlab":
      return { ...json, "x-gitlab-event": o.event ?? "Push Hook", "x-gitlab-event-uuid": delivery, "idempotency-key": delivery, ...withProof("x-gitlab-token", () => o.secret) };
    case "gitea":
      // Gitea sends its own, Gogs' and GitHub's headers (https://docs.gitea.com/usage/webhooks)
      return {
        ...json,
        "x-github-event": o.event ?? "push",
        "x-github-delivery": delivery,
        "x-gogs-event": o.event ?? "push",
        "x-gogs-delivery": delivery,
        "x-gitea-event": o.event ?? "push",
        "x-gitea-delivery": delivery,
        ...withProof("x-gitea-signature", hex),
      };
    case "bitbucket-cloud":
      return {
        ...json,
        "x-event-key": o.event ?? "repo:push",
        "x-request-uuid": delivery,
        "x-hook-uuid": randomUUID(),
        "x-attempt-number": "1",
        ...withProof("x-hub-signature", () => `sha256=${hex()}`),
      };
    case "bitbucket-server":
      return { ...json, "x-event-key": o.event ?? "repo:refs_changed", "x-request-id": delivery, ...withProof("x-hub-signature", () => `sha256=${hex()}`) };
    case "azure-devops":
      return { ...json, "x-vss-activityid": randomUUID(), ...withProof("authorization", () => `Basic ${Buffer.from(o.secret).toString("base64")}`) };
  }
}

/**
 * POSTs `payload` as `host` would and returns the status and JSON answer. For Azure DevOps the
 * delivery id is the payload's own `id`, set to `o.delivery` (or a fresh UUID).
 */
export async function sendAs(url: string, host: HostName, payload: Json, o: SendOptions): Promise<{ status: number; body: Record<string, unknown>; delivery: string }> {
  const delivery = o.delivery ?? randomUUID();
  const body = o.rawBody ?? JSON.stringify(host === "azure-devops" ? { ...payload, id: delivery } : payload);
  const res = await fetch(url, { method: "POST", headers: headersFor(host, body, delivery, o), body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, delivery };
}
