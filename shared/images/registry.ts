/**
 * The tags of an image repository, read over the OCI distribution API
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags):
 * `GET /v2/<name>/tags/list?n=1000`, following `Link: <...>; rel="next"` pages. A 401 with a
 * `WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge is answered the way
 * Docker does (https://distribution.github.io/distribution/spec/auth/token/): a token from the
 * realm, anonymous or with the basic credentials given, then the request again. Docker Hub's
 * API host is `registry-1.docker.io`. Loopback hosts (127.0.0.1, localhost, [::1]) and the
 * hosts of `CONVERGE_INSECURE_REGISTRIES` (comma-separated) are reached over plain HTTP.
 */

/** Registry credentials (a token as the password works for GHCR and Docker Hub). Never logged. */
export interface RegistryAuth {
  username: string;
  password: string;
}

/** A registry answer that no retry fixes (404, credentials refused) or a malformed one. */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

/** Most tag pages read: 50 pages of 1,000 tags. */
const MAX_PAGES = 50;

/** The base URL of a registry host (`docker.io` → `https://registry-1.docker.io`). */
export function registryBase(host: string, env: NodeJS.ProcessEnv = process.env): string {
  if (host === "docker.io") return "https://registry-1.docker.io";
  const insecure = (env.CONVERGE_INSECURE_REGISTRIES ?? "").split(",").map((h) => h.trim());
  const bare = host.replace(/:\d+$/, "");
  return /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(bare) || insecure.includes(host) ? `http://${host}` : `https://${host}`;
}

/** The parameters of a `Bearer` challenge, or undefined when the header is not one. */
function bearerChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^Bearer\s/i.test(header)) return undefined;
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

/** A token for `challenge` from its realm (anonymous without `auth`). @throws RegistryError when refused. */
async function fetchToken(challenge: Record<string, string>, auth: RegistryAuth | undefined, image: string): Promise<string> {
  const url = new URL(challenge.realm!);
  if (challenge.service) url.searchParams.set("service", challenge.service);
  if (challenge.scope) url.searchParams.set("scope", challenge.scope);
  const headers: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` } : {};
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new RegistryError(`${image}: the registry's token service refused the ${auth ? "credentials" : "anonymous request"} (HTTP ${res.status})`);
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new RegistryError(`${image}: the registry's token service gave no token`);
  return token;
}

/**
 * Every tag of `image` (canonical: `host/name`), in the registry's order.
 * @throws RegistryError on 404 (no such repository), credentials refused, or more than 50
 *   pages; network errors and 5xx as `fetch` gives them (a retry may help).
 */
export async function listTags(image: string, auth?: RegistryAuth, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const slash = image.indexOf("/");
  const base = registryBase(image.slice(0, slash), env);
  let next: string | undefined = `${base}/v2/${image.slice(slash + 1)}/tags/list?n=1000`;
  let authorization: string | undefined = auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` : undefined;
  const tags: string[] = [];
  for (let page = 0; next; page++) {
    if (page >= MAX_PAGES) throw new RegistryError(`${image}: more than ${MAX_PAGES} pages of tags`);
    let res: Response = await fetch(next, { headers: authorization ? { authorization } : {}, signal: AbortSignal.timeout(15_000) });
    const challenge = res.status === 401 ? bearerChallenge(res.headers.get("www-authenticate")) : undefined;
    if (challenge?.realm) {
      authorization = `Bearer ${await fetchToken(challenge, auth, image)}`;
      res = await fetch(next, { headers: { authorization }, signal: AbortSignal.timeout(15_000) });
    }
    if (res.status === 404) throw new RegistryError(`${image}: no such repository in the registry (HTTP 404)`);
    if (res.status === 401 || res.status === 403) throw new RegistryError(`${image}: the registry refused the ${auth ? "credentials" : "anonymous request"} (HTTP ${res.status})`);
    if (!res.ok) throw new Error(`${image}: the registry answered HTTP ${res.status} to the tag listing`);
    tags.push(...(((await res.json()) as { tags?: string[] | null }).tags ?? []));
    const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get("link") ?? "")?.[1];
    next = link ? new URL(link, base).toString() : undefined;
  }
  return tags;
}
