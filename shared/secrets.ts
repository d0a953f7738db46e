/**
 * Secrets Converge needs at run time (the webhook secrets, Git tokens), from the environment in local mode
 * or from AWS Secrets Manager in AWS. Values are cached per process and never logged.
 */
import { readFile } from "node:fs/promises";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { ConvergeConfig } from "./config.js";
import { mergeWebhookSecrets, parseWebhookSecrets, type WebhookSecrets } from "./webhook/secrets.js";

/** How long a warm Lambda keeps the webhook secrets before reading them again: a rotation is seen within it. */
export const WEBHOOK_SECRETS_TTL_MS = 5 * 60_000;

let cached: { at: number; secrets: Promise<WebhookSecrets> } | undefined;

/**
 * The webhook secrets per Git host (format: shared/webhook/secrets.ts). Local mode:
 * `CONVERGE_WEBHOOK_SECRET` (the GitHub secret) and/or `CONVERGE_WEBHOOK_SECRETS` (the JSON),
 * merged. AWS: the SecretString of `CONVERGE_WEBHOOK_SECRET_ARN`, cached per warm Lambda for
 * `WEBHOOK_SECRETS_TTL_MS`.
 * @throws Error when none is configured, the secret is empty or its JSON has another shape
 *   (the message names keys, never values).
 */
export function webhookSecrets(cfg: ConvergeConfig, now = Date.now()): Promise<WebhookSecrets> {
  if (cfg.webhookSecret || cfg.webhookSecrets) {
    try {
      const local = cfg.webhookSecrets ? parseWebhookSecrets(cfg.webhookSecrets) : {};
      return Promise.resolve(mergeWebhookSecrets(cfg.webhookSecret ? { github: [cfg.webhookSecret] } : {}, local));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  if (!cfg.webhookSecretArn) return Promise.reject(new Error("no webhook secret configured (CONVERGE_WEBHOOK_SECRET, CONVERGE_WEBHOOK_SECRETS or CONVERGE_WEBHOOK_SECRET_ARN)"));
  if (cached && now - cached.at < WEBHOOK_SECRETS_TTL_MS) return cached.secrets;
  const entry = {
    at: now,
    secrets: new SecretsManagerClient({ region: cfg.region }).send(new GetSecretValueCommand({ SecretId: cfg.webhookSecretArn })).then((out) => {
      if (!out.SecretString) throw new Error(`secret ${cfg.webhookSecretArn} has no string value`);
      return parseWebhookSecrets(out.SecretString);
    }),
  };
  entry.secrets.catch(() => {
    if (cached === entry) cached = undefined;
  });
  cached = entry;
  return entry.secrets;
}

const tokens = new Map<string, Promise<string>>();

/**
 * The Git token of a source's credentials: the environment variable, the file (local mode), or
 * the Secrets Manager secret (cached per warm Lambda).
 * @throws Error naming the variable or secret (never its value) when it is missing or empty.
 */
export function gitToken(c: { tokenEnv?: string; tokenFile?: string; tokenSecretArn?: string }, region: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (c.tokenFile) {
    return readFile(c.tokenFile, "utf8").then(
      (t) => {
        if (!t.trim()) throw new Error(`token file ${c.tokenFile} is empty`);
        return t.trim();
      },
      () => {
        throw new Error(`token file ${c.tokenFile} cannot be read`);
      },
    );
  }
  if (c.tokenEnv) {
    const v = env[c.tokenEnv];
    return v ? Promise.resolve(v) : Promise.reject(new Error(`environment variable ${c.tokenEnv} (the Git token) is not set`));
  }
  const arn = c.tokenSecretArn!;
  let p = tokens.get(arn);
  if (!p) {
    p = new SecretsManagerClient({ region }).send(new GetSecretValueCommand({ SecretId: arn })).then((out) => {
      if (!out.SecretString) throw new Error(`secret ${arn} has no string value`);
      return out.SecretString;
    });
    p.catch(() => tokens.delete(arn));
    tokens.set(arn, p);
  }
  return p;
}
