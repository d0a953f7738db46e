/**
 * The notification of a Converge alarm, naming the clusters: a CloudWatch alarm on a
 * Contributor Insights rule says how many clusters are diverged, failing or stale, not which;
 * the notify function (functions/notify) reads them from the clusters table
 * (`./read.ts`) and publishes the text built here to the topic people subscribe to.
 *
 * Pure functions: `parseAlarmNotification` (the JSON CloudWatch sends to SNS), `alarmState`
 * (whether a cluster is in an alarm's state now, and since when: the same definitions as the
 * rules' filters, `shared/metrics/signals.ts`) and `alarmMessage` (subject and text, at most
 * `cap` clusters then "and N more").
 */
import { type AlarmThresholds, type DueCluster, isFailed, minutesSince, staleness } from "../metrics/signals.js";
import type { ClusterStatus } from "../cluster/status.js";
import { clusterPageUrl } from "../events/schema.js";

/** The per-cluster alarms. */
export type ClusterAlarmKind = "diverged" | "failing" | "stale";
export const CLUSTER_ALARM_KINDS: readonly ClusterAlarmKind[] = ["diverged", "failing", "stale"];

/** The fields of a CloudWatch alarm state change, as CloudWatch publishes it to SNS (JSON). */
export interface AlarmNotification {
  AlarmName: string;
  AlarmDescription?: string | null;
  NewStateValue: "ALARM" | "OK" | "INSUFFICIENT_DATA";
  OldStateValue?: string;
  NewStateReason?: string;
  /** ISO time (CloudWatch writes `2026-01-01T00:00:00.000+0000`). */
  StateChangeTime?: string;
  Region?: string;
}

/**
 * Reads the alarm notification in an SNS message body.
 * @throws Error when the body is not a CloudWatch alarm notification.
 */
export function parseAlarmNotification(body: string): AlarmNotification {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new Error("not a CloudWatch alarm notification: the message is not JSON");
  }
  const a = v as Partial<AlarmNotification> | null;
  if (!a || typeof a.AlarmName !== "string" || !["ALARM", "OK", "INSUFFICIENT_DATA"].includes(String(a.NewStateValue))) {
    throw new Error("not a CloudWatch alarm notification: AlarmName or NewStateValue missing");
  }
  return a as AlarmNotification;
}

/** What the message shows of a cluster (a `ClusterRecord` has it). */
export interface ClusterView extends DueCluster {
  status: ClusterStatus;
}

/**
 * Whether `c` is in the state of alarm `kind` at `now` (epoch ms), and since when (ISO):
 * diverged = OutOfSync without interruption for `divergedMinutes`; failing = Error / Unknown
 * reconciles in a row for `failingMinutes`; stale = no successful reconcile for
 * `staleIntervals` of its intervals (since its registration when it never had one).
 */
export function alarmState(kind: ClusterAlarmKind, c: ClusterView, now: number, t: AlarmThresholds): { since: string } | undefined {
  const s = c.status;
  if (kind === "diverged") return s.sync === "OutOfSync" && s.outOfSyncSince && minutesSince(s.outOfSyncSince, now) >= t.divergedMinutes ? { since: s.outOfSyncSince } : undefined;
  if (kind === "failing") return isFailed(s.sync) && s.failingSince && minutesSince(s.failingSince, now) >= t.failingMinutes ? { since: s.failingSince } : undefined;
  return Math.floor(staleness(c, now).intervals) >= t.staleIntervals ? { since: s.lastSuccessAt ?? c.createdAt } : undefined;
}

/** The clusters of `clusters` in the state of `kind` at `now`, longest first (then by name). */
export function inAlarm(kind: ClusterAlarmKind, clusters: ClusterView[], now: number, t: AlarmThresholds): { cluster: ClusterView; since: string }[] {
  return clusters
    .flatMap((cluster) => {
      const st = alarmState(kind, cluster, now, t);
      return st ? [{ cluster, since: st.since }] : [];
    })
    .sort((a, b) => a.since.localeCompare(b.since) || a.cluster.name.localeCompare(b.cluster.name));
}

/** Clusters named in one message at most (SNS allows 256 KB; an e-mail should stay readable). */
export const DEFAULT_CAP = 20;

const WHAT: Record<ClusterAlarmKind, (t: AlarmThresholds) => string> = {
  diverged: (t) => `OutOfSync for ${t.divergedMinutes} minutes or more`,
  failing: (t) => `failing (Error or Unknown) for ${t.failingMinutes} minutes or more`,
  stale: (t) => `without a successful reconcile for ${t.staleIntervals} intervals or more`,
};

