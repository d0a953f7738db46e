/**
 * Constant-time checks of what a Git host sends to prove a delivery is its own: an HMAC-SHA256
 * of the raw body (GitHub, Bitbucket, Gitea/Forgejo/Gogs) or a shared token / basic-auth pair
 * (GitLab, Azure DevOps), against every secret configured for that host (two during a rotation).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Lower-case hex HMAC-SHA256 of `body` under `secret`. */
export function hmacSha256Hex(secret: string, body: Buffer | string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/**
 * Compares two strings in time independent of where they differ and of their lengths: both are
 * hashed with SHA-256 first, so `crypto.timingSafeEqual` always sees two 32-byte digests (equal
 * digests mean equal strings, short of a SHA-256 collision).
 */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash("sha256").update(a, "utf8").digest();
  const db = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(da, db);
}

/**
 * True when `signatureHex` (hex, any case, prefix already removed) is the HMAC-SHA256 of `body`
 * under one of `secrets`. Every secret is tried, so the time taken does not tell which matched.
 */
export function matchesHmac(signatureHex: string, body: Buffer, secrets: readonly string[]): boolean {
  const given = signatureHex.trim().toLowerCase();
  let ok = false;
  for (const s of secrets) ok = safeEqual(given, hmacSha256Hex(s, body)) || ok;
  return ok;
}

/** True when `given` equals one of `secrets` (a token or a `user:password` pair), every one compared. */
export function matchesToken(given: string, secrets: readonly string[]): boolean {
  let ok = false;
  for (const s of secrets) ok = safeEqual(given, s) || ok;
  return ok;
}

/**
 * Checks a `sha256=<hex HMAC-SHA256 of the body>` signature header (GitHub's
 * `X-Hub-Signature-256`, Bitbucket's `X-Hub-Signature`) against `secrets`.
 * @returns undefined when it matches one, else the reason (header missing, malformed or wrong).
 */
export function checkSha256Header(name: string, value: string | undefined, body: Buffer, secrets: readonly string[]): string | undefined {
  if (!value) return `missing ${name} header`;
  if (!value.startsWith("sha256=") || !matchesHmac(value.slice("sha256=".length), body, secrets)) return "signature does not match the payload";
  return undefined;
}
