/**
 * The image update core (shared/images): policy files (parsing, the line of each problem,
 * canonical image names), tag selection with Flux's ImagePolicy rules (the cases of Flux's own
 * image-reflector-controller tests and docs), setter markers found and rewritten in real files
 * of fluxcd/image-automation-controller, fluxcd/flux2 and stefanprodan/podinfo
 * (test/fixtures/images, Flux's expected output compared byte for byte), registry events on
 * the payloads of test/fixtures/registry (captured from distribution v3.1.2; the AWS docs' ECR
 * example), and the notification receiver and queue batch reader (shared/images/trigger.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { isBranchName, parsePolicyFile, PolicyError, pushBranch, type ImagePolicy } from "../../shared/images/policy.js";
import { canonicalImage, splitImage } from "../../shared/images/reference.js";
import { selectTag, shouldMove, tagValue } from "../../shared/images/select.js";
import { findMarkers, markedImage, MarkerError, nextValue, rewrite, type Marker } from "../../shared/images/markers.js";
import { fromDistribution, fromEcr, ImageEventError } from "../../shared/images/events.js";
import { MAX_NOTIFICATION_BYTES, receiveNotification, triggersOf } from "../../shared/images/trigger.js";
import type { ImageTrigger } from "../../shared/images/update.js";

const FIXTURES = join(fileURLToPath(import.meta.url), "..", "..", "fixtures");

/** A fixture's text: `test/fixtures/<dir>/<name>`. */
function fixture(dir: "images" | "registry", name: string): string {
  return readFileSync(join(FIXTURES, dir, name), "utf8");
}

/** A fixture's JSON, parsed again on each call (tests change their copy). */
function json(name: string): Record<string, unknown> {
  return JSON.parse(fixture("registry", name)) as Record<string, unknown>;
}

/** One policy named `app` for `ghcr.io/org/app`, with `fields`, read through a real policy file. */
function policy(fields: Record<string, unknown>): ImagePolicy {
  return parsePolicyFile(stringify({ policies: [{ name: "app", image: "ghcr.io/org/app", ...fields }] })).policies[0]!;
}

/** The 1-based numbers of the lines that differ between two texts of the same line count. */
function changedLines(before: string, after: string): number[] {
  const a = before.split("\n");
  const b = after.split("\n");
  assert.equal(b.length, a.length, "a rewrite keeps the line count");
  return a.flatMap((line, i) => (line === b[i] ? [] : [i + 1]));
}

/** What a marker says, without its offsets and style. */
function described(m: Marker): Record<string, unknown> {
  return { file: m.file, line: m.line, namespace: m.namespace, policy: m.policy, part: m.part, value: m.value };
}

// ---------------------------------------------------------------- policy files

const FILE = "deploy/.converge/images.yaml";

/** Asserts that `text` is refused with a PolicyError naming FILE, `line` and a reason matching `reason`. */
function refused(text: string, line: number, reason: RegExp): void {
  assert.throws(
    () => parsePolicyFile(text, FILE),
    (err: unknown) => {
      assert.ok(err instanceof PolicyError, String(err));
      assert.equal(err.file, FILE);
      assert.equal(err.line, line, err.message);
      assert.match(err.reason, reason);
      assert.equal(err.message, `${FILE}:${line}: ${err.reason}`);
      return true;
    },
  );
}

test("a valid policy file: every kind of policy, defaults filled, images canonical", () => {
  const text = [
    "# Image policies of this repository (Flux ImagePolicy rules)",
    "author:",
    "  name: Release Bot",
    "  email: release-bot@example.com",
    "policies:",
    "  - name: podinfo",
    "    image: ghcr.io/stefanprodan/podinfo",
    "    semver:",
    "      range: ~6.7",
    "    interval: 5m",
    "  - name: nginx",
    "    namespace: web",
    "    image: nginx",
    "    alphabetical:",
    "      order: desc",
    "  - name: app-main",
    "    image: 127.0.0.1:5000/app",
    "    filterTags:",
    "      pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)'",
    "      extract: '$ts'",
    "    numerical: {}",
    "    allowDowngrade: true",
    "    credentialsSecretArn: arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-AbCdEf",
    "",
  ].join("\n");
  assert.deepEqual(parsePolicyFile(text, FILE), {
    author: { name: "Release Bot", email: "release-bot@example.com" },
    policies: [
      { name: "podinfo", image: "ghcr.io/stefanprodan/podinfo", semver: { range: "~6.7" }, interval: "5m", allowDowngrade: false },
      { name: "nginx", namespace: "web", image: "docker.io/library/nginx", alphabetical: { order: "desc" }, allowDowngrade: false },
      {
        name: "app-main",
        image: "127.0.0.1:5000/app",
        filterTags: { pattern: "^main-[a-f0-9]+-(?P<ts>[0-9]+)", extract: "$ts" },
        numerical: { order: "asc" },
        allowDowngrade: true,
        credentialsSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-AbCdEf",
      },
    ],
  });
  const minimal = parsePolicyFile("policies:\n  - name: a\n    image: ghcr.io/o/a\n    semver: { range: '>=1.0.0' }\n");
  assert.deepEqual(minimal.author, { name: "Converge", email: "converge@users.noreply.localhost" }, "the default author");
});

