/**
 * Access to Amazon EKS clusters without kubeconfig files: the endpoint and CA from
 * DescribeCluster, and a bearer token built the way `aws eks get-token` and
 * aws-iam-authenticator build it: a presigned STS `GetCallerIdentity` URL with the
 * `x-k8s-aws-id: <cluster name>` header signed, base64url-encoded behind `k8s-aws-v1.`
 * (https://github.com/kubernetes-sigs/aws-iam-authenticator#api-authorization-from-outside-a-cluster).
 * EKS accepts such a token for 15 minutes; Converge reuses one for at most 10.
 */
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { HttpRequest } from "@smithy/protocol-http";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

/** Prefix of EKS bearer tokens. */
export const TOKEN_PREFIX = "k8s-aws-v1.";
/** Seconds the presigned URL claims to be valid (what `aws eks get-token` sends). */
export const PRESIGN_EXPIRES_SECONDS = 60;
/** How long Converge reuses a token: 10 minutes, under EKS's 15-minute acceptance window. */
export const TOKEN_REUSE_MS = 10 * 60_000;

/** Credentials: fixed, or a provider (the SDK's default chain when omitted). */
export type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

/**
 * Builds the EKS bearer token for `clusterName` in `region`.
 * @returns `{ token, expiresAt }`, expiresAt in epoch ms (when Converge stops reusing it).
 */
export async function eksToken(opts: { clusterName: string; region: string; credentials: Credentials; now?: Date }): Promise<{ token: string; expiresAt: number }> {
  const signer = new SignatureV4({ service: "sts", region: opts.region, credentials: opts.credentials, sha256: Hash.bind(null, "sha256") });
  const host = `sts.${opts.region}.amazonaws.com`;
  const request = new HttpRequest({
    method: "GET",
    protocol: "https:",
    hostname: host,
    path: "/",
    query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
    headers: { host, "x-k8s-aws-id": opts.clusterName },
  });
  const now = opts.now ?? new Date();
  const signed = await signer.presign(request, { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: now });
  const qs = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join("&");
  const url = `https://${host}/?${qs}`;
  return { token: TOKEN_PREFIX + Buffer.from(url).toString("base64url"), expiresAt: now.getTime() + TOKEN_REUSE_MS };
}

/** Endpoint and CA bundle (PEM) of an EKS cluster. */
export interface EksEndpoint {
  server: string;
  caPem: string;
}

/**
 * DescribeCluster → endpoint and CA.
 * @throws Error when the cluster has no endpoint yet (still creating) or no CA.
 */
export async function describeEks(clusterName: string, region: string, credentials?: Credentials): Promise<EksEndpoint> {
  const eks = new EKSClient({ region, ...(credentials ? { credentials } : {}) });
  const out = await eks.send(new DescribeClusterCommand({ name: clusterName }));
  const endpoint = out.cluster?.endpoint;
  const ca = out.cluster?.certificateAuthority?.data;
  if (!endpoint || !ca) throw new Error(`EKS cluster ${clusterName} in ${region} has no endpoint or CA yet (status ${out.cluster?.status ?? "unknown"})`);
  return { server: endpoint, caPem: Buffer.from(ca, "base64").toString("utf8") };
}

/**
 * Temporary credentials of `roleArn` (cross-account targets), session named after Converge.
 * @throws the STS error when the role cannot be assumed.
 */
export async function assumeRole(roleArn: string, region: string, clusterName: string): Promise<AwsCredentialIdentity> {
  const sts = new STSClient({ region });
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: `converge-${clusterName}`.slice(0, 64), DurationSeconds: 900 }));
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
}
