/**
 * Real GitHub push payloads (GitHub's documented example, test/fixtures/webhooks/github)
 * pointed at the test bed's Git server, signed with @octokit/webhooks-methods, delivered over HTTP.
 */
import { randomUUID } from "node:crypto";
import { sign } from "@octokit/webhooks-methods";
import { pushFor } from "./webhooks.js";

/** A real push payload (GitHub's example for a branch push) rewritten for `repoUrl`, `branch`, `before` → `after`. */
export function pushPayload(repoUrl: string, branch: string, before: string, after: string): Record<string, unknown> {
  return pushFor("github", { repoUrl, ref: `refs/heads/${branch}`, before, after });
}

/** Options of one delivery; `signature: null` sends none, a string sends that one. */
export interface DeliveryOptions {
  secret: string;
  event?: string;
  delivery?: string;
  signature?: string | null;
  rawBody?: string;
}

/** POSTs a delivery as GitHub does and returns the status and JSON answer. */
export async function deliver(url: string, payload: unknown, o: DeliveryOptions): Promise<{ status: number; body: Record<string, unknown>; delivery: string }> {
  const body = o.rawBody ?? JSON.stringify(payload);
  const delivery = o.delivery ?? randomUUID();
  const headers: Record<string, string> = { "content-type": "application/json", "x-github-event": o.event ?? "push", "x-github-delivery": delivery, "user-agent": "GitHub-Hookshot/test" };
  const signature = o.signature === undefined ? await sign(o.secret, body) : o.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  const res = await fetch(url, { method: "POST", headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, delivery };
}