test("each problem of a policy file is reported with the file and its line", () => {
  const head = "policies:\n  - name: podinfo\n    image: ghcr.io/stefanprodan/podinfo\n";
  refused(`${head}    semver:\n      range: ~six\n`, 5, /^policies\.0\.semver\.range: not a semver range/);
  refused(`${head}    semver:\n      range: ~6.7\n    alphabetical:\n      order: asc\n`, 2, /^policies\.0: give exactly one of semver, alphabetical and numerical/);
  refused(`${head}    semver: { range: ~6.7 }\n  - name: nginx\n    image: nginx\n`, 5, /^policies\.1: give exactly one/);
  refused(`${head}    semver: { range: ~6.7 }\n  - name: other\n    image: ghcr.io/o/other\n    numerical:\n      order: up\n`, 8, /^policies\.1\.numerical\.order: /);
  refused(`${head}    semver: { range: ~6.7 }\n  - name: podinfo\n    image: ghcr.io/o/other\n    semver: { range: ~1 }\n`, 5, /^policies\.1\.name: a second policy named "podinfo"/);
  refused(`${head}    filterTags:\n      pattern: '^main-(?P<ts[0-9]+)'\n    numerical: {}\n`, 5, /^policies\.0\.filterTags\.pattern: not a regular expression/);
  refused("policies:\n  - name: podinfo\n    image: ghcr.io/stefanprodan/podinfo:6.7.2\n    semver: { range: ~6.7 }\n", 3, /^policies\.0\.image: image is a repository without tag or digest/);
  refused("policies:\n  - name: podinfo\n    image: ghcr.io/stefanprodan/podinfo@sha256:4de9aafd\n    semver: { range: ~6.7 }\n", 3, /^policies\.0\.image: /);
  refused(`${head}    semver: { range: ~6.7 }\n    interval: 30s\n`, 5, /^policies\.0\.interval: interval is a duration of at least 1m/);
  refused(`${head}    semver: { range: ~6.7 }\nauthor:\n  name: Bot\n  email: not-an-email\n`, 7, /^author\.email: /);
  refused(`${head}    semver: { range: ~6.7 }\n    credentialsSecretArn: my-secret\n`, 5, /^policies\.0\.credentialsSecretArn: invalid Secrets Manager ARN/);
  refused("policies: []\n", 1, /^policies: /);
  refused("", 1, /^file: /);
  // an unknown field names the field (its line: the test below)
  assert.throws(
    () => parsePolicyFile(`${head}    semver: { range: ~6.7 }\n    intervall: 5m\n`, FILE),
    /^PolicyError: deploy\/\.converge\/images\.yaml:\d+: policies\.0: Unrecognized key: "intervall"/,
  );
});

test("YAML syntax errors of a policy file are reported at their line", () => {
  refused("policies:\n  - name: podinfo\n\t  image: ghcr.io/stefanprodan/podinfo\n", 3, /[Tt]ab/);
  refused("policies:\n  - name: podinfo\n    name: nginx\n    image: nginx\n", 3, /Map keys must be unique/);
  refused("policies:\n  - name: podinfo\n    image: ghcr.io/stefanprodan/podinfo\n    semver: { range: ~6.7\n", 5, /./);
});

test("an unknown field is reported at the field's own line", () => {
  const head = "policies:\n  - name: podinfo\n    image: ghcr.io/stefanprodan/podinfo\n";
  refused(`${head}    semver: { range: ~6.7 }\n    interval: 5m\n    intervall: 5m\n`, 6, /Unrecognized key: "intervall"/);
  refused(`${head}    semver:\n      range: ~6.7\n      rnage: ~6.8\n`, 6, /Unrecognized key: "rnage"/);
  refused(`${head}    semver: { range: ~6.7 }\nauthors: []\n`, 5, /Unrecognized key: "authors"/);
});

test("push: a branch per policy and a pull request by default; branch names checked as git does", () => {
  const head = "policies:\n  - name: podinfo\n    image: ghcr.io/stefanprodan/podinfo\n    semver: { range: ~6.7 }\n";
  const file = parsePolicyFile(`${head}push:\n  branch: converge/{policy}\n`, FILE);
  assert.deepEqual(file.push, { branch: "converge/{policy}", pullRequest: true });
  assert.equal(pushBranch(file, "podinfo"), "converge/podinfo");
  const one = parsePolicyFile(`${head}push: { branch: release, pullRequest: false }\n`, FILE);
  assert.deepEqual([pushBranch(one, "podinfo"), one.push?.pullRequest], ["release", false]);
  assert.equal(pushBranch(parsePolicyFile(head, FILE), "podinfo"), undefined, "without push: the tracked branch");
  refused(`${head}push:\n  branch: images..{policy}\n`, 6, /push\.branch: not a valid branch name/);
  refused(`${head}push:\n  branch: a\n  pullrequest: true\n`, 7, /Unrecognized key: "pullrequest"/);
  for (const ok of ["main", "converge/podinfo", "feature/a-b.c", "images_1"]) assert.ok(isBranchName(ok), ok);
  for (const bad of ["", "a..b", "a b", "-a", "/a", "a/", "a.", "a//b", "a/.b", "a.lock", "a/b.lock/c", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "a@{1}", "@", "a\tb"])
    assert.ok(!isBranchName(bad), JSON.stringify(bad));
});

test("canonicalImage names a repository as Docker resolves it", () => {
  const cases: [string, string][] = [
    ["nginx", "docker.io/library/nginx"],
    ["library/nginx", "docker.io/library/nginx"],
    ["bitnami/nginx", "docker.io/bitnami/nginx"],
    ["docker.io/nginx", "docker.io/library/nginx"],
    ["index.docker.io/library/nginx", "docker.io/library/nginx"],
    ["ghcr.io/org/app", "ghcr.io/org/app"],
    ["GHCR.io/org/app", "ghcr.io/org/app"],
    ["127.0.0.1:5000/podinfo", "127.0.0.1:5000/podinfo"],
    ["localhost/x", "localhost/x"],
    ["localhost:5000/team/x", "localhost:5000/team/x"],
    ["123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name", "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name"],
  ];
  for (const [given, canonical] of cases) assert.equal(canonicalImage(given), canonical, given);
});

