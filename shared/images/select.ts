/**
 * Which tag a policy selects, and whether moving a marked field to it is an upgrade: Flux's
 * ImagePolicy rules (https://fluxcd.io/flux/components/image/imagepolicies/#policy):
 * - `filterTags.pattern` keeps the tags it matches; `extract`, when given, expands its capture
 *   groups (`$ts`, `${ts}`, `$1`) into the value compared, else the tag is compared as it is;
 * - `semver`: values that are semantic versions inside `range` (a leading `v` accepted; ranges
 *   read as Masterminds/semver reads them, ./semver.ts), the highest wins;
 * - `alphabetical` / `numerical`: `asc` selects the highest value, `desc` the lowest (Flux:
 *   "given the letters of the alphabet as tags, ascending order would select Z").
 */
import semver from "semver";
import { fromGoRegex, type ImagePolicy } from "./policy.js";
import { inRange } from "./semver.js";

/**
 * The value a tag is ranked by (after `filterTags`), whether or not it is inside a semver
 * range; undefined when it cannot be ranked (filtered out, not a version, not a number).
 */
function comparable(policy: ImagePolicy, tag: string): string | undefined {
  let value = tag;
  if (policy.filterTags) {
    const m = new RegExp(fromGoRegex(policy.filterTags.pattern)).exec(tag);
    if (!m) return undefined;
    if (policy.filterTags.extract) value = expand(policy.filterTags.extract, m);
  }
  if (policy.semver) return semver.parse(value, { loose: true }) ? value : undefined;
  if (policy.numerical && !/^-?\d+(\.\d+)?$/.test(value)) return undefined;
  return value;
}

/** The value a tag is compared by, or undefined when the policy does not accept the tag. */
export function tagValue(policy: ImagePolicy, tag: string): string | undefined {
  const value = comparable(policy, tag);
  if (value === undefined || !policy.semver) return value;
  return inRange(value, policy.semver.range) ? value : undefined;
}

/** `template` with `$name`, `${name}` and `$1` replaced by the match's groups (Go's regexp Expand). */
function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(?:\{(\w+)\}|(\w+))/g, (_, braced: string | undefined, bare: string | undefined) => {
    const key = braced ?? bare!;
    return (/^\d+$/.test(key) ? m[Number(key)] : m.groups?.[key]) ?? "";
  });
}

/** Compares two accepted values: > 0 when `a` ranks above `b` in the policy's order. */
function rank(policy: ImagePolicy, a: string, b: string): number {
  if (policy.semver) return semver.compare(a, b, { loose: true });
  const asc = (policy.alphabetical ?? policy.numerical)!.order === "asc" ? 1 : -1;
  if (policy.numerical) return asc * Math.sign(Number(a) - Number(b));
  return asc * (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The tag the policy selects among `tags` (the highest ranked accepted one), or undefined when
 * it accepts none.
 */
export function selectTag(policy: ImagePolicy, tags: Iterable<string>): string | undefined {
  let best: { tag: string; value: string } | undefined;
  for (const tag of tags) {
    const value = tagValue(policy, tag);
    if (value === undefined) continue;
    if (!best || rank(policy, value, best.value) > 0) best = { tag, value };
  }
  return best?.tag;
}

/**
 * Whether a field holding tag `current` moves to `next`: `next` differs and the policy accepts
 * it; and, unless the policy has `allowDowngrade`, `current` ranks below `next` or cannot be
 * ranked at all (`latest`, a tag the filter drops): a version above the range (7.0.0 under
 * `~6.7`) is not moved down.
 */
export function shouldMove(policy: ImagePolicy, current: string, next: string): boolean {
  if (current === next) return false;
  const to = tagValue(policy, next);
  if (to === undefined) return false;
  if (policy.allowDowngrade) return true;
  const from = comparable(policy, current);
  return from === undefined || rank(policy, to, from) > 0;
}
