/**
 * Shared bits of the corpus tools: where the fixtures are, and parsing a rendered manifest.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const corpusDir = join(root, "test/fixtures/corpus");
/** The Kubernetes version helm renders for (`--kube-version`). */
export const kubeVersion = "1.34.4";
/** `.Capabilities.APIVersions` of an API server of that version (`--api-versions`; see capabilities.ts). */
export const apiVersionsFile = join(root, "tools/corpus/api-versions.txt");

/** A Kubernetes object of the corpus, reduced to what the README counts. */
export interface CorpusObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  hook: boolean;
  /** Size of its YAML document in bytes. */
  bytes: number;
  /** Its YAML document exactly as rendered (re-serialising could change YAML 1.1 scalars such as `"yes"`). */
  source: string;
  doc: Record<string, unknown>;
}

/** Parses a rendered manifest into its objects (empty documents dropped). */
export function parseManifest(text: string): CorpusObject[] {
  const objs: CorpusObject[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) throw new Error(d.errors[0]!.message);
    const o = d.toJS() as Record<string, unknown> | null;
    if (!o || typeof o !== "object") continue;
    const md = (o.metadata ?? {}) as { name: string; namespace?: string; annotations?: Record<string, string> };
    objs.push({
      apiVersion: String(o.apiVersion),
      kind: String(o.kind),
      name: md.name,
      namespace: md.namespace,
      hook: Boolean(md.annotations?.["helm.sh/hook"]),
      bytes: Buffer.byteLength(text.slice(d.range[0], d.range[2])),
      source: text.slice(d.range[0], d.range[2]),
      doc: o,
    });
  }
  return objs;
}

/** Reads the corpus entry's manifest (header included). */
export function readEntry(name: string): string {
  return readFileSync(join(corpusDir, name, "manifest.yaml"), "utf8");
}