// ---------------------------------------------------------------- selection

test("semver: the highest version inside the range; a leading v accepted; not versions ignored", () => {
  const tilde = policy({ semver: { range: "~6.7" } });
  assert.equal(selectTag(tilde, ["6.6.9", "6.7.0", "6.7.2", "6.7.1", "7.0.0", "6.8.0", "latest", "6.7"]), "6.7.2");
  assert.equal(selectTag(tilde, ["v6.7.1", "v6.7.2", "v7.0.0"]), "v6.7.2", "the tag as written is selected");
  assert.equal(tagValue(tilde, "7.0.0"), undefined);
  assert.equal(tagValue(tilde, "v6.7.2"), "v6.7.2");
  assert.equal(selectTag(tilde, ["7.0.0", "main", "6.8"]), undefined, "nothing inside the range");
  // Flux image-reflector-controller internal/policy/semver_test.go, TestSemVer_Latest
  const flux = policy({ semver: { range: "1.0.x" } });
  assert.equal(selectTag(flux, ["1.0.0", "1.0.0.1", "1.0.0p", "1.0.1", "1.2.0", "0.1.0"]), "1.0.1");
  assert.equal(selectTag(flux, ["v1.2.3", "v1.0.0", "v0.1.0"]), "v1.0.0");
  assert.equal(selectTag(flux, ["b1.2.3", "b1.0.0", "b0.1.0"]), undefined);
  assert.equal(selectTag(flux, ["1.2.0"]), undefined);
});

test("semver: a range without a prerelease leaves prereleases out", () => {
  const stable = policy({ semver: { range: ">=6.0.0" } });
  assert.equal(selectTag(stable, ["6.7.2", "6.8.0-rc.1", "7.0.0-beta.1"]), "6.7.2");
  assert.equal(tagValue(stable, "6.8.0-rc.1"), undefined);
  assert.equal(selectTag(policy({ semver: { range: "~6.7" } }), ["6.7.3-rc.1"]), undefined);
});

test("semver ranges read as Masterminds/semver reads them (Flux)", () => {
  const rcTags = ["1.0.0", "1.1.0-rc.1", "1.2.0-rc.1", "1.2.0-rc.2", "2.0.0-rc.1"];
  // Flux's docs, "Example of selecting the latest release candidate"
  assert.equal(selectTag(policy({ filterTags: { pattern: ".*-rc.*" }, semver: { range: "^1.x-0" } }), rcTags), "1.2.0-rc.2");
  // Masterminds/semver constraints_test.go: a range with a prerelease accepts the prereleases of other versions ("different from npm/js semver handling")
  const accepted: [string, string][] = [
    ["~1.2.3-beta.2", "1.2.4-beta.2"],
    ["^0.2.3-beta.2", "0.2.4-beta.2"],
    [">=0.0.0-0", "3.4.5-beta.1"],
  ];
  for (const [range, tag] of accepted) assert.equal(tagValue(policy({ semver: { range } }), tag), tag, `${range} accepts ${tag}`);
  // Masterminds README: "a list of space or comma separated AND comparisons"
  assert.equal(selectTag(policy({ semver: { range: ">=1.5, <2.0" } }), ["1.0.0", "1.4.0"]), undefined);
  assert.equal(selectTag(policy({ semver: { range: ">=1.5,<2.0" } }), ["1.4.0", "1.9.0", "2.1.0"]), "1.9.0");
  // Flux image-reflector-controller internal/policy/semver_test.go, TestNewSemVer: invalid ranges
  for (const r of ["1.0.0p", "1x", "x1", "-1", "a", ""]) assert.throws(() => policy({ semver: { range: r } }), PolicyError, JSON.stringify(r));
});

test("alphabetical: asc selects the last in alphabetical order, desc the first (Flux's test cases)", () => {
  // Flux image-reflector-controller internal/policy/alphabetical_test.go, TestAlphabetical_Latest
  const asc = policy({ alphabetical: { order: "asc" } });
  const desc = policy({ alphabetical: { order: "desc" } });
  assert.deepEqual(policy({ alphabetical: {} }).alphabetical, { order: "asc" }, "asc by default");
  const calver = ["16.04", "16.04.1", "16.10", "20.04", "20.10"];
  assert.equal(selectTag(asc, calver), "20.10");
  assert.equal(selectTag(desc, calver), "16.04");
  const names = ["xenial", "yakkety", "zesty", "artful", "bionic"];
  assert.equal(selectTag(asc, names), "zesty");
  assert.equal(selectTag(desc, names), "artful");
  const rfc3339 = ["2021-01-08T21-18-21Z", "2020-05-08T21-18-21Z", "2021-01-08T19-20-00Z", "1990-01-08T00-20-00Z", "2023-05-08T00-20-00Z"];
  assert.equal(selectTag(asc, rfc3339), "2023-05-08T00-20-00Z");
  assert.equal(selectTag(desc, rfc3339), "1990-01-08T00-20-00Z");
  // Flux docs: filterTags `^RELEASE\.(?P<timestamp>.*)Z$`, extract `$timestamp`
  const minio = policy({ filterTags: { pattern: "^RELEASE\\.(?P<timestamp>.*)Z$", extract: "$timestamp" }, alphabetical: { order: "asc" } });
  assert.equal(selectTag(minio, ["RELEASE.2023-05-04T21-44-30Z", "RELEASE.2024-01-01T00-00-00Z", "RELEASE.2022-10-24T18-35-07Z", "latest"]), "RELEASE.2024-01-01T00-00-00Z");
  assert.equal(tagValue(minio, "RELEASE.2024-01-01T00-00-00Z"), "2024-01-01T00-00-00");
});

