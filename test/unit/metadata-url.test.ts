/**
 * Registration refuses repository, API server and commit-status URLs at link-local, cloud
 * metadata or unspecified addresses, in every spelling a resolver accepts, and names the address.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { refusedUrl } from "../../shared/git/url.js";
import { parseClusterSpec } from "../../shared/cluster/spec.js";

const HOSTILE = [
  "http://169.254.169.254/latest/meta-data",
  "https://[fd00:ec2::254]/org/repo.git",
  "http://[::ffff:169.254.169.254]/org/repo.git",
  "https://0.0.0.0:6443",
  "https://metadata.google.internal/computeMetadata/v1",
  "https://METADATA.google.internal./x",
  "git@169.254.169.254:org/repo.git",
  "ssh://git@2852039166/org/repo",
  "http://0xa9.254.169.254/org/repo",
  "https://[fe80::1]/org/repo",
  "https://[::]/org/repo",
  "http://0/org/repo",
];

test("link-local, metadata and unspecified addresses are refused, in every spelling", () => {
  for (const u of HOSTILE) assert.match(refusedUrl(u) ?? "accepted", /link-local|metadata|unspecified/, u);
  for (const u of ["https://github.com/o/r", "https://10.0.0.1:6443", "https://[fd00::1]/o/r", "git@github.com:o/r.git", "http://127.0.0.1:8123/x.git"]) {
    assert.equal(refusedUrl(u), undefined, u);
  }
});

test("a registration with a metadata repository, server or status URL fails naming the field and the address", () => {
  const spec = (source: object, access: object) => ({ name: "c", namespace: "default", intervalSeconds: 300, source: { branch: "main", path: "", ...source }, access });
  const repo = { repoUrl: "https://github.com/o/r.git" };
  const kubeconfig = { type: "kubeconfig", kubeconfig: "/k" };
  assert.throws(
    () => parseClusterSpec(spec({ repoUrl: "http://169.254.169.254/o/r.git" }, kubeconfig)),
    /source\.repoUrl: repository URL http:\/\/169\.254\.169\.254\/o\/r\.git refused: 169\.254\.169\.254 is a link-local address/,
  );
  assert.throws(() => parseClusterSpec(spec(repo, { type: "server", server: "https://[fd00:ec2::254]:6443" })), /access\.server: server https:\/\/\[fd00:ec2::254\]:6443 refused: .*AWS IMDS/);
  assert.throws(
    () => parseClusterSpec(spec({ ...repo, statuses: { host: "gitea", apiUrl: "http://metadata.google.internal/api/v1" } }, kubeconfig)),
    /source\.statuses\.apiUrl: apiUrl .* refused: metadata\.google\.internal is a cloud metadata service/,
  );
  assert.equal(parseClusterSpec(spec(repo, { type: "server", server: "https://10.0.0.1:6443" })).access.type, "server");
});
