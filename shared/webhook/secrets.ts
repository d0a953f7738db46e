/**
 * The format of Converge's webhook secret (the Secrets Manager SecretString, or
 * `CONVERGE_WEBHOOK_SECRETS` locally): a JSON object naming, per Git host, the secrets its
 * deliveries may prove — two during a rotation, the new one first:
 *
 * ```json
 * {"github": ["new", "old"], "gitlab": ["token"], "bitbucket-cloud": ["s"], "bitbucket-server": ["s"],
 *  "gitea": ["s"], "azure-devops": ["user:password"]}
 * ```
 *
 * A value may be one string instead of a list. A SecretString that is not a JSON object is the
 * GitHub secret alone (the format before other hosts were accepted). A host without an entry is
 * refused (401).
 */
import * as z from "zod";
import { describeIssues, HOST_NAMES, type HostName } from "./host.js";

/** Accepted secrets per host; a missing or empty list means the host is refused. */
export type WebhookSecrets = Partial<Record<HostName, string[]>>;

const Entry = z.union([z.string().min(1), z.array(z.string().min(1))]).transform((v) => (Array.isArray(v) ? v : [v]));

const SecretsJson = z.record(z.string(), Entry);

/**
 * Reads the webhook secret's text.
 * @throws Error naming the offending keys (never a value) when it is a JSON object of another shape.
 */
export function parseWebhookSecrets(text: string): WebhookSecrets {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { github: [text] };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return { github: [text] };
  const unknown = Object.keys(json).filter((k) => !(HOST_NAMES as readonly string[]).includes(k));
  if (unknown.length) throw new Error(`webhook secret: unknown host key(s) ${unknown.join(", ")} (expected ${HOST_NAMES.join(", ")})`);
  const parsed = SecretsJson.safeParse(json);
  if (!parsed.success) throw new Error(`webhook secret: ${describeIssues(parsed.error.issues)}`);
  return parsed.data as WebhookSecrets;
}

/** `a` with `b`'s entries appended per host (duplicates dropped). */
export function mergeWebhookSecrets(a: WebhookSecrets, b: WebhookSecrets): WebhookSecrets {
  const out: WebhookSecrets = { ...a };
  for (const k of HOST_NAMES) if (b[k]) out[k] = [...new Set([...(a[k] ?? []), ...b[k]])];
  return out;
}