test("numerical: numbers compared as numbers; filterTags with a named group and extract", () => {
  // Flux image-reflector-controller internal/policy/numerical_test.go, TestNumerical_Latest
  assert.equal(selectTag(policy({ numerical: {} }), ["-62", "-88", "73", "72", "15", "16", "15", "29", "-33", "-91"]), "73");
  assert.equal(selectTag(policy({ numerical: { order: "desc" } }), ["5", "-8", "-78", "25", "70", "-4", "80", "92", "-20", "-24"]), "-78");
  assert.equal(selectTag(policy({ numerical: {} }), ["47.40896403322944", "-27.8520927455902", "53.47333823144817", "3.2008658570411086"]), "53.47333823144817");
  // Flux docs (flux create image policy): tags `${GIT_BRANCH}-${GIT_SHA:0:7}-$(date +%s)`
  const filterTags = { pattern: "^main-[a-f0-9]+-(?P<ts>[0-9]+)", extract: "$ts" };
  const builds = ["main-7f9e2c1-1700000300", "main-a1b2c3d-1700000900", "main-0ff1ce0-1700000100", "feature-x-1700009999", "main-nothex-1700005000", "latest", "6.7.2"];
  const asc = policy({ filterTags, numerical: { order: "asc" } });
  assert.equal(selectTag(asc, builds), "main-a1b2c3d-1700000900");
  assert.equal(selectTag(policy({ filterTags, numerical: { order: "desc" } }), builds), "main-0ff1ce0-1700000100");
  assert.equal(tagValue(asc, "main-a1b2c3d-1700000900"), "1700000900");
  assert.equal(tagValue(asc, "feature-x-1700009999"), undefined, "filtered out");
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's Expand syntax, not a JavaScript template
  const braced = { ...filterTags, extract: "${ts}" };
  assert.equal(selectTag(policy({ filterTags: braced, numerical: {} }), builds), "main-a1b2c3d-1700000900", "a braced name, as Go's Expand reads it");
  assert.equal(selectTag(policy({ filterTags: { pattern: "^build-([0-9]+)$", extract: "$1" }, numerical: {} }), ["build-99", "build-100", "build-7"]), "build-100", "$1 and 100 > 99");
  assert.equal(selectTag(policy({ filterTags: { pattern: "^build-([0-9]+)$", extract: "$1" }, alphabetical: {} }), ["build-99", "build-100", "build-7"]), "build-99", "alphabetically 99 > 100");
  assert.equal(tagValue(policy({ numerical: {} }), "1a"), undefined, "not a number");
});

test("filterTags without extract compares the whole tag, as Flux does", () => {
  // Flux image-reflector-controller internal/policy/filter_test.go, "valid pattern": `^ver` keeps ver1, ver2, ver3 as they are
  const ver = policy({ filterTags: { pattern: "^ver" }, alphabetical: {} });
  assert.equal(tagValue(ver, "ver1"), "ver1");
  assert.equal(selectTag(ver, ["ver1", "ver3", "ver2", "rel9"]), "ver3");
  const minio = policy({ filterTags: { pattern: "^RELEASE\\." }, alphabetical: {} });
  assert.equal(selectTag(minio, ["RELEASE.2023-05-04T21-44-30Z", "RELEASE.2024-01-01T00-00-00Z", "RELEASE.2022-10-24T18-35-07Z"]), "RELEASE.2024-01-01T00-00-00Z");
});

test("shouldMove: upgrades only, unless allowDowngrade; an unrankable current tag moves; the same tag does not", () => {
  const tilde = policy({ semver: { range: "~6.7" } });
  assert.equal(shouldMove(tilde, "6.7.0", "6.7.2"), true);
  assert.equal(shouldMove(tilde, "7.0.0", "6.7.1"), false, "7.0.0 is above the range: not moved down");
  assert.equal(shouldMove(tilde, "6.7.2", "6.7.1"), false);
  assert.equal(shouldMove(policy({ semver: { range: "~6.7" }, allowDowngrade: true }), "7.0.0", "6.7.1"), true);
  assert.equal(shouldMove(tilde, "latest", "6.7.1"), true);
  assert.equal(shouldMove(tilde, "", "6.7.1"), true, "a field without a tag");
  assert.equal(shouldMove(tilde, "6.7.2", "6.7.2"), false);
  assert.equal(shouldMove(tilde, "6.7.0", "6.8.0"), false, "the next tag must be accepted");
  assert.equal(shouldMove(tilde, "v6.7.0", "6.7.1"), true);
  const builds = policy({ filterTags: { pattern: "^main-[a-f0-9]+-(?P<ts>[0-9]+)", extract: "$ts" }, numerical: {} });
  assert.equal(shouldMove(builds, "main-7f9e2c1-1700000300", "main-a1b2c3d-1700000900"), true);
  assert.equal(shouldMove(builds, "main-a1b2c3d-1700000900", "main-7f9e2c1-1700000300"), false);
  assert.equal(shouldMove(builds, "feature-x-1700009999", "main-7f9e2c1-1700000300"), true, "a current tag the filter drops");
  const desc = policy({ alphabetical: { order: "desc" } });
  assert.equal(shouldMove(desc, "b", "a"), true, "desc ranks a above b");
  assert.equal(shouldMove(desc, "a", "b"), false);
});

// ---------------------------------------------------------------- markers

