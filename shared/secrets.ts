/**
 * Secrets Converge needs at run time (the webhook secret), from the environment in local mode
 * or from AWS Secrets Manager in AWS. Values are cached per process and never logged.
 */
import { readFile } from "node:fs/promises";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { ConvergeConfig } from "./config.js";

let cached: Promise<string> | undefined;

/**
 * The GitHub webhook secret: `CONVERGE_WEBHOOK_SECRET`, else the SecretString of
 * `CONVERGE_WEBHOOK_SECRET_ARN` (fetched once per warm Lambda).
 * @throws Error when neither is configured or the secret is empty.
 */
export function webhookSecret(cfg: ConvergeConfig): Promise<string> {
  if (cfg.webhookSecret) return Promise.resolve(cfg.webhookSecret);
  if (!cfg.webhookSecretArn) return Promise.reject(new Error("no webhook secret configured (CONVERGE_WEBHOOK_SECRET or CONVERGE_WEBHOOK_SECRET_ARN)"));
  cached ??= new SecretsManagerClient({ region: cfg.region })
    .send(new GetSecretValueCommand({ SecretId: cfg.webhookSecretArn }))
    .then((out) => {
      if (!out.SecretString) throw new Error(`secret ${cfg.webhookSecretArn} has no string value`);
      return out.SecretString;
    })
    .catch((err: unknown) => {
      cached = undefined;
      throw err;
    });
  return cached;
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
