/**
 * Semver ranges as Flux reads them (Masterminds/semver v3, https://github.com/Masterminds/semver#checking-version-constraints),
 * checked with node-semver:
 * - `||` separates alternatives; inside one, comparisons are ANDed, separated by spaces or
 *   commas (`>=1.5, <2.0`);
 * - a wildcard may carry a prerelease (`^1.x-0`, Flux's release-candidate example), read as
 *   `^1.x.x-0`;
 * - an alternative with a prerelease accepts the prereleases of every version it bounds
 *   (`~1.2.3-beta.2` takes `1.2.4-beta.2`; "different from npm/js semver handling", as
 *   Masterminds says): node-semver's `includePrerelease` for that alternative; one without
 *   leaves prereleases out;
 * - an empty range, or an empty alternative, is refused.
 */
import semver from "semver";

/** A range read: its alternatives, each as node-semver takes it, and whether it accepts prereleases. */
export type SemverRange = { range: string; prereleases: boolean }[];

/** The range `text` read as Masterminds does, or undefined when it is not a range. */
export function parseRange(text: string): SemverRange | undefined {
  const groups: SemverRange = [];
  for (const raw of text.split("||")) {
    const range = raw
      .replace(/,/g, " ")
      .replace(/(\d+)\.[xX*]-/g, "$1.x.x-")
      .replace(/\s+/g, " ")
      .trim();
    if (!range || semver.validRange(range) === null) return undefined;
    groups.push({ range, prereleases: /[\dxX*]-[0-9A-Za-z]/.test(range) });
  }
  return groups;
}

/** Whether version `value` (a leading `v` accepted) is inside the range `text`; false for a range that does not parse. */
export function inRange(value: string, text: string): boolean {
  const v = semver.parse(value, { loose: true });
  return !!v && (parseRange(text) ?? []).some((g) => semver.satisfies(v, g.range, { includePrerelease: g.prereleases }));
}
