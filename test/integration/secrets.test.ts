/**
 * Failed renders whose parser or tool quotes a Secret's value (shared/render/secret-material.ts),
 * each reconciled for real from the Git server with the kubectl layer's kustomize and helm: the
 * cluster is Error naming the file, and neither its status, nor the render failure a second
 * cluster on the same source reads back from the snapshots table, nor the events log carries
 * the value. And Secrets the real API server refuses with a message quoting a value it could
 * not read (shared/kube/resources.ts): the refusal comes back, and is recorded, without it.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes, randomInt } from "node:crypto";
import { exampleRepo, isolated, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { reconcileDeps } from "../../shared/services.js";
import { REDACTED } from "../../shared/diff/secret.js";
import { connectCluster } from "../../shared/kube/connect.js";
import { KubeApiError } from "../../shared/kube/client.js";

const [k1] = stackEnv().clusters;
let iso: Isolated;
let head: string;

const value = () => `cvg-secret-${randomBytes(8).toString("hex")}`;
const V = { dir: value(), kustomize: value(), helm: value(), tpl: value() };
const secret = (body: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n${body}`;
const chart = "apiVersion: v2\nname: c\nversion: 0.1.0\n";
/** A PIN written without quotes: a number where the API server wants a string. */
const PIN = `${100_000 + randomInt(900_000)}${100_000_000 + randomInt(900_000_000)}`;

/** The sources: folder → files. */
const SOURCES: Record<string, Record<string, string>> = {
  // an unquoted value starting with `*` is an alias to an anchor that does not exist
  "s-dir": { "secret.yaml": secret(`stringData:\n  password: *${V.dir}\n`) },
  // a secretGenerator literal without its `key=`: kustomize quotes it
  "s-kustomize": { "kustomization.yaml": `secretGenerator:\n- name: s\n  literals:\n  - ${V.kustomize}\n` },
  // a template failing with the value, as a validation would
  "s-helm": {
    "Chart.yaml": chart,
    "values.yaml": `password: ${V.helm}\n`,
    "templates/secret.yaml": secret('stringData:\n  password: {{ if lt (len .Values.password) 64 }}{{ fail (printf "too short: %q" .Values.password) }}{{ end }}\n'),
  },
  // a value that is not a template, given to `tpl`: helm quotes the template it cannot parse
  "s-tpl": { "Chart.yaml": chart, "values.yaml": `password: "${V.tpl}{{"\n`, "templates/secret.yaml": secret("stringData:\n  password: {{ tpl .Values.password . }}\n") },
};

/** The file each failure must name, and what the message must hold besides. */
const EXPECT: Record<string, { value: string; message: RegExp }> = {
  "s-dir": { value: V.dir, message: /^s-dir\/secret\.yaml:6:13: unknown anchor '\[redacted\]' referenced$/ },
  "s-kustomize": { value: V.kustomize, message: /^s-kustomize\/kustomization\.yaml:1: kustomize failed: .*invalid literal source \[redacted\], expected key=value/ },
  "s-helm": { value: V.helm, message: /^s-helm\/Chart\.yaml:1: helm failed: Error: execution error at \(c\/templates\/secret\.yaml:6:\d+\): too short: "\[redacted\]"/ },
  "s-tpl": { value: V.tpl, message: /^s-tpl\/Chart\.yaml:1: helm failed: .*cannot parse template "\[redacted\]"/ },
};

before(async () => {
  iso = await isolated("secrets");
  const repo = exampleRepo(`secrets-${Date.now()}`);
  for (const [dir, files] of Object.entries(SOURCES)) {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(repo.work, dir, path, ".."), { recursive: true });
      writeFileSync(join(repo.work, dir, path), content);
    }
  }
  mkdirSync(join(repo.work, "s-pin"));
  writeFileSync(join(repo.work, "s-pin", "secret.yaml"), secret(`stringData:\n  pin: ${PIN}\n`));
  repo.git("add", "-A");
  repo.git("commit", "-q", "-m", "secrets in failing sources");
  head = repo.push();
  for (const path of Object.keys(SOURCES)) {
    for (const name of [path, `${path}-2`]) {
      await iso.services.clusters.add({
        name,
        source: { repoUrl: repo.url, branch: "master", path },
        namespace: "default",
        access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
        intervalSeconds: 300,
      });
    }
  }
  const access = { type: "kubeconfig" as const, kubeconfig: k1!.kubeconfig, context: k1!.context };
  await iso.services.clusters.add({
    name: "s-pin",
    source: { repoUrl: repo.url, branch: "master", path: "s-pin" },
    namespace: "secrets-test",
    access,
    intervalSeconds: 300,
    syncPolicy: "apply",
    syncOptions: { createNamespace: true },
  });
});

const reconcile = (name: string) => reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster: name, revision: head, reason: "push", enqueuedAt: new Date().toISOString() });

test("a failed render quoting a Secret's value is Error naming its file, the value redacted in the status, the stored failure and the events", async () => {
  const log = process.env.CONVERGE_EVENTS_LOG;
  const from = log && existsSync(log) ? readFileSync(log).length : 0;
  for (const [name, want] of Object.entries(EXPECT)) {
    const first = await reconcile(name);
    // the second cluster on the same source reads the first one's render failure back from the snapshots table
    const second = await reconcile(`${name}-2`);
    for (const out of [first, second]) {
      assert.equal(out!.status.sync, "Error", name);
      assert.match(out!.status.message!, want.message, name);
      assert.ok(!out!.status.message!.includes(want.value), `${name}: ${out!.status.message}`);
      assert.equal((await iso.services.clusters.get(out!.cluster))!.status.message, out!.status.message);
    }
  }
  const events = log && existsSync(log) ? readFileSync(log).subarray(from).toString("utf8") : "";
  assert.ok(events.includes(REDACTED), "the Error transitions are announced with the redacted message");
  for (const [name, want] of Object.entries(EXPECT)) assert.ok(!events.includes(want.value), `${name}: its value is in the events log`);
});

test("a Secret the API server refuses quoting a value it could not read: the error, the status and the events log are without it", async () => {
  const api = await connectCluster({ type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context });
  try {
    const err = await api.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "map-value", namespace: "default" }, data: { pw: { nested: V.dir } } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof KubeApiError, String(err));
    assert.match(err.message, /\.data\.pw: expected string/);
    assert.ok(err.message.includes(REDACTED) && !err.message.includes(V.dir), err.message);
  } finally {
    api.client.close();
  }
  const log = process.env.CONVERGE_EVENTS_LOG;
  const from = log && existsSync(log) ? readFileSync(log).length : 0;
  const out = await reconcile("s-pin");
  // a 500 on one object's write refuses that object: the operation fails (retried by policy), the cluster is not Unknown, nothing left Running
  assert.equal(out!.status.sync, "OutOfSync");
  assert.equal(await iso.services.operations.running("s-pin"), undefined);
  assert.equal((await iso.services.operations.history("s-pin")).operations[0]?.phase, "Failed");
  assert.match(out!.status.message!, /secrets\/s: HTTP 500: .*\.stringData\.pin: expected string/);
  assert.ok(out!.status.message!.includes(REDACTED) && !out!.status.message!.includes(PIN), out!.status.message);
  const events = log && existsSync(log) ? readFileSync(log).subarray(from).toString("utf8") : "";
  assert.ok(!events.includes(PIN), "the events log");
});
