/**
 * Notify function: subscribed to the topic the alarms notify; for each alarm state change it
 * publishes a message to the topic people subscribe to, naming the clusters in the alarm's state
 * (name, status, revision, since when, message; capped, then "and N more"). Thin adapter over
 * `shared/notify/`.
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { SNSEvent } from "aws-lambda";
import { loadConfig } from "../../shared/config.js";
import { documentClient } from "../../shared/store/client.js";
import { parseAlarmNotification } from "../../shared/notify/message.js";
import { notificationFor, notifySettings } from "../../shared/notify/notify.js";
import { AlarmStateReader } from "../../shared/notify/read.js";

const logger = new Logger({ serviceName: "converge-notify" });
const config = loadConfig();
const settings = notifySettings();
const reader = new AlarmStateReader(documentClient(config), config.tables.clusters);
const sns = new SNSClient({ region: config.region });

/** SNS handler; throws when DynamoDB or SNS fail (SNS retries the delivery). A message that is not an alarm is logged and dropped. */
export const handler = middy(async (event: SNSEvent): Promise<void> => {
  if (!settings.topicArn) throw new Error("CONVERGE_NOTIFY_TOPIC_ARN is not set");
  for (const record of event.Records) {
    let alarm: ReturnType<typeof parseAlarmNotification>;
    try {
      alarm = parseAlarmNotification(record.Sns.Message);
    } catch (err) {
      logger.warn("not an alarm notification; dropped", { messageId: record.Sns.MessageId, error: (err as Error).message });
      continue;
    }
    const note = await notificationFor(alarm, settings, reader);
    await sns.send(new PublishCommand({ TopicArn: settings.topicArn, Subject: note.subject, Message: note.message }));
    logger.info("notified", { alarm: alarm.AlarmName, state: alarm.NewStateValue, kind: note.kind, clusters: note.total, named: note.named });
  }
});
