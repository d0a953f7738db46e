/**
 * CloudWatch Contributor Insights rules over JSON logs: the rule body (schema
 * `CloudWatchLogRule` v1) and a small evaluator of its `Keys` and `Filters`, so tests can show
 * that the log lines Converge writes make a cluster a contributor of the rule the stack deploys.
 *
 * Syntax (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-RuleSyntax.html):
 * up to 4 `Keys` and up to 4 `Filters` (ANDed); `In` / `NotIn` / `StartsWith` take up to 10
 * strings (ORed), `GreaterThan` / `LessThan` / `EqualTo` / `NotEqualTo` one number, `IsPresent`
 * true or false; field and value matching is case sensitive; fields are JSON property paths
 * (`$.a.b`, `$.a[0]`).
 */

/** One filter of a rule: a field and one operator. */
export type RuleFilter = { Match: string } & (
  | { In: string[] }
  | { NotIn: string[] }
  | { StartsWith: string[] }
  | { GreaterThan: number }
  | { LessThan: number }
  | { EqualTo: number }
  | { NotEqualTo: number }
  | { IsPresent: boolean }
);

/** A Contributor Insights rule body over JSON log events. */
export interface InsightRuleBody {
  Schema: { Name: "CloudWatchLogRule"; Version: 1 };
  LogGroupNames: string[];
  LogFormat: "JSON";
  Contribution: { Keys: string[]; Filters?: RuleFilter[]; ValueOf?: string };
  AggregateOn: "Count" | "Sum";
}

/** Documented limits of a rule body. */
export const RULE_LIMITS = { keys: 4, filters: 4, stringValues: 10 } as const;

/**
 * A rule counting, per value of `keys`, the JSON events of `logGroupNames` that pass every filter.
 * @throws Error when the body exceeds the documented limits.
 */
export function countRule(logGroupNames: string[], keys: string[], filters: RuleFilter[]): InsightRuleBody {
  if (keys.length < 1 || keys.length > RULE_LIMITS.keys) throw new Error(`a rule takes 1 to ${RULE_LIMITS.keys} keys`);
  if (filters.length > RULE_LIMITS.filters) throw new Error(`a rule takes at most ${RULE_LIMITS.filters} filters`);
  for (const f of filters) {
    const values = "In" in f ? f.In : "NotIn" in f ? f.NotIn : "StartsWith" in f ? f.StartsWith : [];
    if (values.length > RULE_LIMITS.stringValues) throw new Error(`${f.Match}: at most ${RULE_LIMITS.stringValues} values`);
  }
  return {
    Schema: { Name: "CloudWatchLogRule", Version: 1 },
    LogGroupNames: logGroupNames,
    LogFormat: "JSON",
    Contribution: { Keys: keys, ...(filters.length > 0 ? { Filters: filters } : {}) },
    AggregateOn: "Count",
  };
}

/** `$.a.b[0].c` of `event`, or undefined when a step is missing. */
export function valueAt(event: unknown, path: string): unknown {
  if (!path.startsWith("$.")) throw new Error(`not a JSON property path: ${path}`);
  let cur: unknown = event;
  for (const step of path.slice(2).match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = step.startsWith("[") ? (cur as unknown[])[Number(step.slice(1, -1))] : (cur as Record<string, unknown>)[step];
  }
  return cur;
}

/**
 * Whether `event` passes `filter`. A missing field passes only `IsPresent: false`; string
 * operators compare the value's string form; number operators need a number.
 */
export function passes(filter: RuleFilter, event: unknown): boolean {
  const v = valueAt(event, filter.Match);
  if ("IsPresent" in filter) return (v !== undefined) === filter.IsPresent;
  if (v === undefined || v === null || typeof v === "object") return false;
  const s = String(v);
  if ("In" in filter) return filter.In.includes(s);
  if ("NotIn" in filter) return !filter.NotIn.includes(s);
  if ("StartsWith" in filter) return filter.StartsWith.some((p) => s.startsWith(p));
  if (typeof v !== "number") return false;
  if ("GreaterThan" in filter) return v > filter.GreaterThan;
  if ("LessThan" in filter) return v < filter.LessThan;
  if ("EqualTo" in filter) return v === filter.EqualTo;
  return v !== filter.NotEqualTo;
}

/**
 * The contributors `rule` finds in `events` (parsed JSON log events of its log groups): each
 * unique combination of key values (joined with `,`, in `Keys` order) and its count of matching
 * events. An event lacking a key is not counted.
 */
export function contributors(rule: InsightRuleBody, events: unknown[]): Map<string, number> {
  const found = new Map<string, number>();
  for (const e of events) {
    if (!(rule.Contribution.Filters ?? []).every((f) => passes(f, e))) continue;
    const keys = rule.Contribution.Keys.map((k) => valueAt(e, k));
    if (keys.some((k) => k === undefined || k === null)) continue;
    const key = keys.map(String).join(",");
    found.set(key, (found.get(key) ?? 0) + 1);
  }
  return found;
}

/**
 * The JSON objects among raw log lines (a line may carry a prefix, as the test runner's protocol
 * bytes on a shared stdout: the object is taken from its first `{`); lines that are not JSON
 * objects are skipped.
 */
export function jsonEvents(lines: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of lines) {
    const at = line.indexOf("{");
    if (at < 0) continue;
    try {
      const v = JSON.parse(line.slice(at)) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    } catch {
      // not a JSON line
    }
  }
  return out;
}
