/**
 * The registry secrets of shared/secrets.ts, on the texts an operator stores: the notification
 * token (one token, or a JSON array during a rotation) in local mode and as a secret's text, and
 * registry credentials (`{"username", "password"}`); malformed values are refused without being
 * quoted. (Secrets Manager itself is reached only in AWS.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../shared/config.js";
import { RegistryError } from "../../shared/images/registry.js";
import { parseRegistryAuth, parseRegistryTokens, registryTokens } from "../../shared/secrets.js";

const SECRET = "s3cr3t-value-never-quoted";

test("a registry token secret holds one token, or a JSON array of tokens for a rotation", () => {
  assert.deepEqual(parseRegistryTokens("Zk3dQ9x2LmPa7Rt0"), ["Zk3dQ9x2LmPa7Rt0"], "the generated form (40 letters and digits)");
  assert.deepEqual(parseRegistryTokens("  tok-1\n"), ["tok-1"], "blanks around it dropped (a file's final newline)");
  assert.deepEqual(parseRegistryTokens('["new-token", " old-token "]'), ["new-token", "old-token"]);
  assert.deepEqual(parseRegistryTokens("{not-json-but-not-an-array}"), ["{not-json-but-not-an-array}"], "only a leading [ is read as JSON");
});

test("a malformed registry token is refused, never quoted", () => {
  for (const [text, message] of [
    ["", /empty/],
    ["   \n", /empty/],
    [`[${SECRET}`, /start with \[ but are not JSON/],
    ["[]", /non-empty JSON array of non-empty strings/],
    [`["${SECRET}", ""]`, /non-empty JSON array of non-empty strings/],
    [`["${SECRET}", 42]`, /non-empty JSON array of non-empty strings/],
  ] as const) {
    assert.throws(
      () => parseRegistryTokens(text),
      (err: Error) => message.test(err.message) && !err.message.includes(SECRET),
      JSON.stringify(text),
    );
  }
});

test("registryTokens: CONVERGE_REGISTRY_TOKEN in local mode (before the secret's ARN); none configured is an error naming both variables", async () => {
  assert.deepEqual(await registryTokens(loadConfig({ CONVERGE_REGISTRY_TOKEN: "local-token" })), ["local-token"]);
  assert.deepEqual(await registryTokens(loadConfig({ CONVERGE_REGISTRY_TOKEN: '["a", "b"]', CONVERGE_REGISTRY_TOKEN_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x" })), [
    "a",
    "b",
  ]);
  await assert.rejects(registryTokens(loadConfig({})), /no registry token configured \(CONVERGE_REGISTRY_TOKEN or CONVERGE_REGISTRY_TOKEN_SECRET_ARN\)/);
  await assert.rejects(registryTokens(loadConfig({ CONVERGE_REGISTRY_TOKEN: "[" })), (err: Error) => !err.message.includes("CONVERGE_REGISTRY_TOKEN=") && /not JSON/.test(err.message));
});

test("registry credentials are the JSON {username, password}; anything else is a RegistryError naming the secret, not its text", () => {
  const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:converge-registry/ghcr-AbCdEf";
  assert.deepEqual(parseRegistryAuth(`{"username": "bot", "password": "${SECRET}"}`, arn), { username: "bot", password: SECRET });
  for (const text of [SECRET, `{"username": "bot"}`, `{"username": "", "password": "${SECRET}"}`, `{"user": "bot", "password": "${SECRET}"}`, `["bot", "${SECRET}"]`, "null"]) {
    assert.throws(
      () => parseRegistryAuth(text, arn),
      (err: Error) => err instanceof RegistryError && err.message.includes(arn) && !err.message.includes(SECRET),
      text,
    );
  }
});
