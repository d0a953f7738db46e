/**
 * `listTags` (shared/images/registry.ts) against the test bed's real registry with auth
 * (tools/testbed/registry.ts). Tags are pushed to an open registry; registries with auth serve
 * the same storage:
 * - `auth.token`: a token server here checks Basic credentials and issues RS256 JWTs with an
 *   `x5c` header (a self-signed certificate made by openssl, the registry's root cert bundle),
 *   claims per https://distribution.github.io/distribution/spec/auth/jwt/;
 * - `auth.htpasswd`: one bcrypt entry made by Python's `crypt` module.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createPrivateKey, randomBytes, randomUUID, sign, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { canonicalImage } from "../../shared/images/reference.js";
import { listTags, RegistryError } from "../../shared/images/registry.js";
import { pushImage, REGISTRY_START_TIMEOUT_MS, startRegistry, type Registry } from "../../tools/testbed/registry.js";

const run = promisify(execFile);
const SERVICE = "converge-test-registry";
const ISSUER = "converge-test-token-server";
const password = randomBytes(12).toString("hex");

let dir: string;
let open: Registry;
let tokenReg: Registry;
let htpasswdReg: Registry;
let tokenServer: http.Server;
/** The query of each token request the token server received. */
const tokenRequests: URLSearchParams[] = [];

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/** A signed JWT for `scope` (`repository:<name>:<actions>`), RS256 with the certificate in `x5c`. */
function issueToken(scope: string | null, key: string, certDer: Buffer): string {
  const now = Math.floor(Date.now() / 1000);
  const [type, name, actions] = (scope ?? "").split(":");
  const access = scope ? [{ type, name, actions: actions!.split(",").filter((a) => a === "pull") }] : [];
  const header = { typ: "JWT", alg: "RS256", x5c: [certDer.toString("base64")] };
  const claims = { iss: ISSUER, sub: "reader", aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign("sha256", Buffer.from(input), createPrivateKey(key)))}`;
}

/** The token server: 401 unless Basic `reader:<password>`, else `{token}` for the requested scope. */
function startTokenServer(key: string, certDer: Buffer): Promise<string> {
  const expected = `Basic ${Buffer.from(`reader:${password}`).toString("base64")}`;
  tokenServer = http.createServer((req, res) => {
    const query = new URL(req.url ?? "/", "http://x").searchParams;
    tokenRequests.push(query);
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="token"' }).end();
      return;
    }
    const token = issueToken(query.get("scope"), key, certDer);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  return new Promise((r) => tokenServer.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`)));
}

before(
  async () => {
    dir = mkdtempSync(join(tmpdir(), "converge-regauth-"));
    const storageDir = join(dir, "storage");
    open = await startRegistry({ storageDir, log: (s) => console.error(`[registry] ${s}`) });
    await pushImage(open, "podinfo", "6.7.0");
    await pushImage(open, "podinfo", "6.7.1");

    const [keyFile, certFile] = [join(dir, "key.pem"), join(dir, "cert.pem")];
    await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", `/CN=${ISSUER}`]);
    const certDer = new X509Certificate(readFileSync(certFile)).raw;
    const realm = await startTokenServer(readFileSync(keyFile, "utf8"), certDer);
    tokenReg = await startRegistry({ storageDir, auth: { token: { realm, service: SERVICE, issuer: ISSUER, rootCertBundle: certFile } } });

    const { stdout } = await run("python3", ["-W", "ignore", "-c", "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", password]);
    const htpasswd = join(dir, "htpasswd");
    writeFileSync(htpasswd, `reader:${stdout.trim()}\n`);
    htpasswdReg = await startRegistry({ storageDir, auth: { htpasswd } });
  },
  { timeout: REGISTRY_START_TIMEOUT_MS },
);

after(async () => {
  await Promise.all([htpasswdReg?.stop(), tokenReg?.stop(), open?.stop()]);
  await new Promise((r) => tokenServer?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("token auth: listTags with Basic credentials gets a token from the realm and lists the tags", async () => {
  const image = canonicalImage(`${tokenReg.host}/podinfo`);
  assert.deepEqual(await listTags(image, { username: "reader", password }), ["6.7.0", "6.7.1"]);
  const asked = tokenRequests.at(-1)!;
  assert.equal(asked.get("service"), SERVICE);
  assert.equal(asked.get("scope"), "repository:podinfo:pull");
});

test("token auth: anonymous and wrong-password requests are refused by the token service", async () => {
  const image = canonicalImage(`${tokenReg.host}/podinfo`);
  await assert.rejects(listTags(image), (e: Error) => e instanceof RegistryError && /token service refused the anonymous request \(HTTP 401\)/.test(e.message));
  await assert.rejects(listTags(image, { username: "reader", password: "wrong" }), (e: Error) => e instanceof RegistryError && /token service refused the credentials \(HTTP 401\)/.test(e.message));
});

test("htpasswd auth: listTags with Basic credentials lists the tags; without, a RegistryError", async () => {
  const image = canonicalImage(`${htpasswdReg.host}/podinfo`);
  assert.deepEqual(await listTags(image, { username: "reader", password }), ["6.7.0", "6.7.1"]);
  await assert.rejects(listTags(image), (e: Error) => e instanceof RegistryError && /refused the anonymous request \(HTTP 401\)/.test(e.message));
  await assert.rejects(listTags(image, { username: "reader", password: "wrong" }), (e: Error) => e instanceof RegistryError && /refused the credentials \(HTTP 401\)/.test(e.message));
});