test("Flux's own setter test file: the markers found, and the rewrite equals Flux's expected file byte for byte", () => {
  const original = fixture("images", "setters-original-marked.yaml");
  const markers = findMarkers("apps/marked.yaml", original);
  assert.deepEqual(markers.map(described), [
    { file: "apps/marked.yaml", line: 14, namespace: "automation-ns", policy: "policy", part: "image", value: "image:v1.0.0" },
    { file: "apps/marked.yaml", line: 16, namespace: "automation-ns", policy: "unchanged", part: "image", value: "image:v1.0.0" },
  ]);
  const [m] = markers;
  assert.equal(original.slice(m!.start, m!.end), "image:v1.0.0");
  assert.equal(m!.style, "PLAIN");
  assert.deepEqual(markedImage(m!), { name: "image", tag: "v1.0.0" });
  // Flux's TestUpdateWithSetters: automation-ns:policy selects index.repo.fake/updated:v1.0.1
  const value = nextValue(m!, canonicalImage("index.repo.fake/updated"), "v1.0.1");
  assert.equal(value, "index.repo.fake/updated:v1.0.1");
  const after = rewrite(original, [{ marker: m!, value }]);
  assert.equal(after, fixture("images", "setters-expected-marked.yaml"));
  assert.deepEqual(changedLines(original, after), [14]);
});

test("other Flux files: a marker's namespace; a comment that is not a marker; several documents", () => {
  const otherns = fixture("images", "setters-original-otherns.yaml");
  assert.deepEqual(findMarkers("otherns.yaml", otherns).map(described), [{ file: "otherns.yaml", line: 11, namespace: "other-namespace", policy: "policy", part: "image", value: "user:v1.0.0" }]);
  assert.deepEqual(findMarkers("unmarked.yaml", fixture("images", "setters-original-unmarked.yaml")), []);
  const marked = fixture("images", "setters-original-marked.yaml");
  const both = `${marked}---\n${otherns}`;
  const markers = findMarkers("both.yaml", both);
  assert.deepEqual(
    markers.map((m) => [m.line, m.policy, both.slice(m.start, m.end)]),
    [
      [14, "policy", "image:v1.0.0"],
      [16, "unchanged", "image:v1.0.0"],
      [28, "policy", "user:v1.0.0"],
    ],
  );
  const after = rewrite(both, [
    { marker: markers[2]!, value: "user:v1.1.0" },
    { marker: markers[0]!, value: "image:v1.0.1" },
  ]);
  assert.deepEqual(changedLines(both, after), [14, 28]);
  assert.equal(after, both.replace('image:v1.0.0 # {"$imagepolicy": "automation-ns:policy"}', 'image:v1.0.1 # {"$imagepolicy": "automation-ns:policy"}').replace("user:v1.0.0", "user:v1.1.0"));
});

test("flux2's kustomization: name, tag and digest markers (ns:name:name, ns:name:tag, ns:name:digest)", () => {
  const text = fixture("images", "flux2-image-automation-kustomization.yaml");
  const markers = findMarkers("kustomization.yaml", text);
  assert.deepEqual(
    markers.map(described).map((m) => [m.line, m.namespace, m.policy, m.part]),
    [
      [9, "flux-system", "podinfo", "name"],
      [10, "flux-system", "podinfo", "tag"],
      [11, "flux-system", "podinfo", "digest"],
    ],
    "the digest marker is read (the update leaves it alone with a warning)",
  );
  assert.deepEqual(markers.slice(0, 2).map(described), [
    { file: "kustomization.yaml", line: 9, namespace: "flux-system", policy: "podinfo", part: "name", value: "ghcr.io/stefanprodan/podinfo" },
    { file: "kustomization.yaml", line: 10, namespace: "flux-system", policy: "podinfo", part: "tag", value: "6.8.0" },
  ]);
  const [name, tag] = markers;
  assert.deepEqual(markedImage(name!), { name: "ghcr.io/stefanprodan/podinfo" });
  assert.deepEqual(markedImage(tag!), { tag: "6.8.0" });
  assert.equal(nextValue(name!, "ghcr.io/stefanprodan/podinfo", "6.9.0"), "ghcr.io/stefanprodan/podinfo", "the same image: kept as written");
  assert.equal(nextValue(name!, "127.0.0.1:5000/podinfo", "6.9.0"), "127.0.0.1:5000/podinfo", "another image: replaced");
  assert.equal(nextValue(tag!, "ghcr.io/stefanprodan/podinfo", "6.9.0"), "6.9.0");
  const after = rewrite(text, [{ marker: tag!, value: "6.9" }]);
  assert.deepEqual(changedLines(text, after), [10]);
  assert.equal(after.split("\n")[9], '    newTag: "6.9" # {"$imagepolicy": "flux-system:podinfo:tag"}', "6.9 would read back as a number: quoted");
});

test("podinfo's deployment with a Converge marker: only the marked image changes, every other byte stays", () => {
  const before = fixture("images", "podinfo-deployment.yaml");
  const markers = findMarkers("kustomize/deployment.yaml", before);
  assert.deepEqual(markers.map(described), [{ file: "kustomize/deployment.yaml", line: 26, namespace: undefined, policy: "podinfo", part: "image", value: "ghcr.io/stefanprodan/podinfo:6.14.1" }]);
  const [m] = markers;
  const value = nextValue(m!, "ghcr.io/stefanprodan/podinfo", "6.14.2");
  assert.equal(value, "ghcr.io/stefanprodan/podinfo:6.14.2");
  const after = rewrite(before, [{ marker: m!, value }]);
  assert.deepEqual(changedLines(before, after), [26]);
  assert.equal(after.split("\n")[25], '        image: ghcr.io/stefanprodan/podinfo:6.14.2 # {"$converge": "podinfo"}');
  assert.equal(after, `${before.slice(0, m!.start)}ghcr.io/stefanprodan/podinfo:6.14.2${before.slice(m!.end)}`);
  for (const kept of ['prometheus.io/scrape: "true"', 'value: "#34577c"', "      - name: podinfod\n"]) assert.ok(after.includes(kept), kept);
  // a registry of its own: the name follows the policy's image
  assert.equal(nextValue(m!, "127.0.0.1:5000/podinfo", "6.7.2"), "127.0.0.1:5000/podinfo:6.7.2");
});

