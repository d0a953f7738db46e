/**
 * Regenerates `shared/schema/kubernetes.json` from a real API server of the test bed's
 * Kubernetes version (see builtin.ts). Run after changing KUBERNETES_VERSION:
 *
 *   npx tsx tools/schema/generate.ts
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeClient, kubeConfigFor } from "../../shared/kube/client.js";
import { cacheDir, repoRoot } from "../testbed/cache.js";
import { startClusters } from "../testbed/kube.js";
import { generateBuiltinSchema } from "./builtin.js";

const [cluster] = await startClusters(["schema-gen"], { root: cacheDir("kwok", "schema"), log: (s) => console.error(s) });
try {
  const client = new KubeClient(kubeConfigFor({ type: "kubeconfig", kubeconfig: cluster!.kubeconfig, context: cluster!.context }));
  const file = await generateBuiltinSchema(client);
  client.close();
  const out = join(repoRoot, "shared", "schema", "kubernetes.json");
  writeFileSync(out, `${JSON.stringify(file)}\n`);
  console.error(`wrote ${out}: ${Object.keys(file.kinds).length} kinds, ${Object.keys(file.types).length} types, Kubernetes ${file.kubernetesVersion}`);
} finally {
  await cluster!.stop();
}
