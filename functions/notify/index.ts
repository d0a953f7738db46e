/**
 * Notify function, invoked two ways:
 * - by SNS, subscribed to the topic the alarms notify: for each alarm state change it publishes
 *   a message to the topic people subscribe to, naming the clusters in the alarm's state (name,
 *   status, revision, since when, message, drifted resources, where to look; capped, then
 *   "and N more");
 * - by an EventBridge schedule every few minutes (a `Scheduled Event`): the digest of the
 *   clusters that entered the state of an alarm already in ALARM (`shared/notify/digest.ts`).
 * Thin adapter over `shared/notify/`.
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { ScheduledEvent, SNSEvent } from "aws-lambda";
import { loadConfig } from "../../shared/config.js";
import { documentClient } from "../../shared/store/client.js";
import { cloudWatchAlarmStates } from "../../shared/notify/alarms.js";
import { digestNotifications } from "../../shared/notify/digest.js";
import { type Notification, parseAlarmNotification } from "../../shared/notify/message.js";
import { notificationFor, notifySettings } from "../../shared/notify/notify.js";
import { AlarmStateReader } from "../../shared/notify/read.js";

const logger = new Logger({ serviceName: "converge-notify" });
const config = loadConfig();
const settings = notifySettings();
const reader = new AlarmStateReader(documentClient(config), config.tables.clusters, config.tables.snapshots);
const sns = new SNSClient({ region: config.region });
const alarms = cloudWatchAlarmStates(new CloudWatchClient({ region: config.region }));

const publish = (note: Notification) => sns.send(new PublishCommand({ TopicArn: settings.topicArn, Subject: note.subject, Message: note.message }));

/** SNS or schedule handler; throws when CloudWatch, DynamoDB or SNS fail (the delivery is retried). A message that is not an alarm is logged and dropped. */
export const handler = middy(async (event: SNSEvent | ScheduledEvent): Promise<void> => {
  if (!settings.topicArn) throw new Error("CONVERGE_NOTIFY_TOPIC_ARN is not set");
  if (!("Records" in event)) {
    // the schedule's time is the window's end, so consecutive windows are contiguous
    for (const note of await digestNotifications(settings, reader, alarms, Date.parse(event.time))) {
      await publish(note);
      logger.info("digest notified", { alarm: note.alarm, kind: note.kind, clusters: note.total, named: note.named });
    }
    return;
  }
  for (const record of event.Records) {
    let alarm: ReturnType<typeof parseAlarmNotification>;
    try {
      alarm = parseAlarmNotification(record.Sns.Message);
    } catch (err) {
      logger.warn("not an alarm notification; dropped", { messageId: record.Sns.MessageId, error: (err as Error).message });
      continue;
    }
    const note = await notificationFor(alarm, settings, reader);
    await publish(note);
    logger.info("notified", { alarm: alarm.AlarmName, state: alarm.NewStateValue, kind: note.kind, clusters: note.total, named: note.named });
  }
});
