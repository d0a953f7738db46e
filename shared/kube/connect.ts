/**
 * Opens a cluster's API from its access spec: kubeconfig / server specs directly, EKS specs
 * through DescribeCluster and an IAM token (cached per cluster, renewed before expiry).
 */
import { KubeConfig } from "@kubernetes/client-node";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { ClusterAccess } from "../cluster/spec.js";
import { KubeClient, kubeConfigFor } from "./client.js";
import { ResourceApi } from "./resources.js";
import { assumeRole, describeEks, eksToken, type EksEndpoint } from "./eks.js";

const endpoints = new Map<string, Promise<EksEndpoint>>();
const tokens = new Map<string, { token: string; expiresAt: number }>();

/**
 * A KubeConfig for an EKS cluster: endpoint and CA (cached for the process), bearer token
 * (reused until 10 minutes old).
 * @throws the AWS error of DescribeCluster, AssumeRole or credential resolution.
 */
export async function eksKubeConfig(access: Extract<ClusterAccess, { type: "eks" }>, now = Date.now()): Promise<KubeConfig> {
  const id = `${access.region}/${access.clusterName}/${access.roleArn ?? ""}`;
  const creds = access.roleArn ? () => assumeRole(access.roleArn!, access.region, access.clusterName) : undefined;
  let ep = endpoints.get(id);
  if (!ep) {
    ep = (async () => describeEks(access.clusterName, access.region, creds ? await creds() : undefined))();
    ep.catch(() => endpoints.delete(id));
    endpoints.set(id, ep);
  }
  const { server, caPem } = await ep;
  let tok = tokens.get(id);
  if (!tok || tok.expiresAt <= now) {
    const credentials = creds ? await creds() : defaultProvider();
    tok = await eksToken({ clusterName: access.clusterName, region: access.region, credentials, now: new Date(now) });
    tokens.set(id, tok);
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: access.clusterName, server, caData: Buffer.from(caPem).toString("base64") }],
    users: [{ name: "converge", token: tok.token }],
    contexts: [{ name: access.clusterName, cluster: access.clusterName, user: "converge" }],
    currentContext: access.clusterName,
  });
  return kc;
}

/** Opens the API of a cluster; the caller closes `api.client` when done. */
export async function connectCluster(access: ClusterAccess): Promise<ResourceApi> {
  const kc = access.type === "eks" ? await eksKubeConfig(access) : kubeConfigFor(access);
  return new ResourceApi(new KubeClient(kc));
}
