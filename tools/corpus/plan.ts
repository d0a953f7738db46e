/**
 * How the corpus goes onto a cluster: which objects are skipped (Helm hooks), which go first (CRDs),
 * which last (admission webhook configurations), and which need server-side apply (too large for
 * kubectl's last-applied-configuration annotation). Shared by apply.ts and the README generator.
 */
import { entries } from "./entries.js";
import { parseManifest, readEntry, type CorpusObject } from "./corpus.js";

/** Kinds that must be applied after everything else: their webhooks have no serving pods. */
export const webhookKinds = new Set(["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]);

/** Built-in cluster-scoped kinds (custom resources: the scope their CRD in the corpus declares). */
export const clusterScopedKinds = new Set([
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleBinding",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "APIService",
  "IngressClass",
  "Namespace",
  "PriorityClass",
  "PersistentVolume",
  "StorageClass",
  "RuntimeClass",
  "CSIDriver",
]);

/**
 * kubectl's client-side apply stores the whole object as JSON in the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation; all annotations of an object
 * together may not exceed 256 KiB.
 */
export const annotationLimit = 256 * 1024;

/** Whether client-side `kubectl apply` would exceed the annotation limit for this object. */
export function needsServerSide(o: CorpusObject): boolean {
  const md = (o.doc.metadata ?? {}) as { annotations?: Record<string, string> };
  const other = Object.entries(md.annotations ?? {}).reduce((n, [k, v]) => n + k.length + String(v).length, 0);
  const lastApplied = "kubectl.kubernetes.io/last-applied-configuration".length + JSON.stringify(o.doc).length;
  return other + lastApplied > annotationLimit;
}

export type Phase = "hook" | "crd" | "main" | "webhook";

export function phaseOf(o: CorpusObject): Phase {
  if (o.hook) return "hook";
  if (o.kind === "CustomResourceDefinition") return "crd";
  if (webhookKinds.has(o.kind)) return "webhook";
  return "main";
}

export interface PlannedObject extends CorpusObject {
  entry: string;
  phase: Phase;
  serverSide: boolean;
  /** Namespace it lands in: its own, the entry's (release namespace) if namespaced and unset, else none. */
  targetNamespace?: string;
}

/** Every object of the corpus (or of the named entries), in file order, with its apply phase. */
export function plan(only: string[] = []): PlannedObject[] {
  const parsed = entries.map((e) => ({ e, objs: parseManifest(readEntry(e.name)) }));
  const clusterCustomKinds = new Set<string>();
  for (const { objs } of parsed)
    for (const o of objs)
      if (o.kind === "CustomResourceDefinition") {
        const spec = o.doc.spec as { group: string; scope: string; names: { kind: string } };
        if (spec.scope === "Cluster") clusterCustomKinds.add(`${spec.group}/${spec.names.kind}`);
      }
  const out: PlannedObject[] = [];
  for (const { e, objs } of parsed) {
    if (only.length && !only.includes(e.name)) continue;
    for (const o of objs) {
      const namespaced = !clusterScopedKinds.has(o.kind) && !clusterCustomKinds.has(`${groupOf(o.apiVersion)}/${o.kind}`);
      out.push({
        ...o,
        entry: e.name,
        phase: phaseOf(o),
        serverSide: needsServerSide(o),
        targetNamespace: namespaced ? (o.namespace ?? e.name) : undefined,
      });
    }
  }
  return out;
}

/** API groups defined by the corpus's CRDs. */
export function crdGroups(objs: PlannedObject[]): Set<string> {
  return new Set(objs.filter((o) => o.kind === "CustomResourceDefinition").map((o) => (o.doc.spec as { group: string }).group));
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
}
