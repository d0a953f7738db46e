/**
 * The image update's composition: the cluster registry (which branches have image updates),
 * the Git reader and writer, the operations table, Git tokens from `shared/secrets.ts`, the
 * Git host's API for pull requests. No
 * Kubernetes client: the image update writes Git, the reconcile then syncs.
 */
import { loadConfig, type ConvergeConfig } from "../config.js";
import { GitSource } from "../git/source.js";
import { createPullRequestPort } from "../githost/pull-requests.js";
import type { ImageUpdateDeps } from "../images/update.js";
import { listTags } from "../images/registry.js";
import type { ScanDeps } from "../images/scan.js";
import { gitToken, registryCredentials } from "../secrets.js";
import { clusterStore, operationStore } from "./stores.js";

/**
 * The image update's dependencies from `config` (default: the environment) or, given, from
 * services already built (the CLI's and the tests').
 */
export function imageUpdateDeps(
  s: { config: ConvergeConfig; clusters?: ImageUpdateDeps["clusters"]; operations?: ImageUpdateDeps["operations"]; git?: ImageUpdateDeps["git"] } = { config: loadConfig() },
): ImageUpdateDeps {
  return {
    clusters: s.clusters ?? clusterStore(s.config),
    operations: s.operations ?? operationStore(s.config),
    git: s.git ?? new GitSource(s.config.workDir),
    gitAuth: async (source) => (source.credentials ? { username: source.credentials.username, password: await gitToken(source.credentials, s.config.region) } : undefined),
    pullRequests: createPullRequestPort({ region: s.config.region }),
  };
}

/** The scan's dependencies: the update's, the OCI tag listing, registry credentials from Secrets Manager. */
export function imageScanDeps(s: Parameters<typeof imageUpdateDeps>[0] & { config: ConvergeConfig }): ScanDeps {
  return { ...imageUpdateDeps(s), listTags: (image, auth) => listTags(image, auth), registryAuth: (arn) => registryCredentials(arn, s.config.region) };
}
