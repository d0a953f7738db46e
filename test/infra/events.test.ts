/**
 * Converge's events in the synthesized template (infra/constructs/events.ts): PutEvents granted
 * to the reconcile and webhook functions on the default bus with `CONVERGE_EVENT_BUS` set, the
 * reconcile's diverged threshold; with routes, one rule on `source: ["converge"]` to a topic as
 * Chatbot custom notifications, an email subscription and a Slack channel configuration that
 * cannot run commands; without routes, no rule and no topic.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { ConvergeStack } from "../../infra/converge-stack.js";
import { DETAIL_TYPES } from "../../shared/events/schema.js";

let plain: Template;
let routed: Template;

before(() => {
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "CDK_DEFAULT_ACCOUNT"]) delete process.env[k];
  const app = new App();
  const stacks = [
    new ConvergeStack(app, "Plain"),
    new ConvergeStack(app, "Routed", {
      divergedMinutes: 10,
      events: {
        detailTypes: [DETAIL_TYPES.diverged, DETAIL_TYPES.operationFailed, DETAIL_TYPES.revisionConverged],
        email: "platform@example.com",
        slack: { workspaceId: "T0123456789", channelId: "C0123456789" },
      },
    }),
  ];
  [plain, routed] = stacks.map((s) => Template.fromStack(s)) as [Template, Template];
});

/** The functions whose environment names the bus, by their entry's folder name in the asset path's logical id. */
function busFunctions(t: Template): Record<string, { Properties: { Environment: { Variables: Record<string, unknown> }; Role: { "Fn::GetAtt": string[] } } }> {
  return t.findResources("AWS::Lambda::Function", { Properties: { Environment: { Variables: { CONVERGE_EVENT_BUS: "default" } } } }) as never;
}

test("the reconcile and webhook functions may PutEvents on the default bus, and know its name", () => {
  for (const t of [plain, routed]) {
    const fns = busFunctions(t);
    const ids = Object.keys(fns);
    assert.equal(ids.length, 2, `two publishers: ${ids.join(", ")}`);
    assert.ok(ids.some((id) => id.includes("Reconcile")) && ids.some((id) => id.includes("Webhook")), ids.join(", "));
    for (const fn of Object.values(fns)) {
      const role = fn.Properties.Role["Fn::GetAtt"][0]!;
      const policies = t.findResources("AWS::IAM::Policy", { Properties: { Roles: [{ Ref: role }] } });
      const statements = Object.values(policies).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement);
      const put = statements.filter((s) => s.Action === "events:PutEvents");
      assert.equal(put.length, 1, `${role}: one PutEvents statement`);
      assert.deepEqual(put[0]!.Resource, {
        "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":events:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":event-bus/default"]],
      });
    }
  }
  const reconcile = Object.entries(busFunctions(routed)).find(([id]) => id.includes("Reconcile"))![1];
  assert.equal(reconcile.Properties.Environment.Variables.CONVERGE_DIVERGED_MINUTES, "10", "Cluster Diverged uses the diverged alarm's threshold");
});

test("without routes there is no events rule and no events topic", () => {
  plain.resourcePropertiesCountIs("AWS::Events::Rule", { EventPattern: { source: ["converge"] } }, 0);
  plain.resourceCountIs("AWS::Chatbot::SlackChannelConfiguration", 0);
  plain.resourcePropertiesCountIs("AWS::SNS::Topic", { DisplayName: "Converge events" }, 0);
});

test("with routes: one rule on source converge and the chosen detail types, to the topic as Chatbot custom notifications", () => {
  const rules = routed.findResources("AWS::Events::Rule", { Properties: { EventPattern: { source: ["converge"] } } });
  assert.equal(Object.keys(rules).length, 1);
  const rule = Object.values(rules)[0] as {
    Properties: {
      EventPattern: Record<string, unknown>;
      EventBusName?: unknown;
      Targets: { Arn: { Ref: string }; InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string } }[];
    };
  };
  assert.deepEqual(rule.Properties.EventPattern["detail-type"], ["Cluster Diverged", "Sync Operation Failed", "Revision Converged"]);
  const [target] = rule.Properties.Targets;
  const topics = routed.findResources("AWS::SNS::Topic", { Properties: { DisplayName: "Converge events" } });
  assert.deepEqual(Object.keys(topics), [target!.Arn.Ref], "the rule targets the events topic");
  assert.deepEqual(Object.values(target!.InputTransformer.InputPathsMap).sort(), ["$.detail-type", "$.detail.command", "$.detail.eventId", "$.detail.summary"]);
  const template = target!.InputTransformer.InputTemplate;
  for (const part of ['"version":"1.0"', '"source":"custom"', '"textType":"client-markdown"', '"description":<detail-summary>', '"nextSteps":[<detail-command>]'])
    assert.ok(template.includes(part), `${part} in ${template}`);
  // EventBridge may publish to the topic (its resource policy), over TLS only
  routed.hasResourceProperties("AWS::SNS::TopicPolicy", {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: "sns:Publish", Principal: { Service: "events.amazonaws.com" } })]) },
  });
});

test("with routes: the email address and the Slack channel subscribe to the topic; the channel cannot run commands", () => {
  const topic = Object.keys(routed.findResources("AWS::SNS::Topic", { Properties: { DisplayName: "Converge events" } }))[0]!;
  routed.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "platform@example.com", TopicArn: { Ref: topic } });
  routed.hasResourceProperties("AWS::Chatbot::SlackChannelConfiguration", {
    SlackWorkspaceId: "T0123456789",
    SlackChannelId: "C0123456789",
    SnsTopicArns: [{ Ref: topic }],
    GuardrailPolicies: [{ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::aws:policy/AWSDenyAll"]] }],
  });
});
