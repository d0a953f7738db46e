/**
 * The alarm digest: a cluster that enters an alarm's state while that alarm is already in ALARM
 * changes nothing CloudWatch notifies about (the alarm stays in ALARM, so no state change, so no
 * notification). The notify function runs this every `DIGEST_MINUTES` on a schedule: for each
 * per-cluster alarm in ALARM it names the clusters that entered its state during the window
 * (after the alarm's own state change, whose notification named the clusters in that state then),
 * so every cluster is named once when it enters a state, at any fleet size.
 *
 * Stateless: the window is the schedule's `(time - window, time]`; a cluster's entry time comes
 * from its status (`enteredAt`); the alarm's state and since when from CloudWatch's
 * DescribeAlarms (`./alarms.ts`). Windows are contiguous, so no entry falls between two
 * digests; an entry in the same minute as the alarm's change may be named twice (by the
 * change's notification and the digest), never zero times.
 *
 * Cost: one DescribeAlarms request per run (free: not a GetMetricData-class API,
 * https://aws.amazon.com/cloudwatch/pricing/) and the filtered Scan of `./read.ts` only for an
 * alarm in ALARM; nothing is read while every alarm is OK.
 */
import type { AlarmThresholds } from "../metrics/signals.js";
import type { AlarmNotification, ClusterAlarmKind, ClusterView, Notification } from "./message.js";
import { type NotifySettings, messageNaming } from "./notify.js";
import type { AlarmStateReader } from "./read.js";

/** The digest's period and window, minutes: the schedule's rate in infra/constructs/notify.ts. */
export const DIGEST_MINUTES = 5;

/** An alarm's state as CloudWatch reports it: the value and since when (epoch ms). */
export interface AlarmStateInfo {
  state: AlarmNotification["NewStateValue"];
  since: number;
}

/** The states of alarms by name (CloudWatch DescribeAlarms in AWS, `./alarms.ts`); an alarm that does not exist is absent. */
export interface AlarmStates {
  states(names: string[]): Promise<Map<string, AlarmStateInfo>>;
}

/**
 * When `c` entered the state of alarm `kind` (epoch ms), given since when it is in the
 * underlying condition (`since` of `alarmState`): diverged = OutOfSync since + `divergedMinutes`;
 * failing = failing since + `failingMinutes`; stale = last success (or registration) +
 * `staleIntervals` of its interval.
 */
export function enteredAt(kind: ClusterAlarmKind, c: ClusterView, since: string, t: AlarmThresholds): number {
  const start = Date.parse(since);
  if (kind === "diverged") return start + t.divergedMinutes * 60_000;
  if (kind === "failing") return start + t.failingMinutes * 60_000;
  return start + t.staleIntervals * c.spec.intervalSeconds * 1000;
}

/**
 * The digest notifications at `windowEnd` (epoch ms, the schedule's time): one per per-cluster
 * alarm that is in ALARM and that some cluster entered after both the window's start and the
 * alarm's own state change. Alarms not in ALARM, and windows nobody entered, give none.
 * @throws when CloudWatch or DynamoDB fail (the scheduled invocation is retried).
 */
export async function digestNotifications(
  settings: NotifySettings,
  reader: Pick<AlarmStateReader, "inAlarm" | "drifted">,
  alarms: AlarmStates,
  windowEnd: number,
  windowMinutes = DIGEST_MINUTES,
): Promise<(Notification & { kind: ClusterAlarmKind; alarm: string })[]> {
  const names = Object.keys(settings.kinds);
  if (names.length === 0) return [];
  const states = await alarms.states(names);
  const out: (Notification & { kind: ClusterAlarmKind; alarm: string })[] = [];
  for (const name of names) {
    const st = states.get(name);
    if (st?.state !== "ALARM") continue;
    const kind = settings.kinds[name]!;
    const from = Math.max(windowEnd - windowMinutes * 60_000, st.since);
    const entered = (await reader.inAlarm(kind, windowEnd, settings.thresholds)).filter((e) => {
      const at = enteredAt(kind, e.cluster, e.since, settings.thresholds);
      return at > from && at <= windowEnd;
    });
    if (entered.length === 0) continue;
    const alarm: AlarmNotification = { AlarmName: name, NewStateValue: "ALARM", StateChangeTime: new Date(st.since).toISOString() };
    const note = await messageNaming(alarm, kind, entered, settings, reader, windowEnd, { from });
    out.push({ ...note, kind, alarm: name });
  }
  return out;
}