/** `n` minutes as `42 min`, `3 h 5 min`, `2 d 4 h`. */
export function duration(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`;
  return `${Math.floor(minutes / 1440)} d${Math.floor((minutes % 1440) / 60) ? ` ${Math.floor((minutes % 1440) / 60)} h` : ""}`;
}

/** A drifted resource of a cluster as a message lists it (from the cluster's observed drift state). */
export interface DriftedResource {
  /** Resource key, `group/Kind/namespace/name` (shared/model.ts `resourceKey`). */
  key: string;
  state: "Modified" | "Missing" | "Extra";
  /** JSON paths of a Modified resource's changed fields. */
  paths: string[];
}

/** Drifted resources listed per cluster at most; the rest are counted. */
export const RESOURCES_SHOWN = 5;

/** Where to look at a cluster: the CLI commands, and its page when the web view's address is known. */
export function lookHint(name: string, uiUrl?: string): string {
  const page = uiUrl ? ` · ${clusterPageUrl(uiUrl, name)}` : " · converge ui";
  return `look: converge diff --cluster ${name} · converge drift history --cluster ${name}${page}`;
}

function resourcesLine(resources: DriftedResource[]): string {
  const shown = resources.slice(0, RESOURCES_SHOWN).map((r) => `${r.state} ${r.key}${r.paths.length ? ` (${r.paths.slice(0, 3).join(", ")}${r.paths.length > 3 ? ", …" : ""})` : ""}`);
  const more = resources.length - shown.length;
  return `drifted: ${shown.join("; ")}${more > 0 ? `; and ${more} more` : ""}`;
}

/**
 * The lines about a cluster: name, status, revision, since when; then its message, its drifted
 * resources (at most `RESOURCES_SHOWN`) and where to look.
 */
export function clusterLine(c: ClusterView, since: string, now: number, extra: { resources?: DriftedResource[]; uiUrl?: string } = {}): string {
  const s = c.status;
  const parts = [`${c.name}: ${s.sync}`];
  if (s.sync === "OutOfSync" || s.sync === "Synced") parts.push(`${s.counts.modified} modified, ${s.counts.missing} missing, ${s.counts.extra} extra of ${s.counts.resources}`);
  if (s.health) parts.push(`health ${s.health}`);
  parts.push(`revision ${s.revision ? s.revision.slice(0, 12) : "none yet"}`);
  parts.push(`since ${since} (${duration(minutesSince(since, now))})`);
  if (s.lastReconcileAt) parts.push(`last reconcile ${s.lastReconcileAt}`);
  const message = s.message?.replace(/\s+/g, " ").trim();
  const details = [
    ...(message ? [message.length > 300 ? `${message.slice(0, 299)}…` : message] : []),
    ...(extra.resources?.length ? [resourcesLine(extra.resources)] : []),
    lookHint(c.name, extra.uiUrl),
  ];
  return [`- ${parts.join(", ")}`, ...details.map((d) => `  ${d}`)].join("\n");
}

/** SNS subjects are ASCII, no line breaks, under 100 characters. */
function subjectOf(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, "?");
  return ascii.length <= 99 ? ascii : `${ascii.slice(0, 96)}...`;
}

/** A notification: SNS subject and message. */
export interface Notification {
  subject: string;
  message: string;
  /** The clusters named (at most `cap`). */
  named: string[];
  /** The clusters in that state, named or not. */
  total: number;
}

/**
 * The notification of `alarm`. For a per-cluster alarm (`kind`) entering ALARM, `clusters` are
 * the clusters in that state (see `inAlarm`): the first `cap` are named with their status,
 * revision, since when, message, drifted resources (`resources`, by cluster name) and where to
 * look, then "and N more". With `digest`, the alarm was already in ALARM and `clusters` are the
 * ones that entered its state since `digest.from` (epoch ms; `./digest.ts`). Any other state
 * change (OK, a global alarm) is reported as CloudWatch gave it.
 */
export function alarmMessage(input: {
  alarm: AlarmNotification;
  kind?: ClusterAlarmKind;
  clusters: { cluster: ClusterView; since: string }[];
  now: number;
  thresholds: AlarmThresholds;
  cap?: number;
  resources?: Map<string, DriftedResource[]>;
  uiUrl?: string;
  digest?: { from: number };
}): Notification {
  const { alarm, kind, clusters, now, thresholds } = input;
  const cap = Math.max(1, input.cap ?? DEFAULT_CAP);
  const at = new Date(now).toISOString();
  const reason = alarm.NewStateReason ? `\n\nCloudWatch: ${alarm.NewStateReason}` : "";
  if (!kind || alarm.NewStateValue !== "ALARM") {
    const what = alarm.NewStateValue === "OK" ? "resolved" : alarm.NewStateValue;
    return {
      subject: subjectOf(`Converge ${alarm.NewStateValue}: ${alarm.AlarmName}`),
      message: `${alarm.AlarmName} is ${what} (${alarm.StateChangeTime ?? at}).${alarm.AlarmDescription ? `\n${alarm.AlarmDescription}` : ""}${reason}`,
      named: [],
      total: 0,
    };
  }
  const what = WHAT[kind](thresholds);
  const shown = clusters.slice(0, cap);
  const more = clusters.length - shown.length;
  const count = `${clusters.length} cluster${clusters.length === 1 ? "" : "s"}`;
  const lines =
    clusters.length === 0
      ? ["No cluster is in this state any more (they recovered before this notification was built); `converge status` shows every cluster."]
      : [
          ...shown.map((c) => clusterLine(c.cluster, c.since, now, { resources: input.resources?.get(c.cluster.name), uiUrl: input.uiUrl })),
          ...(more > 0 ? [`and ${more} more (\`converge status\` lists every cluster).`] : []),
        ];
  const names = shown.map((c) => c.cluster.name);
  const inSubject = names.slice(0, 3);
  const subjectNames = inSubject.length > 0 ? `: ${inSubject.join(", ")}${clusters.length > inSubject.length ? ` and ${clusters.length - inSubject.length} more` : ""}` : "";
  const lead = input.digest
    ? `${alarm.AlarmName} is still in ALARM (since ${alarm.StateChangeTime ?? "earlier"}); ${count} entered its state between ${new Date(input.digest.from).toISOString()} and ${at}: ${what}.`
    : `${alarm.AlarmName}: ${count} ${what}, as of ${at}.`;
  return {
    subject: subjectOf(`Converge ALARM${input.digest ? " (ongoing)" : ""}: ${count} ${input.digest ? "newly " : ""}${kind}${subjectNames}`),
    message: `${lead}\n\n${lines.join("\n")}${reason}`,
    named: names,
    total: clusters.length,
  };
}
