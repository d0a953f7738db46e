/**
 * The alarms' states from CloudWatch (DescribeAlarms, at most 100 names a request:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html),
 * for the digest (`./digest.ts`).
 */
import { type CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import type { AlarmNotification } from "./message.js";
import type { AlarmStateInfo, AlarmStates } from "./digest.js";

/** `AlarmStates` of the metric alarms named, read through `client`; an alarm CloudWatch does not know is absent. */
export function cloudWatchAlarmStates(client: Pick<CloudWatchClient, "send">): AlarmStates {
  return {
    async states(names) {
      const out = new Map<string, AlarmStateInfo>();
      for (let i = 0; i < names.length; i += 100) {
        const res = await client.send(new DescribeAlarmsCommand({ AlarmNames: names.slice(i, i + 100), AlarmTypes: ["MetricAlarm"] }));
        for (const a of res.MetricAlarms ?? []) {
          if (a.AlarmName && a.StateValue && a.StateUpdatedTimestamp) {
            out.set(a.AlarmName, { state: a.StateValue as AlarmNotification["NewStateValue"], since: a.StateUpdatedTimestamp.getTime() });
          }
        }
      }
      return out;
    },
  };
}
