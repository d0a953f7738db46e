/**
 * One alarm notification end to end, free of Lambda and SNS types: which alarm it is (the
 * settings map alarm names to kinds), the clusters in its state (one bounded store read, only
 * for a per-cluster alarm entering ALARM) and the message. The notify function
 * (functions/notify) publishes what this returns.
 *
 * Settings come from the environment the CDK construct sets (infra/constructs/notify.ts):
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `CONVERGE_NOTIFY_TOPIC_ARN` | the topic people subscribe to | required |
 * | `CONVERGE_DIVERGED_ALARM`, `CONVERGE_FAILING_ALARM`, `CONVERGE_STALE_ALARM` | names of the per-cluster alarms | — |
 * | `CONVERGE_DIVERGED_MINUTES`, `CONVERGE_FAILING_MINUTES`, `CONVERGE_STALE_INTERVALS` | the alarms' thresholds | 15, 15, 3 |
 * | `CONVERGE_NOTIFY_CAP` | clusters named per message | 20 |
 * | `CONVERGE_UI_URL` | address of the web view, to link each cluster's page | — (the message says `converge ui`) |
 */
import { type AlarmThresholds, DEFAULT_THRESHOLDS } from "../metrics/signals.js";
import { type AlarmNotification, CLUSTER_ALARM_KINDS, type ClusterAlarmKind, type ClusterView, DEFAULT_CAP, type Notification, alarmMessage } from "./message.js";
import type { AlarmStateReader } from "./read.js";

/** What the notify function needs to know. */
export interface NotifySettings {
  topicArn?: string;
  /** Alarm name -> the per-cluster alarm it is. */
  kinds: Record<string, ClusterAlarmKind>;
  thresholds: AlarmThresholds;
  cap: number;
  /** Address of the web view (`converge ui` or a hosted copy): each named cluster links to its page. */
  uiUrl?: string;
}

const positive = (v: string | undefined, fallback: number) => (Number(v) > 0 ? Number(v) : fallback);

/** The environment variable naming the alarm of each per-cluster kind. */
export const ALARM_NAME_ENV: Record<ClusterAlarmKind, string> = { diverged: "CONVERGE_DIVERGED_ALARM", failing: "CONVERGE_FAILING_ALARM", stale: "CONVERGE_STALE_ALARM" };

/** The settings in `env`. */
export function notifySettings(env: NodeJS.ProcessEnv = process.env): NotifySettings {
  const kinds: Record<string, ClusterAlarmKind> = {};
  for (const kind of CLUSTER_ALARM_KINDS) {
    const name = env[ALARM_NAME_ENV[kind]];
    if (name) kinds[name] = kind;
  }
  return {
    topicArn: env.CONVERGE_NOTIFY_TOPIC_ARN || undefined,
    kinds,
    thresholds: {
      divergedMinutes: positive(env.CONVERGE_DIVERGED_MINUTES, DEFAULT_THRESHOLDS.divergedMinutes),
      failingMinutes: positive(env.CONVERGE_FAILING_MINUTES, DEFAULT_THRESHOLDS.failingMinutes),
      staleIntervals: positive(env.CONVERGE_STALE_INTERVALS, DEFAULT_THRESHOLDS.staleIntervals),
    },
    cap: positive(env.CONVERGE_NOTIFY_CAP, DEFAULT_CAP),
    ...(env.CONVERGE_UI_URL ? { uiUrl: env.CONVERGE_UI_URL } : {}),
  };
}

/**
 * The notification of `alarm` at `now` (epoch ms). Reads the clusters table only when a
 * per-cluster alarm enters ALARM (see `AlarmStateReader` for what that read costs), and the
 * drifted resources of the clusters it names.
 */
export async function notificationFor(
  alarm: AlarmNotification,
  settings: NotifySettings,
  reader: Pick<AlarmStateReader, "inAlarm" | "drifted">,
  now = Date.now(),
): Promise<Notification & { kind?: ClusterAlarmKind }> {
  const kind = settings.kinds[alarm.AlarmName];
  const clusters = kind && alarm.NewStateValue === "ALARM" ? await reader.inAlarm(kind, now, settings.thresholds) : [];
  return { ...(await messageNaming(alarm, kind, clusters, settings, reader, now)), ...(kind ? { kind } : {}) };
}

/**
 * The message naming `clusters` (the first `settings.cap` of them, with their drifted resources
 * read from the snapshots table); `digest` as in `alarmMessage`.
 */
export async function messageNaming(
  alarm: AlarmNotification,
  kind: ClusterAlarmKind | undefined,
  clusters: { cluster: ClusterView; since: string }[],
  settings: NotifySettings,
  reader: Pick<AlarmStateReader, "drifted">,
  now: number,
  digest?: { from: number },
): Promise<Notification> {
  const shown = clusters.slice(0, settings.cap).filter((c) => c.cluster.status.sync === "OutOfSync");
  const resources = shown.length ? await reader.drifted(shown.map((c) => c.cluster.name)) : undefined;
  return alarmMessage({ alarm, kind, clusters, now, thresholds: settings.thresholds, cap: settings.cap, resources, uiUrl: settings.uiUrl, ...(digest ? { digest } : {}) });
}