test("podinfo's Helm values with Converge name and tag markers; quoting kept, plain values quoted when they would not read back as strings", () => {
  const before = fixture("images", "podinfo-values.yaml");
  const markers = findMarkers("charts/podinfo/values.yaml", before);
  assert.deepEqual(markers.map(described), [
    { file: "charts/podinfo/values.yaml", line: 10, namespace: undefined, policy: "podinfo", part: "name", value: "ghcr.io/stefanprodan/podinfo" },
    { file: "charts/podinfo/values.yaml", line: 11, namespace: undefined, policy: "podinfo", part: "tag", value: "6.14.1" },
  ]);
  const tagLine = (text: string, value: string) => {
    const tag = findMarkers("values.yaml", text)[1]!;
    const after = rewrite(text, [{ marker: tag, value }]);
    assert.deepEqual(changedLines(text, after), [11]);
    return after.split("\n")[10];
  };
  assert.equal(tagLine(before, "6.14.2"), '  tag: 6.14.2 # {"$converge": "podinfo:tag"}', "plain stays plain");
  assert.equal(tagLine(before, "6.15"), '  tag: "6.15" # {"$converge": "podinfo:tag"}', "6.15 is a float: quoted");
  assert.equal(tagLine(before, "1700000900"), '  tag: "1700000900" # {"$converge": "podinfo:tag"}', "an int: quoted");
  const double = before.replace("tag: 6.14.1 #", 'tag: "6.14.1" #');
  const single = before.replace("tag: 6.14.1 #", "tag: '6.14.1' #");
  assert.equal(tagLine(double, "6.14.2"), '  tag: "6.14.2" # {"$converge": "podinfo:tag"}');
  assert.equal(tagLine(double, "6.15"), '  tag: "6.15" # {"$converge": "podinfo:tag"}');
  assert.equal(tagLine(single, "6.14.2"), '  tag: \'6.14.2\' # {"$converge": "podinfo:tag"}');
  assert.equal(tagLine(single, "6.15"), '  tag: \'6.15\' # {"$converge": "podinfo:tag"}');
  // both markers at once, Windows line ends kept
  const crlf = before.replaceAll("\n", "\r\n");
  const [name, tag] = findMarkers("values.yaml", crlf);
  assert.deepEqual([name!.line, tag!.line], [10, 11]);
  const after = rewrite(crlf, [
    { marker: tag!, value: "6.15.0" },
    { marker: name!, value: "127.0.0.1:5000/podinfo" },
  ]);
  assert.equal(after, crlf.replace("repository: ghcr.io/stefanprodan/podinfo #", "repository: 127.0.0.1:5000/podinfo #").replace("tag: 6.14.1 #", "tag: 6.15.0 #"));
});

test("a marker on its own line is not a setter", () => {
  const deployment = fixture("images", "podinfo-deployment.yaml").replace(' # {"$converge": "podinfo"}', "");
  assert.ok(!deployment.includes("$converge"));
  const imageLine = "        image: ghcr.io/stefanprodan/podinfo:6.14.1\n";
  for (const marker of ['# {"$converge": "podinfo"}', '# {"$imagepolicy": "flux-system:podinfo"}']) {
    const above = deployment.replace(imageLine, `        ${marker}\n${imageLine}`);
    const below = deployment.replace(imageLine, `${imageLine}        ${marker}\n`);
    assert.notEqual(above, deployment);
    assert.deepEqual(findMarkers("deployment.yaml", above), [], marker);
    assert.deepEqual(findMarkers("deployment.yaml", below), [], marker);
  }
  const noted = deployment.replace(imageLine, `        image: ghcr.io/stefanprodan/podinfo:6.14.1 # pinned\n        # {"$converge": "podinfo"}\n`);
  assert.deepEqual(findMarkers("deployment.yaml", noted), [], "another comment on the scalar's line, the marker below");
});

test("markers that cannot be read are MarkerErrors with the file and line", () => {
  const deployment = fixture("images", "podinfo-deployment.yaml");
  const broken = (marker: string) => deployment.replace('{"$converge": "podinfo"}', marker);
  const cases: [string, RegExp][] = [
    ['{"$converge": "podinfo"', /is not valid JSON/],
    ['{"$imagepolicy": flux-system:podinfo}', /is not valid JSON/],
    ['{"$imagepolicy": "podinfo"}', /Flux markers name "<namespace>:<policy>"/],
    ['{"$imagepolicy": ":podinfo"}', /Flux markers name/],
    ['{"$imagepolicy": "flux-system:podinfo:version"}', /"tag", "name" or "digest", not "version"/],
    ['{"$converge": "podinfo:sha"}', /"tag", "name" or "digest", not "sha"/],
    ['{"$converge": 7}', /must name a policy as a string/],
  ];
  for (const [marker, reason] of cases) {
    assert.throws(
      () => findMarkers("kustomize/deployment.yaml", broken(marker)),
      (err: unknown) => {
        assert.ok(err instanceof MarkerError, marker);
        assert.equal(err.file, "kustomize/deployment.yaml");
        assert.equal(err.line, 26, marker);
        assert.match(err.reason, reason);
        assert.match(err.message, /^kustomize\/deployment\.yaml:26: /);
        return true;
      },
    );
  }
});

