/**
 * The built-in schema Converge ships (shared/schema/kubernetes.json) is what the test bed's
 * API server publishes: regenerate it with `npx tsx tools/schema/generate.ts` when this fails.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { KubeClient, kubeConfigFor } from "../../shared/kube/client.js";
import { BUILTIN_SCHEMA } from "../../shared/schema/index.js";
import { stackEnv } from "../support/stack.js";
import { generateBuiltinSchema } from "../../tools/schema/builtin.js";

test("the shipped built-in schema equals what the test bed's API server publishes", async () => {
  const [c] = stackEnv().clusters;
  const client = new KubeClient(kubeConfigFor({ type: "kubeconfig", kubeconfig: c!.kubeconfig, context: c!.context }));
  try {
    const now = await generateBuiltinSchema(client);
    assert.equal(now.kubernetesVersion, BUILTIN_SCHEMA.kubernetesVersion);
    assert.deepEqual(Object.keys(now.kinds).sort(), Object.keys(BUILTIN_SCHEMA.kinds).sort());
    assert.deepEqual(now, JSON.parse(JSON.stringify(BUILTIN_SCHEMA)), "regenerate with: npx tsx tools/schema/generate.ts");
  } finally {
    client.close();
  }
});
