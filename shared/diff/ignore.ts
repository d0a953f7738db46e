/**
 * Per-cluster ignore rules in the spirit of Argo CD's `ignoreDifferences`
 * (https://argo-cd.readthedocs.io/en/stable/user-guide/diffing/): scoped by group, kind, name
 * and namespace, a rule ignores changes at JSON pointers, at field-path expressions, or at
 * fields whose live owner (in managedFields) is one of the named managers.
 *
 * By default, fields owned by `kube-controller-manager` (the HorizontalPodAutoscaler writes
 * `spec.replicas` through it) are not drift; `managedFieldsManagers: []` in a rule matching
 * everything turns that off. Mutating webhooks need no rule: the dry-run confirmation sees
 * their changes.
 */
import type { IgnoreRule } from "../cluster/ignore-rule.js";
import type { FieldChange, KubeObject, ResourceDrift } from "../model.js";
import { builtinSchemas, listMatch, type Schemas } from "../schema/index.js";
import { appendKey, itemKey, memberSegment } from "./compare.js";
import { fieldsV1Paths } from "./managed.js";

export { IgnoreRuleSchema, type IgnoreRule } from "../cluster/ignore-rule.js";

/** Managers whose fields are not drift unless a rule says otherwise: controllers, not people. */
export const DEFAULT_CONTROLLER_MANAGERS = ["kube-controller-manager"];

function matches(rule: IgnoreRule, d: ResourceDrift): boolean {
  const group = d.apiVersion.includes("/") ? d.apiVersion.slice(0, d.apiVersion.indexOf("/")) : "";
  return (
    (rule.group === undefined || rule.group === group) &&
    (rule.kind === undefined || rule.kind === "*" || rule.kind === d.kind) &&
    (rule.name === undefined || rule.name === d.name) &&
    (rule.namespace === undefined || rule.namespace === (d.namespace ?? ""))
  );
}

/** `path` is `prefix` or lies under it. */
function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}

/**
 * The field path a JSON pointer addresses in `obj` (a list index becomes the item's key in a
 * map list, its value in a set, and stays an index in an atomic list, per `schemas`).
 */
export function pointerToPath(obj: KubeObject, pointer: string, schemas: Schemas = builtinSchemas()): string | undefined {
  let path = "";
  let node: unknown = obj;
  let type = schemas.kindType(obj.apiVersion, obj.kind);
  for (const raw of pointer.split("/").slice(1)) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      const i = Number(seg);
      if (!Number.isInteger(i) || i >= node.length) return undefined;
      const match = listMatch(type);
      path += `[${match.type === "map" ? itemKey(node[i], match) : match.type === "set" ? memberSegment(node[i]) : i}]`;
      node = node[i];
      type = schemas.itemsOf(type);
    } else if (node && typeof node === "object") {
      path = appendKey(path, seg);
      node = (node as Record<string, unknown>)[seg];
      type = schemas.child(type, seg);
    } else return undefined;
  }
  return path;
}

function expressionRegex(expr: string): RegExp {
  const norm = expr.replace(/^\./, "").replace(/\[\]/g, "[*]");
  const body = norm
    .split(/(\[\*\]|\*)/)
    .map((part) => (part === "[*]" ? "\\[[^\\]]*\\]" : part === "*" ? "[^.\\[]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}(?:$|[.[])`);
}

/** Paths of `live` owned by any of `managers` (leaves from their managedFields entries). */
function ownedBy(live: KubeObject, managers: string[]): string[] {
  const entries = (live.metadata.managedFields as { manager?: string; fieldsV1?: unknown }[] | undefined) ?? [];
  return entries.filter((e) => e.manager && managers.includes(e.manager)).flatMap((e) => fieldsV1Paths(e.fieldsV1));
}

/**
 * `d` without the changes the rules ignore; Synced when none is left. Missing and Extra are
 * never ignored. Rules without `managedFieldsManagers` add to DEFAULT_CONTROLLER_MANAGERS;
 * a matching rule with `managedFieldsManagers: []` replaces the default with nothing.
 */
export function applyIgnoreRules(d: ResourceDrift, desired: KubeObject | undefined, live: KubeObject | undefined, rules: IgnoreRule[], schemas?: Schemas): ResourceDrift {
  if (d.state !== "Modified") return d;
  const active = rules.filter((r) => matches(r, d));
  const prefixes: string[] = [];
  const patterns: RegExp[] = [];
  const explicit = active.filter((r) => r.managedFieldsManagers !== undefined);
  const managers = explicit.length ? explicit.flatMap((r) => r.managedFieldsManagers!) : DEFAULT_CONTROLLER_MANAGERS;
  for (const r of active) {
    for (const p of r.jsonPointers ?? []) {
      for (const o of [desired, live]) {
        const path = o ? pointerToPath(o, p, schemas) : undefined;
        if (path) prefixes.push(path);
      }
    }
    for (const e of r.jqPathExpressions ?? []) patterns.push(expressionRegex(e));
  }
  const owned = live && managers.length ? ownedBy(live, managers) : [];
  const keep = (c: FieldChange) => !prefixes.some((p) => under(c.path, p)) && !patterns.some((re) => re.test(c.path)) && !owned.some((p) => under(c.path, p));
  const changes = d.changes.filter(keep);
  return changes.length === d.changes.length ? d : { ...d, changes, state: changes.length ? "Modified" : "Synced" };
}
