/**
 * The whole local test bed in one call: DynamoDB Local, ElasticMQ and the Git smart-HTTP
 * server (`services.ts`) plus N real Kubernetes clusters (`kube.ts`), started in parallel.
 * Used by `npm test` (tools/run-tests.ts) and `npm run demo` (tools/demo.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServices } from "./services.js";
import { startClusters, type ClusterHandle } from "./kube.js";
import { kubectlBinaries } from "./binaries.js";

/** A running test bed. `env` holds every variable Converge and the tests read. */
export interface Testbed {
  env: Record<string, string>;
  clusters: ClusterHandle[];
  kubectl: string;
  /** URL of the example repository on the Git server. */
  repoUrl: string;
  /** Folder served by the Git server. */
  gitRoot: string;
  stop(): Promise<void>;
}

/**
 * Starts the services and `clusters` clusters named `converge-<n>`.
 * @throws Error with the failing component's log tail when something does not start
 *   (everything already started is stopped first).
 */
export async function startTestbed(opts: { clusters: number; log?: (line: string) => void; prefix?: string }): Promise<Testbed> {
  const log = opts.log ?? (() => {});
  const work = mkdtempSync(join(tmpdir(), "converge-testbed-"));
  const names = Array.from({ length: opts.clusters }, (_, i) => `${opts.prefix ?? "converge"}-${i + 1}`);
  log(`starting DynamoDB Local, ElasticMQ, the Git server and ${names.length} Kubernetes cluster(s)`);
  const [services, clusters] = await Promise.allSettled([startServices({ workDir: work, log }), startClusters(names, { log })]);
  if (services.status === "rejected" || clusters.status === "rejected") {
    if (services.status === "fulfilled") await services.value.stop();
    if (clusters.status === "fulfilled") await Promise.all(clusters.value.map((c) => c.stop()));
    rmSync(work, { recursive: true, force: true });
    throw services.status === "rejected" ? services.reason : (clusters as PromiseRejectedResult).reason;
  }
  const { kubectl, helm } = kubectlBinaries();
  const s = services.value;
  const env: Record<string, string> = {
    ...s.env,
    CONVERGE_TEST_GIT_ROOT: s.gitRoot,
    CONVERGE_TEST_GIT_BASE: s.gitBaseUrl,
    CONVERGE_TEST_KUBECTL: kubectl,
    // the binaries Kustomize and Helm sources render with (/opt/... in Lambda)
    CONVERGE_KUBECTL: kubectl,
    CONVERGE_HELM: helm,
    CONVERGE_TEST_WORK: work,
    CONVERGE_TEST_CLUSTERS: JSON.stringify(clusters.value.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig, context: c.context }))),
  };
  return {
    env,
    clusters: clusters.value,
    kubectl,
    repoUrl: s.env.CONVERGE_GIT_URL!,
    gitRoot: s.gitRoot,
    async stop() {
      await Promise.allSettled([s.stop(), ...clusters.value.map((c) => c.stop())]);
      rmSync(work, { recursive: true, force: true });
    },
  };
}