test("a marker on a block scalar is refused", () => {
  const text = 'spec:\n  script: | # {"$converge": "podinfo"}\n    echo ghcr.io/stefanprodan/podinfo:6.14.1\n  other: x\n';
  assert.throws(
    () => findMarkers("job.yaml", text),
    (err: unknown) => err instanceof MarkerError && err.line === 2,
  );
});

test("splitImage: the tag after the last colon of the last part; ports and digests are not tags", () => {
  assert.deepEqual(splitImage("ghcr.io/org/app:1.2.3"), { name: "ghcr.io/org/app", tag: "1.2.3" });
  assert.deepEqual(splitImage("127.0.0.1:5000/podinfo"), { name: "127.0.0.1:5000/podinfo" });
  assert.deepEqual(splitImage("127.0.0.1:5000/podinfo:6.7.2"), { name: "127.0.0.1:5000/podinfo", tag: "6.7.2" });
  assert.deepEqual(splitImage("nginx"), { name: "nginx" });
  const digest = "nginx@sha256:4de9aafdcd29bab73f0004ec1dd3d84ee3b6a9013060f01e28c0ee823c3d9d3e";
  assert.deepEqual(splitImage(digest), { name: digest });
  assert.deepEqual(splitImage(`nginx:1.27@${digest.split("@")[1]}`), { name: `nginx:1.27@${digest.split("@")[1]}` });
});

// ---------------------------------------------------------------- registry events

test("fromDistribution reads distribution v3.1.2's push notification: canonical image, tag, digest, event id", () => {
  assert.deepEqual(fromDistribution(json("distribution-push.json")), {
    id: "01a248a5-34d4-76ac-8d80-9b5b8398e6d2",
    images: [{ image: "127.0.0.1:5000/podinfo", tag: "6.7.2", digest: "sha256:4de9aafdcd29bab73f0004ec1dd3d84ee3b6a9013060f01e28c0ee823c3d9d3e" }],
  });
});

test("fromDistribution: pulls, deletes and pushes by digest alone are left out; the request's host names the registry without a url", () => {
  type Event = { action: string; target: Record<string, unknown>; request: Record<string, unknown>; id: string };
  const envelope = json("distribution-push.json") as { events: Event[] };
  const push = envelope.events[0]!;
  const pull: Event = { ...push, id: "pull-1", action: "pull", request: { ...push.request, method: "GET" } };
  const deleted: Event = { ...push, id: "delete-1", action: "delete" };
  const byDigest: Event = { ...push, id: "digest-1", target: { ...push.target, tag: undefined } };
  assert.deepEqual(fromDistribution({ events: [pull, deleted, byDigest] }), { id: "pull-1", images: [] });
  const noUrl: Event = { ...push, target: { ...push.target, url: undefined } };
  assert.deepEqual(fromDistribution({ events: [pull, noUrl] }).images, [{ image: "127.0.0.1:5000/podinfo", tag: "6.7.2", digest: push.target.digest }]);
  const hub: Event = { ...push, target: { ...push.target, repository: "nginx", url: "https://registry-1.docker.io/v2/nginx/manifests/sha256:0" } };
  assert.equal(fromDistribution({ events: [hub] }).images[0]!.image, "registry-1.docker.io/nginx");
  assert.deepEqual(fromDistribution({ events: [] }), { id: undefined, images: [] });
});

test("fromDistribution: what is not an envelope is an ImageEventError", () => {
  const envelope = json("distribution-push.json") as { events: { target: Record<string, unknown>; request: Record<string, unknown> }[] };
  const push = envelope.events[0]!;
  for (const body of [null, "push", {}, { events: {} }, { events: [{ action: "push" }] }, { events: [{ ...push, target: { ...push.target, repository: "" } }] }]) {
    assert.throws(() => fromDistribution(body), ImageEventError, JSON.stringify(body));
  }
  const nowhere = { ...push, target: { ...push.target, url: undefined }, request: { ...push.request, host: undefined } };
  assert.throws(() => fromDistribution({ events: [nowhere] }), /event 01a248a5-34d4-76ac-8d80-9b5b8398e6d2: neither target\.url nor request\.host/);
});

test("fromEcr reads the AWS docs' ECR Image Action example: the ECR image name and the tag", () => {
  assert.deepEqual(fromEcr(json("ecr-image-action.json")), {
    id: "13cde686-328b-6117-af20-0e5566167482",
    images: [
      {
        image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name",
        tag: "latest",
        digest: "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
      },
    ],
  });
  const china = { ...json("ecr-image-action.json"), region: "cn-north-1" };
  assert.equal(fromEcr(china).images[0]!.image, "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/my-repository-name");
});

test("fromEcr: a DELETE, a FAILURE or a push without tag reports nothing; another event is an ImageEventError", () => {
  const event = json("ecr-image-action.json");
  const detail = event.detail as Record<string, unknown>;
  for (const changed of [{ "action-type": "DELETE" }, { result: "FAILURE" }, { "image-tag": undefined }]) {
    assert.deepEqual(fromEcr({ ...event, detail: { ...detail, ...changed } }), { id: "13cde686-328b-6117-af20-0e5566167482", images: [] }, JSON.stringify(changed));
  }
  for (const bad of [{ source: "aws.s3" }, { "detail-type": "ECR Image Scan" }, { account: "1234" }, { detail: { ...detail, "repository-name": "" } }]) {
    assert.throws(() => fromEcr({ ...event, ...bad }), ImageEventError, JSON.stringify(bad));
  }
});

// ---------------------------------------------------------------- triggers

const TOKEN = "4f8a1c2e9b7d3f60";
const PUSH_BODY = fixture("registry", "distribution-push.json");

