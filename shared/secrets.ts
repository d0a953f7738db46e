/**
 * Secrets Converge needs at run time (the webhook secrets, Git tokens, the registries'
 * notification token, registry credentials), from the environment in local mode or from AWS
 * Secrets Manager in AWS. Values are cached per process and never logged.
 */
import { readFile } from "node:fs/promises";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { ConvergeConfig } from "./config.js";
import { RegistryError, type RegistryAuth } from "./images/registry.js";
import { mergeWebhookSecrets, parseWebhookSecrets, type WebhookSecrets } from "./webhook/secrets.js";

/** How long a warm Lambda keeps the webhook secrets before reading them again: a rotation is seen within it. */
export const WEBHOOK_SECRETS_TTL_MS = 5 * 60_000;

/** How long a warm Lambda keeps the registry token and registry credentials (as the webhook secrets). */
export const REGISTRY_SECRETS_TTL_MS = WEBHOOK_SECRETS_TTL_MS;

/** Name prefix of the Secrets Manager secrets holding registry credentials that the images function may read (infra/constructs/images.ts). */
export const REGISTRY_SECRET_PREFIX = "converge-registry/";

const cached = new Map<string, { at: number; value: Promise<unknown> }>();

/** A secret holding binary data, or nothing, where text is expected. */
class NoSecretStringError extends Error {
  constructor(arn: string) {
    super(`secret ${arn} has no string value`);
    this.name = "NoSecretStringError";
  }
}

/**
 * `parse` of the SecretString of `arn`, read at most once per `ttlMs` per warm Lambda; a failed
 * read is not kept (the next call reads again). `kind` separates what one ARN is read as.
 * @throws NoSecretStringError when the secret has no string value; what `parse` and Secrets Manager throw.
 */
function cachedSecret<T>(kind: string, arn: string, region: string, ttlMs: number, now: number, parse: (text: string) => T): Promise<T> {
  const key = `${kind} ${arn}`;
  const hit = cached.get(key);
  if (hit && now - hit.at < ttlMs) return hit.value as Promise<T>;
  const entry = {
    at: now,
    value: new SecretsManagerClient({ region }).send(new GetSecretValueCommand({ SecretId: arn })).then((out) => {
      if (!out.SecretString) throw new NoSecretStringError(arn);
      return parse(out.SecretString);
    }),
  };
  entry.value.catch(() => {
    if (cached.get(key) === entry) cached.delete(key);
  });
  cached.set(key, entry);
  return entry.value;
}

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
  return cachedSecret("webhook", cfg.webhookSecretArn, cfg.region, WEBHOOK_SECRETS_TTL_MS, now, parseWebhookSecrets);
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

/**
 * The registries' notification bearer tokens out of a secret's text: one token, or a JSON array
 * of tokens (`["new", "old"]`: both accepted during a rotation). Surrounding blanks are dropped.
 * @throws Error when it is empty, or starts with `[` and is not an array of non-empty strings
 *   (the message never quotes the text).
 */
export function parseRegistryTokens(text: string): string[] {
  const t = text.trim();
  if (!t) throw new Error("the registry token is empty");
  if (!t.startsWith("[")) return [t];
  let list: unknown;
  try {
    list = JSON.parse(t);
  } catch {
    throw new Error("the registry tokens start with [ but are not JSON: give one token, or a JSON array of tokens");
  }
  if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== "string" || !x.trim())) throw new Error("the registry tokens must be a non-empty JSON array of non-empty strings");
  return (list as string[]).map((x) => x.trim());
}

/**
 * The bearer tokens registries send with their notifications (shared/images/trigger.ts). Local
 * mode: `CONVERGE_REGISTRY_TOKEN`. AWS: the SecretString of `CONVERGE_REGISTRY_TOKEN_SECRET_ARN`,
 * cached per warm Lambda for `REGISTRY_SECRETS_TTL_MS`. Either holds one token or a JSON array
 * (`parseRegistryTokens`).
 * @throws Error when none is configured or the value is malformed (never quoting it).
 */
export async function registryTokens(cfg: Pick<ConvergeConfig, "region" | "registryToken" | "registryTokenSecretArn">, now = Date.now()): Promise<string[]> {
  if (cfg.registryToken) return parseRegistryTokens(cfg.registryToken);
  if (!cfg.registryTokenSecretArn) throw new Error("no registry token configured (CONVERGE_REGISTRY_TOKEN or CONVERGE_REGISTRY_TOKEN_SECRET_ARN)");
  return cachedSecret("registry-token", cfg.registryTokenSecretArn, cfg.region, REGISTRY_SECRETS_TTL_MS, now, parseRegistryTokens);
}

/**
 * Registry credentials out of a secret's text: the JSON `{"username": "...", "password": "..."}`
 * (a token as the password for GHCR and Docker Hub).
 * @param name the secret, for the error.
 * @throws RegistryError when it is not that JSON, or a field is missing or empty (never quoting the text).
 */
export function parseRegistryAuth(text: string, name: string): RegistryAuth {
  let v: { username?: unknown; password?: unknown } | undefined;
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    v = undefined;
  }
  const ok = (x: unknown): x is string => typeof x === "string" && x.length > 0;
  if (!v || typeof v !== "object" || !ok(v.username) || !ok(v.password)) throw new RegistryError(`registry credentials ${name}: the secret must hold the JSON {"username": "...", "password": "..."}`);
  return { username: v.username, password: v.password };
}

/** Secrets Manager errors no retry fixes: the secret is missing, refused or unreadable. */
const SECRET_REFUSED = new Set(["AccessDeniedException", "ResourceNotFoundException", "InvalidRequestException", "InvalidParameterException", "DecryptionFailure"]);

/**
 * The registry credentials of a policy's `credentialsSecretArn` (shared/images/scan.ts: the
 * images function's and `converge images`' scans): the secret's JSON `{"username", "password"}`
 * from Secrets Manager, cached per process for `REGISTRY_SECRETS_TTL_MS`.
 * @throws RegistryError naming the secret (never its value) when it is missing, refused (the
 *   images function reads only secrets named `REGISTRY_SECRET_PREFIX*`) or malformed: the scan
 *   reports it on the branch; other Secrets Manager errors as the SDK gives them (a retry may help).
 */
export async function registryCredentials(secretArn: string, region: string, now = Date.now()): Promise<RegistryAuth> {
  try {
    return await cachedSecret("registry-auth", secretArn, region, REGISTRY_SECRETS_TTL_MS, now, (text) => parseRegistryAuth(text, secretArn));
  } catch (err) {
    const name = (err as Error).name;
    if (err instanceof RegistryError || !(SECRET_REFUSED.has(name) || err instanceof NoSecretStringError)) throw err;
    throw new RegistryError(`registry credentials ${secretArn} cannot be read (${name}): name the secret ${REGISTRY_SECRET_PREFIX}... and store {"username", "password"} in it`);
  }
}
