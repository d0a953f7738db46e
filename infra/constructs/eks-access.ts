/**
 * EKS access for the reconcile function's role, for clusters defined in the same CDK app: an
 * access entry with the AWS-managed access policy each sync mode needs
 * (https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html):
 * `detect` reads (AmazonEKSViewPolicy, cluster-wide); `apply` writes (AmazonEKSEditPolicy,
 * limited to the given namespaces). Secrets are not readable with the view policy, so Secret
 * drift needs `apply` or a custom RBAC role.
 */
import { Stack } from "aws-cdk-lib";
import { CfnAccessEntry } from "aws-cdk-lib/aws-eks";
import type { IRole } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

export interface EksAccessProps {
  /** Name of the EKS cluster (its authentication mode must allow access entries: API or API_AND_CONFIG_MAP). */
  clusterName: string;
  /** The reconcile function's role (`converge.reconcile.fn.role`). */
  role: IRole;
  /** `detect` (view) or `apply` (edit in `namespaces`). */
  mode: "detect" | "apply";
  /** Namespaces `apply` may write (required for apply). */
  namespaces?: string[];
}

/** One access entry granting Converge what its sync mode needs on one cluster. */
export class ConvergeEksAccess extends Construct {
  readonly entry: CfnAccessEntry;

  constructor(scope: Construct, id: string, props: EksAccessProps) {
    super(scope, id);
    if (props.mode === "apply" && !props.namespaces?.length) throw new Error("apply access needs the namespaces Converge may write");
    const partition = Stack.of(this).partition;
    const policy = (name: string) => `arn:${partition}:eks::aws:cluster-access-policy/${name}`;
    this.entry = new CfnAccessEntry(this, "Entry", {
      clusterName: props.clusterName,
      principalArn: props.role.roleArn,
      type: "STANDARD",
      accessPolicies: [
        { policyArn: policy("AmazonEKSViewPolicy"), accessScope: { type: "cluster" } },
        ...(props.mode === "apply" ? [{ policyArn: policy("AmazonEKSEditPolicy"), accessScope: { type: "namespace", namespaces: props.namespaces } }] : []),
      ],
    });
  }
}
