/**
 * Label selectors over cluster labels, in Kubernetes' syntax and semantics
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors):
 * `env=prod`, `env==prod`, `env!=prod`, `env in (prod,staging)`, `env notin (dev)`, `env`
 * (has the key), `!env` (lacks it); requirements joined by commas must all hold. As in
 * Kubernetes, `!=` and `notin` also match clusters without the key.
 */
import { isLabelKey, isLabelValue } from "./spec.js";

/** One requirement of a selector. */
export type Requirement = { key: string; op: "=" | "!="; value: string } | { key: string; op: "in" | "notin"; values: string[] } | { key: string; op: "exists" | "!exists" };

/** A parsed selector: every requirement must hold. The empty selector matches everything. */
export type Selector = Requirement[];

/** A selector that does not parse; the message says where and why. */
export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SelectorError";
  }
}

/** Splits `text` at commas outside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

function checkKey(key: string, part: string): string {
  if (!isLabelKey(key)) throw new SelectorError(`invalid label key "${key}" in "${part}"`);
  return key;
}

function checkValue(value: string, part: string): string {
  if (!isLabelValue(value)) throw new SelectorError(`invalid label value "${value}" in "${part}"`);
  return value;
}

/**
 * Parses a label selector (`env=prod,tier in (web,api),!canary`).
 * @throws SelectorError naming the requirement that does not parse.
 */
export function parseSelector(text: string): Selector {
  if (text.trim() === "") return [];
  return splitTop(text).map((part): Requirement => {
    if (part === "") throw new SelectorError(`empty requirement in "${text}"`);
    let m = /^!\s*([^\s=!(),]+)$/.exec(part);
    if (m) return { key: checkKey(m[1]!, part), op: "!exists" };
    m = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
    if (m) {
      const values = m[3]!.split(",").map((v) => checkValue(v.trim(), part));
      return { key: checkKey(m[1]!, part), op: m[2] as "in" | "notin", values };
    }
    m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(part);
    if (m) return { key: checkKey(m[1]!, part), op: m[2] === "!=" ? "!=" : "=", value: checkValue(m[3]!, part) };
    m = /^([^\s=!(),]+)$/.exec(part);
    if (m) return { key: checkKey(m[1]!, part), op: "exists" };
    throw new SelectorError(`cannot parse "${part}": expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key`);
  });
}

/** Whether `labels` satisfy every requirement of `selector`. */
export function matchesSelector(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "=":
        return has && v === r.value;
      case "!=":
        return !has || v !== r.value;
      case "in":
        return has && r.values.includes(v!);
      case "notin":
        return !has || !r.values.includes(v!);
      case "exists":
        return has;
      case "!exists":
        return !has;
    }
    return false;
  });
}

/**
 * Parses `--label key=value` flags into labels; `key-` removes `key` (as `kubectl label`).
 * @returns the labels to set and the keys to remove.
 * @throws SelectorError naming a flag that is not `key=value` or `key-`, or an invalid key or value.
 */
export function parseLabelFlags(flags: string[] | undefined): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const f of flags ?? []) {
    const eq = f.indexOf("=");
    if (eq < 0 && f.endsWith("-")) remove.push(checkKey(f.slice(0, -1), f));
    else if (eq > 0) set[checkKey(f.slice(0, eq), f)] = checkValue(f.slice(eq + 1), f);
    else throw new SelectorError(`--label ${f}: expected key=value (or key- to remove a label)`);
  }
  return { set, remove };
}

/** `env=prod,team=web`: labels as one line, keys sorted. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  return Object.keys(labels ?? {})
    .sort()
    .map((k) => `${k}=${labels![k]}`)
    .join(",");
}
