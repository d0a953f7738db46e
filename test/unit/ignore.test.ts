/** Ignore rules: scope selectors, JSON pointers (list indexes resolved to merge keys), path expressions. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyIgnoreRules, pointerToPath } from "../../shared/diff/ignore.js";
import type { KubeObject, ResourceDrift } from "../../shared/model.js";

const dep: KubeObject = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "prod" },
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [
          { name: "web", image: "a" },
          { name: "side", image: "b" },
        ],
      },
    },
  },
};
const drift: ResourceDrift = {
  key: "apps/Deployment/prod/web",
  apiVersion: "apps/v1",
  kind: "Deployment",
  namespace: "prod",
  name: "web",
  state: "Modified",
  changes: [
    { path: "spec.replicas", desired: 2, live: 3 },
    { path: "spec.template.spec.containers[name=side].image", desired: "b", live: "c" },
    { path: 'metadata.annotations["team.io/owner"]', desired: "x", live: "y" },
  ],
};

test("a JSON pointer's list index resolves to the item's merge key", () => {
  assert.equal(pointerToPath(dep, "/spec/template/spec/containers/1/image"), "spec.template.spec.containers[name=side].image");
  assert.equal(pointerToPath(dep, "/spec/template/spec/containers/5/image"), undefined);
});

test("pointers, path expressions and scopes", () => {
  const byPointer = applyIgnoreRules(drift, dep, undefined, [{ group: "apps", kind: "Deployment", jsonPointers: ["/spec/replicas", "/spec/template/spec/containers/1/image"] }]);
  assert.deepEqual(
    byPointer.changes.map((c) => c.path),
    ['metadata.annotations["team.io/owner"]'],
  );
  const byExpression = applyIgnoreRules(drift, dep, undefined, [{ kind: "Deployment", jqPathExpressions: [".spec.template.spec.containers[].image", "metadata.annotations[*]"] }]);
  assert.deepEqual(
    byExpression.changes.map((c) => c.path),
    ["spec.replicas"],
  );
  const all = applyIgnoreRules(drift, dep, undefined, [{ jqPathExpressions: ["spec", "metadata"] }]);
  assert.equal(all.state, "Synced", "a path ignores everything under it");
  const otherName = applyIgnoreRules(drift, dep, undefined, [{ name: "api", jsonPointers: ["/spec/replicas"] }]);
  assert.equal(otherName.changes.length, 3, "a rule scoped to another name does nothing");
  const otherGroup = applyIgnoreRules(drift, dep, undefined, [{ group: "", kind: "Deployment", jsonPointers: ["/spec/replicas"] }]);
  assert.equal(otherGroup.changes.length, 3, "the core group is not apps");
});
