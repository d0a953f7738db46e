/**
 * The EKS bearer token: decoded, it must be a presigned STS GetCallerIdentity URL whose SigV4
 * signature covers the `x-k8s-aws-id` header. The signature is recomputed here from the
 * Signature Version 4 specification with node:crypto, independently of @smithy/signature-v4
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { eksToken, TOKEN_PREFIX } from "../../shared/kube/eks.js";

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "session/token+value" };
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

test("the token is k8s-aws-v1. + base64url of a presigned STS GetCallerIdentity URL signing x-k8s-aws-id", async () => {
  const now = new Date("2026-11-23T10:20:30Z");
  const { token, expiresAt } = await eksToken({ clusterName: "prod-eu-1", region: "eu-west-1", credentials, now });
  assert.ok(token.startsWith(TOKEN_PREFIX));
  assert.doesNotMatch(token, /[=+/]/, "base64url without padding");
  assert.equal(expiresAt, now.getTime() + 10 * 60_000);
  const url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), "base64url").toString("utf8"));
  assert.equal(url.origin, "https://sts.eu-west-1.amazonaws.com");
  assert.equal(url.pathname, "/");
  const q = url.searchParams;
  assert.equal(q.get("Action"), "GetCallerIdentity");
  assert.equal(q.get("Version"), "2011-06-15");
  assert.equal(q.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
  assert.equal(q.get("X-Amz-Credential"), "AKIDEXAMPLE/20261123/eu-west-1/sts/aws4_request");
  assert.equal(q.get("X-Amz-Date"), "20261123T102030Z");
  assert.equal(q.get("X-Amz-Expires"), "60");
  assert.equal(q.get("X-Amz-Security-Token"), credentials.sessionToken);
  assert.equal(q.get("X-Amz-SignedHeaders"), "host;x-k8s-aws-id");

  // recompute the signature from the spec (an empty GET body hashes as sha256(""), as the AWS SDKs presign STS)
  const params = [...q.entries()].filter(([k]) => k !== "X-Amz-Signature").sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalQuery = params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");
  const canonicalRequest = ["GET", "/", canonicalQuery, "host:sts.eu-west-1.amazonaws.com", "x-k8s-aws-id:prod-eu-1", "", "host;x-k8s-aws-id", createHash("sha256").update("").digest("hex")].join(
    "\n",
  );
  const scope = "20261123/eu-west-1/sts/aws4_request";
  const toSign = ["AWS4-HMAC-SHA256", "20261123T102030Z", scope, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n");
  let key = hmac(`AWS4${credentials.secretAccessKey}`, "20261123");
  for (const part of ["eu-west-1", "sts", "aws4_request"]) key = hmac(key, part);
  assert.equal(q.get("X-Amz-Signature"), createHmac("sha256", key).update(toSign).digest("hex"));

  const other = await eksToken({ clusterName: "prod-eu-2", region: "eu-west-1", credentials, now });
  assert.notEqual(other.token, token, "the cluster name is part of what is signed");
});
