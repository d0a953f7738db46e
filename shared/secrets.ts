/**
 * Secrets Converge needs at run time (the webhook secret), from the environment in local mode
 * or from AWS Secrets Manager in AWS. Values are cached per process and never logged.
 */
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
