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
 *   metadata.name (or, for a hook, `metadata.generateName`) — a Helm values file, a config
 *   file — or a top-level scalar or sequence) is
 *   skipped with a warning, as Argo CD ignores unrelated YAML in a directory;
 * - two objects with the same `resourceKey` (group, kind, namespace as written, name) fail
 *   the render, naming both places;
 * - duplicate keys in a map are an error (compared as kubectl makes them: `1` and `0x1`
 *   collide), aliases are limited (`MAX_ALIAS_COUNT` 100, the `yaml` package's rule) so an
 *   alias bomb ("billion laughs") fails fast;
 * - a source's file of more than `MAX_YAML_NODES` (250,000) YAML nodes fails the render
 *   before it is parsed (./yaml.ts: a dense file costs far more memory than its size says).
 *
 * Manifests are read exactly as kubectl and Argo CD read them (sigs.k8s.io/yaml over go-yaml
 * v2, YAML 1.1): see ./yaml.ts. So `defaultMode: 0644` is the octal 420, `yes`/`on`/`y` are
 * true, `1_000` is 1000, `0x1F` 31, `08` 8, `.` and `1:30` and `2001-12-14` stay strings, keys
 * become strings as kubectl makes them (`1e6` → `1e+06`), a `<<` merge overrides the keys
 * before it, `!!binary` is decoded to its text; `.inf`/`.nan` values, null keys and keys
 * appearing twice are errors.
 */
import { posix } from "node:path";
import { isMap, isSeq, LineCounter, type Document } from "yaml";
import { resourceKey, type DesiredObject, type KubeObject } from "../model.js";
import { objectRole } from "../sync/annotations.js";
import { decodeDocument, MAX_ALIAS_COUNT, nodeLimitOffset, parseYamlStream, YamlValueError } from "./yaml.js";

export { MAX_ALIAS_COUNT };

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

/** The files a directory source renders (Argo CD's `^.*\.(yaml|yml|json)$`, case-sensitive). */
export const MANIFEST = /\.(yaml|yml|json)$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The directory path normalized: `''`, `.`, `./` → `` (root); `./a/b/` → `a/b`; `a/../..` → `..`. */
export function normalizeDir(path: string): string {
  const p = posix
    .normalize(path || ".")
    .replace(/^\.\/|\/+$/g, "")
    .replace(/^\/+/, "");
  return p === "." ? "" : p;
}

/** A hook named by the server from `metadata.generateName` (Argo CD allows that for hooks only). */
function isGeneratedHook(meta: Record<string, unknown>): boolean {
  return !meta.name && typeof meta.generateName === "string" && meta.generateName !== "" && objectRole({ metadata: meta as KubeObject["metadata"] }).role !== "resource";
}

/** Why an item is not a Kubernetes object, or undefined when it is one. */
function notAnObject(item: unknown): string | undefined {
  if (item === null || typeof item !== "object") return "a scalar is not a Kubernetes object";
  if (Array.isArray(item)) return "a sequence is not a Kubernetes object";
  const o = item as Record<string, unknown>;
  const meta = o.metadata;
  const named = isObject(meta) && ((typeof meta.name === "string" && meta.name !== "") || isGeneratedHook(meta));
  const missing = [typeof o.apiVersion === "string" && o.apiVersion ? undefined : "apiVersion", typeof o.kind === "string" && o.kind ? undefined : "kind", named ? undefined : "metadata.name"].filter(
    (m) => m !== undefined,
  );
  return missing.length > 0 ? `not a Kubernetes object (no ${missing.join(", ")})` : undefined;
}

/**
 * The first line of a yaml error message, without the " at line L, column C:" that prettyErrors
 * adds; a stack exhausted by absurd nesting (some thousand levels of maps or lists) said as such.
 */
function reasonOf(message: string): string {
  if (message.includes("Maximum call stack size exceeded")) return "nested too deeply to read (the parser's stack is exhausted at this depth)";
  return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
}

/**
 * Renders a directory source.
 * @param files every file under `opts.path` (others are ignored), e.g. from `GitSource.readFiles`;
 *   paths relative to the repository root, `/`-separated.
 * @param opts.path directory inside the repository (`''`, `.` or `./` = the root);
 *   `opts.recursive` (default true) includes subdirectories, false only direct children;
 *   `opts.nodeLimit` most YAML nodes per file (none by default; a source's files get
 *   ./yaml.ts MAX_YAML_NODES from `renderSource`, a tool's output is bounded by its buffer and the
 *   object count instead).
 * @returns the objects with their source location — the file and the 1-based line where the
 *   document's content starts (for an item of a List, where the item starts) — in file order,
 *   and one warning per skipped document (`file:line: skipped: <why>`) or YAML warning.
 * @throws RenderError on a YAML/JSON syntax error, a duplicate map key, an alias bomb, a
 *   value or key kubectl refuses (`.inf`, `.nan`, a null key, a tag that does not fit its
 *   text...: see ./yaml.ts `decodeDocument`), a file of more than `opts.nodeLimit` YAML nodes
 *   (at the first node over, before parsing), a duplicate object, or a path that leaves the
 *   repository (`..`).
 */
export function renderDirectory(files: SourceFile[], opts: { path: string; recursive?: boolean; nodeLimit?: number }): RenderResult {
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
    for (const { value, line } of readDocuments(file, warnings, opts.nodeLimit ?? Number.POSITIVE_INFINITY)) {
      const why = notAnObject(value);
      if (why) {
        warnings.push(`${file.path}:${line}: skipped: ${why}`);
        continue;
      }
      const object = value as KubeObject;
      if (isGeneratedHook(object.metadata)) {
        // each run creates a new object: no identity to check for duplicates
        objects.push({ object, source: { file: file.path, line } });
        continue;
      }
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

/** Every non-empty document of a file (List items flattened) with its 1-based start line; a file of more than `nodeLimit` nodes refused before parsing. */
function readDocuments(file: SourceFile, warnings: string[], nodeLimit: number): { value: unknown; line: number }[] {
  const over = Number.isFinite(nodeLimit) ? nodeLimitOffset(file.content, nodeLimit) : undefined;
  if (over !== undefined) {
    const before = file.content.slice(0, over);
    const line = before.split("\n").length;
    throw new RenderError(file.path, line, `more than ${nodeLimit} YAML nodes in one file, the limit (reading takes about 1 KB of memory per node)`, over - before.lastIndexOf("\n"));
  }
  const lineCounter = new LineCounter();
  const lineOf = (offset: number) => lineCounter.linePos(offset);
  let docs: Document.Parsed[];
  try {
    docs = parseYamlStream(file.content, lineCounter);
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
    const line = lineOf(doc.contents.range[0]).line;
    const value = decode(file, doc, line, lineOf);
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

/** A document's JSON value (./yaml.ts), its errors as RenderErrors at the offending node. */
function decode(file: SourceFile, doc: Document.Parsed, line: number, lineOf: (offset: number) => { line: number; col: number }): unknown {
  try {
    return decodeDocument(doc, { maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof YamlValueError) {
      const pos = lineOf(err.offset);
      throw new RenderError(file.path, pos.line, err.message, pos.col);
    }
    throw new RenderError(file.path, line, reasonOf((err as Error).message));
  }
}