/** receiveNotification with `tokens`, recording what it sends. */
async function receive(headers: Record<string, string | undefined>, body: string, tokens: readonly string[] = [TOKEN]) {
  const sent: ImageTrigger[] = [];
  const answer = await receiveNotification({ headers, body }, { tokens, send: async (m) => void sent.push(m) });
  return { answer, sent };
}

test("receiveNotification: 401 without the bearer token or with a wrong one, whatever the body", async () => {
  for (const headers of [{}, { authorization: `Basic ${TOKEN}` }, { authorization: "Bearer wrong-token" }, { authorization: "Bearer " }, { authorization: `Bearer ${TOKEN}x` }]) {
    const { answer, sent } = await receive(headers, PUSH_BODY);
    assert.equal(answer.statusCode, 401, JSON.stringify(headers));
    assert.deepEqual(sent, []);
  }
  assert.equal((await receive({ authorization: `Bearer ${TOKEN}` }, PUSH_BODY, [])).answer.statusCode, 401, "no token configured: nothing is accepted");
  assert.equal((await receive({}, "x".repeat(MAX_NOTIFICATION_BYTES + 1))).answer.statusCode, 401, "the token is checked first");
});

test("receiveNotification: 400 on a body that is not JSON or not an envelope, 413 past the limit", async () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const notJson = await receive(auth, "events=push");
  assert.equal(notJson.answer.statusCode, 400);
  assert.match(notJson.answer.body.message, /^the body is not JSON/);
  const notEnvelope = await receive(auth, JSON.stringify({ action: "push", target: { repository: "podinfo", tag: "6.7.2" } }));
  assert.equal(notEnvelope.answer.statusCode, 400);
  assert.match(notEnvelope.answer.body.message, /^not a registry notification envelope: events: /);
  const big = await receive(auth, "x".repeat(MAX_NOTIFICATION_BYTES + 1));
  assert.equal(big.answer.statusCode, 413);
  assert.equal((await receive(auth, "é".repeat(MAX_NOTIFICATION_BYTES / 2 + 1))).answer.statusCode, 413, "the limit counts bytes, not characters");
  for (const r of [notJson, notEnvelope, big]) assert.deepEqual(r.sent, []);
});

test("receiveNotification: 202 and one message with the images pushed; a rotation's second token works; a pull sends nothing", async () => {
  for (const headers of [{ authorization: `Bearer ${TOKEN}` }, { Authorization: `bearer  ${TOKEN}` }]) {
    const { answer, sent } = await receive(headers, PUSH_BODY, ["next-token-0001", TOKEN]);
    assert.deepEqual(answer, { statusCode: 202, body: { message: "accepted", images: 1 } });
    assert.deepEqual(sent, [
      {
        source: "registry",
        eventId: "01a248a5-34d4-76ac-8d80-9b5b8398e6d2",
        images: [{ image: "127.0.0.1:5000/podinfo", tag: "6.7.2", digest: "sha256:4de9aafdcd29bab73f0004ec1dd3d84ee3b6a9013060f01e28c0ee823c3d9d3e" }],
      },
    ]);
  }
  const pull = PUSH_BODY.replace('"action": "push"', '"action": "pull"');
  assert.notEqual(pull, PUSH_BODY);
  const { answer, sent } = await receive({ authorization: `Bearer ${TOKEN}` }, pull);
  assert.deepEqual(answer, { statusCode: 202, body: { message: "no tag pushed: nothing to do", images: 0 } });
  assert.deepEqual(sent, []);
  await assert.rejects(receiveNotification({ headers: { authorization: `Bearer ${TOKEN}` }, body: PUSH_BODY }, { tokens: [TOKEN], send: () => Promise.reject(new Error("queue down")) }), /queue down/);
});

test("triggersOf: one trigger per source, images merged, the same image:tag once; invalid bodies reported by index", () => {
  const podinfo = (tag: string) => ({ image: "127.0.0.1:5000/podinfo", tag });
  const registry = (eventId: string, ...tags: string[]) => JSON.stringify({ source: "registry", eventId, images: tags.map(podinfo) });
  const ecr = json("ecr-image-action.json");
  const ecrDelete = { ...ecr, id: "delete-1", detail: { ...(ecr.detail as object), "action-type": "DELETE" } };
  const bodies = [
    registry("e1", "6.7.1"),
    JSON.stringify(ecr),
    registry("e2", "6.7.1", "6.7.2"),
    "not json",
    JSON.stringify({ source: "registry", images: [{ image: "", tag: "1" }] }),
    JSON.stringify({ hello: "world" }),
    JSON.stringify({ ...ecr, account: "12" }),
    JSON.stringify(ecrDelete),
    JSON.stringify({ source: "scan", images: [] }),
  ];
  const { triggers, invalid } = triggersOf(bodies);
  assert.deepEqual(triggers, [
    { source: "registry", eventId: "e1, e2", images: [podinfo("6.7.1"), podinfo("6.7.2")] },
    {
      source: "ecr",
      eventId: "13cde686-328b-6117-af20-0e5566167482, delete-1",
      images: [{ image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name", tag: "latest", digest: "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234" }],
    },
  ]);
  assert.deepEqual(
    invalid.map((i) => i.index),
    [3, 4, 5, 6],
  );
  assert.match(invalid[0]!.reason, /JSON/);
  assert.equal(invalid[1]!.reason, "not an image trigger");
  assert.equal(invalid[2]!.reason, "not an image trigger");
  assert.match(invalid[3]!.reason, /^not an "ECR Image Action" event: account/);
  assert.deepEqual(triggersOf([]), { triggers: [], invalid: [] });
});
