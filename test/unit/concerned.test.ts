/**
 * The push filter (shared/webhook/concerned.ts) on the inputs the renders of real layouts
 * record (shared/render/inputs.ts): the example repository's folders and Kustomize's
 * components example (test/fixtures/kustomize-components), with the paths real pushes change.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { concerned } from "../../shared/webhook/concerned.js";

/** Clusters as the `byRepoWithInputs` index returns them, with the inputs their renders record (test/unit/render-inputs.test.ts). */
const page = [
  { name: "guestbook", inputs: ["guestbook"] },
  { name: "pre-post-sync", inputs: ["kustomize-guestbook", "pre-post-sync"] },
  { name: "community", inputs: ["base", "components/external_db", "components/recaptcha", "overlays/community"] },
  { name: "enterprise", inputs: ["base", "components/external_db", "components/ldap", "overlays/enterprise"] },
  { name: "sock-shop-top", inputs: ["sock-shop/base/*"] },
  { name: "whole", inputs: ["."] },
  { name: "never-rendered" },
];

test("a change under one folder concerns the clusters reading it, those reading everything, and those never rendered", () => {
  assert.deepEqual(concerned(page, ["guestbook/guestbook-ui-deployment.yaml"]), ["guestbook", "whole", "never-rendered"]);
});

test("a change to a shared base concerns every overlay on it; a component only those naming it", () => {
  assert.deepEqual(concerned(page, ["base/deployment.yaml"]), ["community", "enterprise", "whole", "never-rendered"]);
  assert.deepEqual(concerned(page, ["components/ldap/ldappass.txt"]), ["enterprise", "whole", "never-rendered"]);
  assert.deepEqual(concerned(page, ["kustomize-guestbook/guestbook-ui-svc.yaml"]), ["pre-post-sync", "whole", "never-rendered"]);
});

test("a folder's name as a prefix of another folder is not under it", () => {
  assert.deepEqual(concerned(page, ["guestbook-v2/app.yaml", "overlays/community-old/kustomization.yaml"]), ["whole", "never-rendered"]);
});

test("a `p/*` input: direct files only; a removed or renamed file counts like a modified one", () => {
  assert.deepEqual(concerned(page, ["sock-shop/base/carts-dep.yaml"]), ["sock-shop-top", "whole", "never-rendered"]);
  assert.deepEqual(concerned(page, ["sock-shop/base/old/carts-dep.yaml"]), ["whole", "never-rendered"]);
});

test("unknown changes concern every cluster; no change concerns only those without inputs", () => {
  assert.deepEqual(
    concerned(page, undefined),
    page.map((c) => c.name),
  );
  assert.deepEqual(concerned(page, []), ["never-rendered"]);
});

test("a push touching several folders concerns the union, in page order", () => {
  assert.deepEqual(concerned(page, ["components/recaptcha/site_key.txt", "guestbook/guestbook-ui-svc.yaml"]), ["guestbook", "community", "whole", "never-rendered"]);
});
