/**
 * The real-world corpus (`test/fixtures/corpus/<entry>/manifest.yaml`, rendered from public
 * charts) as a test applies it to a real cluster: split into stages the way a user applies a
 * chart with kubectl (CRDs, then the resources, then the admission webhook configurations;
 * hooks left out), with one adaptation for the test bed: nothing may make the API server
 * connect to a Service address (the test bed's Service range, 10.0.0.0/24, is not routable
 * here). So webhook and CRD-conversion `clientConfig.service` becomes a URL on a closed
 * loopback port (with the same failure policy), and APIServices backed by a Service are left
 * out of what is applied and of the desired state alike.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { renderDirectory } from "../../shared/render/directory.js";
import { objectRole } from "../../shared/sync/annotations.js";
import type { KubeObject } from "../../shared/model.js";

/** The corpus folder. */
export const CORPUS_DIR = join(fileURLToPath(import.meta.url), "..", "..", "fixtures", "corpus");

/** One YAML document of an entry: its text (as rendered, or rewritten for loopback) and its object. */
export interface CorpusDoc {
  text: string;
  object: KubeObject;
  /** When a user applies it: hooks are not applied (the sync engine runs them). */
  stage: "crd" | "resource" | "webhook" | "hook";
}

/** The entries of the corpus (folder names), sorted. */
export function corpusEntries(): string[] {
  return readdirSync(CORPUS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

const WEBHOOK_KINDS = new Set(["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]);

function loopback(clientConfig: Record<string, unknown>, ns: string): Record<string, unknown> {
  const svc = clientConfig.service as { name: string; namespace?: string; path?: string } | undefined;
  if (!svc) return clientConfig;
  const { service: _service, ...rest } = clientConfig;
  return { ...rest, url: `https://127.0.0.1:9/${svc.namespace ?? ns}/${svc.name}${svc.path ?? "/"}` };
}

/** The object as applied in the test bed (see the module doc), or undefined when left out. */
function forTestbed(o: KubeObject, ns: string): KubeObject | undefined {
  if (o.kind === "APIService" && (o.spec as { service?: unknown } | undefined)?.service) return undefined;
  if (WEBHOOK_KINDS.has(o.kind)) {
    const webhooks = (o.webhooks as Record<string, unknown>[] | undefined) ?? [];
    return { ...o, webhooks: webhooks.map((w) => ({ ...w, clientConfig: loopback((w.clientConfig as Record<string, unknown>) ?? {}, ns) })) };
  }
  const conversion = (o.spec as { conversion?: { webhook?: { clientConfig?: Record<string, unknown> } } } | undefined)?.conversion;
  if (o.kind === "CustomResourceDefinition" && conversion?.webhook?.clientConfig) {
    const spec = o.spec as Record<string, unknown>;
    return { ...o, spec: { ...spec, conversion: { ...conversion, webhook: { ...conversion.webhook, clientConfig: loopback(conversion.webhook.clientConfig, ns) } } } };
  }
  return o;
}

/**
 * The documents of entry `name` adapted for the test bed, each with the stage it is applied
 * in (`hook` for hooks and Helm test objects: in Git, never applied by the user).
 */
export function corpusDocs(name: string): CorpusDoc[] {
  const text = readFileSync(join(CORPUS_DIR, name, "manifest.yaml"), "utf8");
  const docs: CorpusDoc[] = [];
  for (const chunk of text.split(/^---[ \t]*$/m)) {
    const objects = renderDirectory([{ path: `${name}/manifest.yaml`, content: chunk }], { path: "" }).objects.map((d) => d.object);
    if (objects.length !== 1) continue;
    const original = objects[0]!;
    const object = forTestbed(original, name);
    if (!object) continue;
    const stage = objectRole(original).role !== "resource" ? "hook" : original.kind === "CustomResourceDefinition" ? "crd" : WEBHOOK_KINDS.has(original.kind) ? "webhook" : "resource";
    docs.push({ text: object === original ? chunk : stringify(object, { version: "1.1" }), object, stage });
  }
  return docs;
}

/** The documents joined into one multi-document YAML file. */
export function joinDocs(docs: readonly CorpusDoc[]): string {
  return docs.map((d) => d.text.replace(/^\n+/, "")).join("\n---\n");
}
