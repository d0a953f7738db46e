/**
 * The `directory` source type: every `.yaml`, `.yml` and `.json` file under a path of the
 * repository, multi-document, recursive by default — what Argo CD renders for a directory
 * application (https://argo-cd.readthedocs.io/en/stable/user-guide/directory/; file selection
 * as in Argo CD's repo server, `^.*\.(yaml|yml|json)$`, case-sensitive).
 *
 * Rules:
 * - files are read in path order; a YAML or JSON syntax error fails the whole render with
 *   `file:line:column` (RenderError) — stricter than Argo CD, which ignores an unparsable
 *   file that does not look like a manifest;
 * - empty documents are skipped; a `List` (kind `List` or `*List` with an `items` sequence)
 *   is flattened into its items;
 * - a document that is not a Kubernetes object (a map without apiVersion, kind or
 *   metadata.name — a Helm values file, a config file — or a top-level scalar or sequence) is
 *   skipped with a warning, as Argo CD ignores unrelated YAML in a directory;
 * - two objects with the same `resourceKey` (group, kind, namespace as written, name) fail
 *   the render, naming both places;
 * - duplicate keys in a map are an error (`uniqueKeys`), aliases are limited
 *   (`maxAliasCount` 100) so an alias bomb ("billion laughs") fails fast.
 *
 * Scalars are resolved as kubectl and Argo CD resolve them: both decode manifests with
 * sigs.k8s.io/yaml, i.e. go-yaml v2's YAML 1.1 rules. So `defaultMode: 0644` is the octal
 * 420 (YAML 1.2 would read decimal 644), `yes`/`no`/`on`/`off`/`y`/`n` are booleans, `1_000`
 * is 1000, `0b101` is 5, `0o17` is 15, `<<` merge keys apply, `!!binary` is decoded to its
 * text; but timestamps (`2001-12-14`) and base-60 numbers (`12:30`) stay strings, as go-yaml v2
 * leaves them when decoding into JSON. `.inf` and `.nan` are errors (JSON has no such numbers;
 * sigs.k8s.io/yaml fails on them too). Checked against sigs.k8s.io/yaml v1.6.0 `YAMLToJSON`.
 */
import { posix } from "node:path";
import { isMap, isSeq, LineCounter, parseAllDocuments, visit, type Document, type ScalarTag, type Tags } from "yaml";
import { resourceKey, type DesiredObject, type KubeObject } from "../model.js";

/** A file of the source: path relative to the repository root, `/`-separated, and its text. */
export interface SourceFile {
  path: string;
  content: string;
}

/** The rendered desired state (in file order, then document order) and the warnings about skipped documents. */
export interface RenderResult {
  objects: DesiredObject[];
  warnings: string[];
}

/**
 * The desired state cannot be computed: `file` (repository-relative path) and `line`
 * (1-based), with `column` (1-based) when the parser knows it. The message reads
 * `<file>:<line>:<col>: <reason>` (or `<file>:<line>: <reason>`).
 */
export class RenderError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
    readonly column?: number,
  ) {
    super(`${file}:${line}${column !== undefined ? `:${column}` : ""}: ${reason}`);
    this.name = "RenderError";
  }
}

/** Most aliases one document may expand (yaml's `maxAliasCount`): stops alias bombs. */
export const MAX_ALIAS_COUNT = 100;

const MANIFEST = /\.(yaml|yml|json)$/;

/** go-yaml v2 (ParseInt with base 0) also reads `0o17` as octal; YAML 1.1 has no such form. */
const intOctO: ScalarTag = {
  identify: (value) => typeof value === "number",
  default: true,
  tag: "tag:yaml.org,2002:int",
  format: "OCT",
  test: /^[-+]?0o[0-7_]+$/,
  resolve: (str: string) => {
    const sign = str.startsWith("-") ? -1 : 1;
    return sign * parseInt(str.replace(/^[-+]?0o/, "").replace(/_/g, ""), 8);
  },
};

/** YAML 1.1 as go-yaml v2 decodes into JSON: no timestamps, no base-60 numbers (see the module doc). */
function goYamlTags(tags: Tags): Tags {
  const dropped = (t: Tags[number]) =>
    typeof t === "string" ? t === "timestamp" || t === "intTime" || t === "floatTime" : t.tag === "tag:yaml.org,2002:timestamp" || ("format" in t && t.format === "TIME");
  return [intOctO, ...tags.filter((t) => !dropped(t))];
}

const PARSE_OPTIONS = { version: "1.1", customTags: goYamlTags, merge: true, uniqueKeys: true, prettyErrors: true } as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `!!binary` resolves to bytes; go-yaml v2 hands the decoded bytes on as a string. */
function reviver(_key: unknown, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString("utf8") : value;
}

/** The directory path normalized: `''`, `.`, `./` → `` (root); `./a/b/` → `a/b`; `a/../..` → `..`. */
function normalizeDir(path: string): string {
  const p = posix.normalize(path || ".").replace(/^\.\/|\/+$/g, "").replace(/^\/+/, "");
  return p === "." ? "" : p;
}

