/**
 * Converge's events on EventBridge (shared/events): the bus they go to (the account's default
 * bus, or one given), PutEvents granted to the functions that publish (reconcile, webhook) with
 * `CONVERGE_EVENT_BUS` set on them, and optional routes: one rule on `source: ["converge"]`
 * (optionally narrowed to some detail types) targeting an SNS topic, which an email address
 * and an AWS Chatbot Slack channel may subscribe to
 * (https://docs.aws.amazon.com/chatbot/latest/adminguide/slack-setup.html: the Slack workspace
 * is authorized once in the Chatbot console, its id and the channel's id are given here).
 * The topic receives each event as an AWS Chatbot custom notification (an input transformer:
 * title the detail type, description the detail's `summary`, next step its `command`;
 * https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html), which Slack shows
 * as a message and email as that JSON. Other targets (an API destination for PagerDuty, a
 * queue, the raw events) take rules of their own on `bus` with the same pattern (`pattern`).
 */
import { ArnFormat, Stack } from "aws-cdk-lib";
import { SlackChannelConfiguration } from "aws-cdk-lib/aws-chatbot";
import { EventBus, EventField, Rule, RuleTargetInput, type EventPattern, type IEventBus } from "aws-cdk-lib/aws-events";
import { SnsTopic } from "aws-cdk-lib/aws-events-targets";
import { ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { Topic, type ITopic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import { EVENT_SOURCE, type DetailType } from "../../shared/events/schema.js";

/** Where events are routed (each optional; none: events are published and routed by rules you add). */
export interface EventRoutes {
  /** Only these detail types (default: every one). */
  detailTypes?: DetailType[];
  /** An existing topic to send them to (default: one is created when `email` or `slack` is given). */
  topic?: ITopic;
  /** An email address subscribed to the topic (it confirms the subscription once). */
  email?: string;
  /** An AWS Chatbot Slack channel subscribed to the topic: the workspace id (`T...`, authorized in the Chatbot console) and the channel id (`C...`). */
  slack?: { workspaceId: string; channelId: string };
}

/** What the construct is wired to. */
export interface ConvergeEventsProps extends EventRoutes {
  /** The functions that publish events (granted PutEvents, given `CONVERGE_EVENT_BUS`). */
  publishers: LambdaFunction[];
  /** The bus (default: the account's default bus). */
  bus?: IEventBus;
}

/** The bus, the grants and the optional rule, topic, email and Slack routes. */
export class ConvergeEvents extends Construct {
  readonly bus: IEventBus;
  /** The pattern of the routes' rule (also for rules added elsewhere). */
  readonly pattern: EventPattern;
  readonly rule?: Rule;
  readonly topic?: ITopic;
  readonly slack?: SlackChannelConfiguration;

  constructor(scope: Construct, id: string, props: ConvergeEventsProps) {
    super(scope, id);
    this.bus =
      props.bus ??
      EventBus.fromEventBusArn(this, "DefaultBus", Stack.of(this).formatArn({ service: "events", resource: "event-bus", resourceName: "default", arnFormat: ArnFormat.SLASH_RESOURCE_NAME }));
    for (const fn of props.publishers) {
      fn.addToRolePolicy(new PolicyStatement({ actions: ["events:PutEvents"], resources: [this.bus.eventBusArn] }));
      fn.addEnvironment("CONVERGE_EVENT_BUS", this.bus.eventBusName);
    }
    this.pattern = { source: [EVENT_SOURCE], ...(props.detailTypes?.length ? { detailType: props.detailTypes } : {}) };
    this.topic = props.topic ?? (props.email || props.slack ? new Topic(this, "Topic", { displayName: "Converge events", enforceSSL: true }) : undefined);
    if (!this.topic) return;
    this.rule = new Rule(this, "Rule", {
      eventBus: this.bus,
      eventPattern: this.pattern,
      description: "Converge events to the events topic",
      targets: [new SnsTopic(this.topic, { message: chatbotNotification() })],
    });
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
    if (props.slack) {
      this.slack = new SlackChannelConfiguration(this, "Slack", {
        slackChannelConfigurationName: `${Stack.of(this).stackName}-converge-events`.slice(0, 128),
        slackWorkspaceId: props.slack.workspaceId,
        slackChannelId: props.slack.channelId,
        notificationTopics: [this.topic],
        // notifications only: the channel's members cannot run AWS commands through it
        guardrailPolicies: [ManagedPolicy.fromAwsManagedPolicyName("AWSDenyAll")],
      });
    }
  }
}

/** A Converge event as an AWS Chatbot custom notification (version 1.0, source custom; see the module doc). */
export function chatbotNotification(): RuleTargetInput {
  return RuleTargetInput.fromObject({
    version: "1.0",
    source: "custom",
    id: EventField.fromPath("$.detail.eventId"),
    content: {
      textType: "client-markdown",
      title: EventField.detailType,
      description: EventField.fromPath("$.detail.summary"),
      nextSteps: [EventField.fromPath("$.detail.command")],
    },
    metadata: { eventType: EventField.detailType, summary: EventField.fromPath("$.detail.summary") },
  });
}
