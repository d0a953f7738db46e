/**
 * Secret material of a source, kept out of what a failed or warned render says (design brief:
 * "no Secret value is ever stored or logged"). Parsers and tools quote the text they choke on:
 * the YAML reader an alias or a mistagged scalar (`unknown anchor 'x' referenced`,
 * ``cannot decode !!str `x` as a !!int``, as go-yaml and so kubectl say it too), kustomize a
 * literal without a key (`invalid literal source x, expected key=value`), Helm the argument
 * of `fail` or `tpl` (`execution error at (...): x`, `cannot parse template "x"`). A render's
 * error and warnings are stored (the cluster's status, the snapshot's render failure),
 * announced and logged, so `renderSource` replaces every piece of material in them by
 * `REDACTED` (shared/diff/secret.ts) first.
 *
 * Material, taken from the files the render reads (and the Helm options):
 * - in every `.yaml`, `.yml` and `.json` file mentioning `Secret`: each value under `data` and
 *   `stringData` of a document (or `List` item) of kind `Secret`, as written, the `data`
 *   values also base64-decoded, and the name of an alias standing there;
 * - in every kustomization (`kustomization.yaml`, `kustomization.yml`, `Kustomization`): each
 *   `secretGenerator` literal (whole, and its value after the first `=`), each line of its
 *   `envs` / `env` files (whole, and its value), each of its `files` (whole, and each line);
 *   a kustomization that does not parse gives every value it holds;
 * - for a Helm source, every string value of the chart's (and its subcharts') `values.yaml`,
 *   of the value files and of the inline values: which of them a template puts into a Secret
 *   is not known until a render succeeds. Numbers, booleans and nulls written plain are left
 *   out (they are not strings; `1` would blank out every line number).
 *
 * Each piece counts with every line of it and in its JSON-escaped form, and is replaced as
 * shared/diff/secret.ts `redactMaterial` says (short pieces only as whole words).
 */
import { posix } from "node:path";
import { isAlias, isMap, isScalar, isSeq } from "yaml";
import type { SourceFile } from "./directory.js";
import { KUSTOMIZATION_NAMES, objects, strings } from "./inputs.js";
import { parseYamlStream, resolvePlainScalar } from "./yaml.js";
import type { SourceSpec, SourceType } from "./source.js";
import { decodedValue, redactMaterial, SecretMaterial } from "../diff/secret.js";

const MANIFEST = /\.(ya?ml|json)$/;

/** The text of a scalar node as written (failsafe schema: every scalar is text). */
function textOf(node: unknown): string | undefined {
  if (isScalar(node)) return (node.source as string | undefined) ?? String(node.value ?? "");
  if (isAlias(node)) return node.source;
  return undefined;
}

/**
 * Every value under `node` (map values and list items, not keys, aliases by name). With
 * `stringsOnly`, plain scalars resolving to something else than a string (numbers, booleans,
 * null) are left out.
 */
function values(node: unknown, out: SecretMaterial, stringsOnly: boolean): void {
  if (isMap(node)) for (const pair of node.items) values(pair.value, out, stringsOnly);
  else if (isSeq(node)) for (const item of node.items) values(item, out, stringsOnly);
  else if (isScalar(node) && stringsOnly && node.type === "PLAIN" && !node.tag && resolvePlainScalar(textOf(node) ?? "").type !== "str") return;
  else out.add(textOf(node));
}

/** The values of a Secret document's `data` (also decoded) and `stringData`; List items are followed. */
function secretDocument(node: unknown, out: SecretMaterial): void {
  if (!isMap(node)) return;
  const kind = node.get("kind");
  if (kind === "Secret") {
    values(node.get("stringData", true), out, false);
    const data = node.get("data", true);
    values(data, out, false);
    if (isMap(data)) {
      for (const pair of data.items) {
        const t = textOf(pair.value);
        if (t) out.add(decodedValue(t));
      }
    }
  } else if (typeof kind === "string" && kind.endsWith("List")) {
    const items = node.get("items", true);
    if (isSeq(items)) for (const item of items.items) secretDocument(item, out);
  }
}

/** The file at `ref` relative to folder `dir`, if among the files. */
function fileAt(byPath: Map<string, SourceFile>, dir: string, ref: string): SourceFile | undefined {
  return byPath.get(posix.normalize(posix.join(dir, ref)));
}

/** The `secretGenerator` inputs of one kustomization (see the module doc). */
function kustomization(file: SourceFile, byPath: Map<string, SourceFile>, out: SecretMaterial): void {
  const doc = parseYamlStream(file.content)[0];
  if (!doc) return;
  let k: Record<string, unknown> | null;
  try {
    if (doc.errors.length > 0) throw doc.errors[0];
    k = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown> | null;
  } catch {
    values(doc.contents, out, false); // kustomize reports the error, maybe quoting any value
    return;
  }
  const dir = posix.dirname(file.path);
  for (const g of objects(k?.secretGenerator)) {
    for (const literal of strings(g.literals)) {
      out.add(literal);
      out.add(literal.slice(literal.indexOf("=") + 1));
    }
    for (const ref of [...strings(g.envs), ...strings([g.env])]) {
      for (const line of fileAt(byPath, dir, ref)?.content.split(/\r?\n/) ?? []) {
        out.add(line);
        out.add(line.slice(line.indexOf("=") + 1));
      }
    }
    for (const ref of strings(g.files)) out.add(fileAt(byPath, dir, ref.slice(ref.indexOf("=") + 1))?.content);
  }
}

/** The string values of a Helm source's values (see the module doc). */
function helmValues(files: SourceFile[], byPath: Map<string, SourceFile>, spec: SourceSpec, out: SecretMaterial): void {
  const prefix = spec.path ? `${spec.path}/` : "";
  const texts = files.filter((f) => f.path.startsWith(prefix) && posix.basename(f.path) === "values.yaml").map((f) => f.content);
  for (const v of spec.helm?.valueFiles ?? []) texts.push(typeof v === "string" ? (fileAt(byPath, spec.path || ".", v)?.content ?? "") : v.content);
  if (spec.helm?.values) texts.push(spec.helm.values);
  for (const text of texts) for (const doc of parseYamlStream(text)) values(doc.contents, out, true);
}

/**
 * The secret material of a render of `spec` (its `type` resolved) over `files` (what the render
 * reads: see the module doc), longest first. Never throws.
 */
export function secretMaterial(files: SourceFile[], spec: SourceSpec & { type: SourceType }): string[] {
  const out = new SecretMaterial();
  const byPath = new Map(files.map((f) => [f.path, f]));
  for (const f of files) {
    const name = posix.basename(f.path);
    if (KUSTOMIZATION_NAMES.includes(name)) kustomization(f, byPath, out);
    else if (MANIFEST.test(name) && f.content.includes("Secret")) for (const doc of parseYamlStream(f.content)) secretDocument(doc.contents, out);
  }
  if (spec.type === "helm") helmValues(files, byPath, spec, out);
  return out.list();
}

/**
 * A function redacting the material of a render of `spec` over `files` out of a text; the
 * material is gathered at its first use only (most renders never need it).
 */
export function secretRedactor(files: SourceFile[], spec: SourceSpec & { type: SourceType }): (text: string) => string {
  let material: string[] | undefined;
  return (text) => {
    material ??= secretMaterial(files, spec);
    return redactMaterial(text, material);
  };
}
