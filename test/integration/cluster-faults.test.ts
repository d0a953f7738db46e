/**
 * Cluster API faults end `Unknown` with their cause instead of failing the reconcile's message
 * (which SQS would redeliver five times into the dead-letter queue while the cluster's status
 * kept saying what it said before): an API server answering `503 Service Unavailable` (a local
 * HTTP server sending the `Status` body a kube-apiserver sends,
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#http-status-codes), and a plain
 * `http://` server registered without `insecureSkipTlsVerify`, whose requests
 * @kubernetes/client-node refuses to build. Real DynamoDB Local, the real Git server.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { exampleRepo, isolated, type Isolated } from "../support/stack.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { reconcileDeps } from "../../shared/services.js";

let iso: Isolated;
let repoUrl: string;
let server: http.Server;
let serverUrl: string;
let hits = 0;

before(async () => {
  iso = await isolated("cluster-faults");
  repoUrl = exampleRepo(`cluster-faults-${Date.now()}`).url;
  server = http.createServer((_req, res) => {
    hits++;
    const body = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "the server is currently unable to handle the request", reason: "ServiceUnavailable", code: 503 };
    res.writeHead(503, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => server.close());

/** Registers `name` on the 503 server with `insecureSkipTlsVerify` as given, reconciles it once; its outcome. */
async function reconcileOn(name: string, insecureSkipTlsVerify: boolean) {
  await iso.services.clusters.add({
    name,
    source: { repoUrl, branch: "master", path: "guestbook" },
    namespace: name,
    access: { type: "server", server: serverUrl, insecureSkipTlsVerify },
    intervalSeconds: 300,
  });
  const outcome = await reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster: name, reason: "tick", enqueuedAt: new Date().toISOString() });
  return { outcome: outcome!, stored: (await iso.services.clusters.get(name))! };
}

test("an API server answering 503 leaves the cluster Unknown with the answer, without throwing", async () => {
  const before = hits;
  const { outcome, stored } = await reconcileOn("api-503", true);
  assert.ok(hits > before, "the server was asked");
  assert.equal(outcome.status.sync, "Unknown");
  assert.match(outcome.status.message ?? "", /^cluster API unavailable: GET \/\S+: HTTP 503: the server is currently unable to handle the request$/);
  assert.equal(stored.status.sync, "Unknown");
});

test("a plain http:// API server without insecureSkipTlsVerify leaves the cluster Unknown naming the access, without throwing", async () => {
  const before = hits;
  const { outcome, stored } = await reconcileOn("api-plain-http", false);
  assert.equal(hits, before, "no request was sent");
  assert.equal(outcome.status.sync, "Unknown");
  assert.match(outcome.status.message ?? "", new RegExp(`^cannot use the access to ${serverUrl}: HTTP protocol is not allowed when skipTLSVerify is not set or false$`));
  assert.equal(stored.status.sync, "Unknown");
});
