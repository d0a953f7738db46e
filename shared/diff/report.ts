/**
 * Human-readable drift: per-field changes and a unified YAML diff per resource, desired
 * (Git) against live projected onto the fields Git sets. Secret values appear only as
 * `sha256:` digests (both sides are redacted before anything is printed).
 */
import { createTwoFilesPatch } from "diff";
import { stringify } from "yaml";
import type { KubeObject, ResourceDrift } from "../model.js";
import { normalizeLive } from "./normalize.js";
import type { Schemas } from "../schema/index.js";
import { projectObject } from "./project.js";
import { redactSecret } from "./secret.js";

/** Unified diff of one resource (`--- desired`, `+++ live`), empty when there is nothing to show. */
export function unifiedDiff(d: ResourceDrift, desired: KubeObject | undefined, live: KubeObject | undefined, schemas?: Schemas): string {
  const left = desired ? stringify(redactSecret(desired), { sortMapEntries: false }) : "";
  const right = live ? stringify(desired ? projectObject(redactSecret(normalizeLive(live)), redactSecret(desired), schemas) : redactSecret(normalizeLive(live))) : "";
  if (left === right) return "";
  const name = `${d.kind}/${d.namespace ? `${d.namespace}/` : ""}${d.name}`;
  return createTwoFilesPatch(`desired/${name}`, `live/${name}`, left, right, "", "", { context: 3 }).split("\n").slice(1).join("\n");
}

/** One resource's report: a header, its changed fields, its unified diff (lists projected with `schemas`). */
export function resourceReport(d: ResourceDrift, desired: KubeObject | undefined, live: KubeObject | undefined, schemas?: Schemas): string {
  const note = d.pruneSkipped ? "  (Prune=false: kept by a sync)" : "";
  const head = `${d.state.padEnd(8)} ${d.key}${d.health ? `  (${d.health.status})` : ""}${note}`;
  const fields = d.changes.map((c) => `  ${c.path}: ${JSON.stringify(c.desired)} -> ${c.live === undefined ? "(absent)" : JSON.stringify(c.live)}`);
  const diff = d.state === "Synced" ? "" : unifiedDiff(d, desired, live, schemas);
  return [head, ...fields, ...(diff ? [diff.trimEnd()] : [])].join("\n");
}