/** Why an item is not a Kubernetes object, or undefined when it is one. */
function notAnObject(item: unknown): string | undefined {
  if (item === null || typeof item !== "object") return "a scalar is not a Kubernetes object";
  if (Array.isArray(item)) return "a sequence is not a Kubernetes object";
  const o = item as Record<string, unknown>;
  const meta = o.metadata;
  const missing = [
    typeof o.apiVersion === "string" && o.apiVersion ? undefined : "apiVersion",
    typeof o.kind === "string" && o.kind ? undefined : "kind",
    isObject(meta) && typeof meta.name === "string" && meta.name ? undefined : "metadata.name",
  ].filter((m) => m !== undefined);
  return missing.length > 0 ? `not a Kubernetes object (no ${missing.join(", ")})` : undefined;
}

/** The first line of a yaml error message, without the " at line L, column C:" that prettyErrors adds. */
function reasonOf(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
}

/**
 * Renders a directory source.
 * @param files every file under `opts.path` (others are ignored), e.g. from `GitSource.readFiles`;
 *   paths relative to the repository root, `/`-separated.
 * @param opts.path directory inside the repository (`''`, `.` or `./` = the root);
 *   `opts.recursive` (default true) includes subdirectories, false only direct children.
 * @returns the objects with their source location — the file and the 1-based line where the
 *   document's content starts (for an item of a List, where the item starts) — in file order,
 *   and one warning per skipped document (`file:line: skipped: <why>`) or YAML warning.
 * @throws RenderError on a YAML/JSON syntax error, a duplicate map key, an alias bomb, a
 *   non-finite number, a duplicate object, or a path that leaves the repository (`..`).
 */
export function renderDirectory(files: SourceFile[], opts: { path: string; recursive?: boolean }): RenderResult {
  const base = normalizeDir(opts.path);
  if (base === ".." || base.startsWith("../")) throw new RenderError(opts.path, 1, "the source path leaves the repository");
  const prefix = base ? `${base}/` : "";
  const recursive = opts.recursive ?? true;
  const selected = files
    .filter((f) => f.path.startsWith(prefix) && MANIFEST.test(f.path))
    .filter((f) => recursive || !f.path.slice(prefix.length).includes("/"))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const objects: DesiredObject[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  for (const file of selected) {
    for (const { value, line } of readDocuments(file, warnings)) {
      const why = notAnObject(value);
      if (why) {
        warnings.push(`${file.path}:${line}: skipped: ${why}`);
        continue;
      }
      const object = value as KubeObject;
      const key = resourceKey(object);
      const first = seen.get(key);
      if (first) {
        const ns = object.metadata.namespace ? `${object.metadata.namespace}/` : "";
        throw new RenderError(file.path, line, `duplicate object ${object.kind} ${ns}${object.metadata.name}, first defined at ${first}`);
      }
      seen.set(key, `${file.path}:${line}`);
      objects.push({ object, source: { file: file.path, line } });
    }
  }
  return { objects, warnings };
}

/** Every non-empty document of a file (List items flattened) with its 1-based start line. */
function readDocuments(file: SourceFile, warnings: string[]): { value: unknown; line: number }[] {
  const lineCounter = new LineCounter();
  const lineOf = (offset: number) => lineCounter.linePos(offset);
  let docs: Document.Parsed[];
  try {
    const parsed = parseAllDocuments(file.content, { ...PARSE_OPTIONS, lineCounter });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (err) {
    throw new RenderError(file.path, 1, `cannot parse: ${(err as Error).message}`);
  }
  const out: { value: unknown; line: number }[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const pos = error.linePos?.[0] ?? lineOf(error.pos[0]);
      throw new RenderError(file.path, pos.line, reasonOf(error.message), pos.col);
    }
    for (const w of doc.warnings) {
      const pos = w.linePos?.[0] ?? lineOf(w.pos[0]);
      warnings.push(`${file.path}:${pos.line}:${pos.col}: ${reasonOf(w.message)}`);
    }
    if (!doc.contents) continue;
    visit(doc, {
      Scalar(_key, node) {
        if (typeof node.value === "number" && !Number.isFinite(node.value)) {
          const pos = lineOf(node.range?.[0] ?? 0);
          throw new RenderError(file.path, pos.line, `${node.source ?? String(node.value)} is not a finite number (JSON has no Infinity or NaN)`, pos.col);
        }
      },
    });
    const line = lineOf(doc.contents.range[0]).line;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT, reviver });
    } catch (err) {
      // an alias bomb ("Excessive alias count indicates a resource exhaustion attack"), or a
      // stack overflow on absurd nesting
      throw new RenderError(file.path, line, (err as Error).message);
    }
    if (value === null || value === undefined) continue;
    if (isObject(value) && typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
      const itemsNode = isMap(doc.contents) ? doc.contents.get("items", true) : undefined;
      value.items.forEach((item: unknown, i: number) => {
        const node = isSeq(itemsNode) ? (itemsNode.items[i] as { range?: [number, number, number] } | undefined) : undefined;
        out.push({ value: item, line: node?.range ? lineOf(node.range[0]).line : line });
      });
      continue;
    }
    out.push({ value, line });
  }
  return out;
}
