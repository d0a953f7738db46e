/** Pure rules of the registry and the queue: URL normalization, durations, validation, deduplication ids. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeRepoUrl, repoKey } from "../../shared/git/url.js";
import { formatDuration, parseClusterSpec, parseDuration, ValidationError } from "../../shared/cluster/spec.js";
import { dedupId } from "../../shared/queue/tasks.js";

test("repository URLs in every form Git accepts normalize to one key", () => {
  const forms = [
    "https://github.com/argoproj/argocd-example-apps.git",
    "https://GitHub.com/Argoproj/ArgoCD-Example-Apps",
    "http://github.com/argoproj/argocd-example-apps/",
    "git@github.com:argoproj/argocd-example-apps.git",
    "ssh://git@github.com/argoproj/argocd-example-apps",
    "ssh://git@github.com:22/argoproj/argocd-example-apps.git",
    "https://token@github.com:443/argoproj/argocd-example-apps.git",
  ];
  for (const f of forms) assert.equal(normalizeRepoUrl(f), "github.com/argoproj/argocd-example-apps", f);
  assert.equal(normalizeRepoUrl("http://127.0.0.1:8123/x.git"), "127.0.0.1:8123/x", "non-default ports are kept");
  assert.equal(repoKey("git@github.com:o/r.git", "main"), "github.com/o/r#main");
  for (const bad of ["not a url", "ftp://host/repo", "https://", "file:///etc/passwd"]) assert.throws(() => normalizeRepoUrl(bad), /repository URL/, bad);
});

test("durations parse and format", () => {
  assert.equal(parseDuration("30s"), 30);
  assert.equal(parseDuration("5m"), 300);
  assert.equal(parseDuration("1h30m"), 5400);
  assert.equal(parseDuration("2d"), 172800);
  assert.throws(() => parseDuration("5 minutes"), /invalid duration/);
  assert.throws(() => parseDuration(""), /invalid duration/);
  assert.equal(formatDuration(5400), "1h30m");
  assert.equal(formatDuration(30), "30s");
});

test("a cluster spec is validated as a whole, every problem named", () => {
  const ok = {
    name: "prod-eu-1",
    source: { repoUrl: "https://github.com/o/r", branch: "main", path: "./apps/web/" },
    namespace: "web",
    access: { type: "kubeconfig", kubeconfig: "/k" },
    intervalSeconds: 300,
  };
  const spec = parseClusterSpec(ok);
  assert.equal(spec.source.path, "apps/web", "leading ./ and trailing / dropped");
  assert.equal(spec.syncPolicy, "detect");
  assert.equal(spec.source.recursive, true);
  const err = (() => {
    try {
      parseClusterSpec({ ...ok, name: "Prod_1", intervalSeconds: 10, source: { ...ok.source, path: "a/../../b" } });
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  assert.ok(err instanceof ValidationError);
  assert.match(err.message, /^name: .*DNS label/m);
  assert.match(err.message, /^intervalSeconds: interval must be at least 30s/m);
  assert.match(err.message, /^source\.path: path must stay inside the repository/m);
  assert.throws(() => parseClusterSpec({ ...ok, access: { type: "server", server: "https://k", tokenEnv: "lower-case" } }), /tokenEnv/);
});

test("deduplication ids collapse the same revision and the same tick window, nothing else", () => {
  const at = "2026-11-23T10:00:10.000Z";
  const push = { cluster: "a", revision: "a".repeat(40), reason: "push" as const, enqueuedAt: at };
  assert.equal(dedupId(push), dedupId({ ...push, enqueuedAt: "2026-11-23T10:04:00.000Z", deliveryId: "other" }), "same cluster and revision");
  assert.notEqual(dedupId(push), dedupId({ ...push, cluster: "b" }));
  assert.notEqual(dedupId(push), dedupId({ ...push, revision: "b".repeat(40) }));
  const tick = { cluster: "a", reason: "tick" as const, enqueuedAt: at };
  assert.equal(dedupId(tick), dedupId({ ...tick, enqueuedAt: "2026-11-23T10:00:50.000Z" }), "same minute");
  assert.notEqual(dedupId(tick), dedupId({ ...tick, enqueuedAt: "2026-11-23T10:01:00.000Z" }), "next minute");
  assert.equal(dedupId(tick).length, 64, "SQS allows at most 128 characters");
});
