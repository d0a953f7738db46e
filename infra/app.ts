/** The CDK app: one ConvergeStack, in the account/region of the CLI's credentials when known. */
import { App } from "aws-cdk-lib";
import { ConvergeStack } from "./converge-stack.js";

const app = new App();
new ConvergeStack(app, "Converge", {
  env: process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } : undefined,
  description: "Converge: GitOps drift control plane for Kubernetes fleets",
  divergedMinutes: Number(app.node.tryGetContext("divergedMinutes") ?? 15),
});
app.synth();
