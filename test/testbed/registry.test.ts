/**
 * The test bed's real OCI registry (tools/testbed/registry.ts: CNCF distribution and crane,
 * built from the Go module proxy): it starts with its notifications pointed at a local HTTP
 * server, two tags of `podinfo` are pushed with crane, and the manifest push events it delivers
 * carry the repository, tag and digest, with the endpoint's bearer token; blob events are not
 * sent. One envelope received is saved as test/fixtures/registry/distribution-push.json (the
 * registry's `host:port` replaced by `127.0.0.1:5000`, its node's by `registry:5000`) when that file is missing or
 * CONVERGE_UPDATE_FIXTURES=1 (see test/fixtures/registry/README.md).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DISTRIBUTION_VERSION, REGISTRY_START_TIMEOUT_MS, listTags, pushImage, startRegistry, type Registry } from "../../tools/testbed/registry.js";
import { waitFor } from "../support/wait.js";

const fixture = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "registry", "distribution-push.json");
const FIXTURE_HOST = "127.0.0.1:5000";
const FIXTURE_SOURCE = "registry:5000";

/** One notification as received: its headers and its body (an envelope `{ events: [...] }`). */
interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The fields of distribution's notification event the test reads (notifications/event.go). */
interface RegistryEvent {
  id: string;
  timestamp: string;
  action: string;
  target: { mediaType: string; digest: string; size: number; repository: string; tag?: string; url: string };
  request: { id: string; addr: string; host: string; method: string; useragent: string };
  source: { addr: string; instanceID: string };
}

let reg: Registry;
let server: http.Server;
const deliveries: Delivery[] = [];
const token = randomBytes(16).toString("hex");

before(
  async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const notifyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/registry-events`;
    reg = await startRegistry({ notifyUrl, notifyToken: token, log: (s) => console.error(`[registry] ${s}`) });
  },
  { timeout: REGISTRY_START_TIMEOUT_MS },
);

after(async () => {
  await reg?.stop();
  await new Promise((r) => server?.close(r));
});

/** The delivery whose envelope has the push event of `repository:tag`, and that event. */
function pushOf(repository: string, tag: string): { delivery: Delivery; event: RegistryEvent } | undefined {
  for (const delivery of deliveries) {
    const event = (JSON.parse(delivery.body) as { events: RegistryEvent[] }).events.find((e) => e.action === "push" && e.target.repository === repository && e.target.tag === tag);
    if (event) return { delivery, event };
  }
  return undefined;
}

test("the registry answers the distribution API at /v2/", async () => {
  assert.match(reg.host, /^127\.0\.0\.1:\d+$/);
  const res = await fetch(`${reg.url}/v2/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
});

test("pushed tags are notified as manifest push events with the bearer token", { timeout: 120_000 }, async () => {
  const first = await pushImage(reg, "podinfo", "6.7.1");
  const second = await pushImage(reg, "podinfo", "6.7.2");
  assert.match(first.digest, /^sha256:[0-9a-f]{64}$/);
  assert.match(second.digest, /^sha256:[0-9a-f]{64}$/);
  assert.notEqual(first.digest, second.digest, "each tag is a distinct image");

  const pushed = [
    { tag: "6.7.1", digest: first.digest },
    { tag: "6.7.2", digest: second.digest },
  ];
  for (const { tag, digest } of pushed) {
    const { delivery, event } = await waitFor(`the push event of podinfo:${tag}`, () => pushOf("podinfo", tag));
    assert.equal(delivery.headers.authorization, `Bearer ${token}`);
    assert.equal(delivery.headers["content-type"], "application/vnd.docker.distribution.events.v2+json");
    assert.equal(event.target.digest, digest);
    assert.equal(event.target.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(event.target.url, `${reg.url}/v2/podinfo/manifests/${digest}`);
    assert.equal(event.request.host, reg.host);
    assert.equal(event.request.method, "PUT");
  }
  const all = deliveries.flatMap((d) => (JSON.parse(d.body) as { events: RegistryEvent[] }).events);
  assert.deepEqual(
    all.filter((e) => e.target.mediaType === "application/octet-stream"),
    [],
    "blob events are ignored by the endpoint",
  );

  const { delivery } = pushOf("podinfo", "6.7.2")!;
  if (!existsSync(fixture) || process.env.CONVERGE_UPDATE_FIXTURES === "1") {
    mkdirSync(dirname(fixture), { recursive: true });
    // the registry's address, and the node name distribution reports as `source.addr` (`<hostname>:<port>`)
    const port = reg.host.split(":")[1];
    const body = delivery.body.replaceAll(reg.host, FIXTURE_HOST).replaceAll(`${hostname()}:${port}`, FIXTURE_SOURCE);
    writeFileSync(fixture, `${body.trimEnd()}\n`);
  }
  const saved = (JSON.parse(readFileSync(fixture, "utf8")) as { events: RegistryEvent[] }).events;
  assert.equal(saved.length, 1, "the saved envelope holds one event");
  const [e] = saved;
  assert.deepEqual([e!.action, e!.target.repository, e!.target.tag, e!.request.host], ["push", "podinfo", "6.7.2", FIXTURE_HOST]);
  assert.match(e!.target.digest, /^sha256:[0-9a-f]{64}$/);
  assert.match(e!.source.addr, /:5000$/, `the saved envelope comes from distribution ${DISTRIBUTION_VERSION} with its host replaced`);
});

test("listTags gives the pushed tags", async () => {
  assert.deepEqual(await listTags(reg, "podinfo"), ["6.7.1", "6.7.2"]);
});
