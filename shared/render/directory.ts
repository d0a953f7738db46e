/**
 * The `directory` source type: every `.yaml`, `.yml` and `.json` file under a path of the
 * repository, multi-document, recursive by default — what Argo CD renders for a directory
 * application (https://argo-cd.readthedocs.io/en/stable/user-guide/directory/).
 *
 * Rules:
 * - a YAML syntax error fails the whole render with `file:line:column` (RenderError);
 * - empty documents are skipped; a `List` (kind `List` or `*List` with `items`) is flattened;
 * - a document that is not a Kubernetes object (no apiVersion, kind or metadata.name — a
 *   Helm values file, a config file) is skipped with a warning, as Argo CD does;
 * - two objects with the same group, kind, namespace and name fail the render, naming both;
 * - aliases are limited (`maxAliasCount` 100) so an alias bomb ("billion laughs") fails fast.
 */
import { LineCounter, parseAllDocuments } from "yaml";
import { resourceKey, type DesiredObject, type KubeObject } from "../model.js";

/** A file of the source: path relative to the repository root, `/`-separated, and its text. */
export interface SourceFile {
  path: string;
  content: string;
}

/** The rendered desired state and the warnings about skipped documents. */
export interface RenderResult {
  objects: DesiredObject[];
  warnings: string[];
}

/** The desired state cannot be computed; `file` and `line` (1-based) say where. */
export class RenderError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
    readonly column?: number,
  ) {
    super(`${file}:${line}${column ? `:${column}` : ""}: ${reason}`);
    this.name = "RenderError";
  }
}

const MANIFEST = /\.(ya?ml|json)$/i;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Renders a directory source.
 * @param files every file under `opts.path` (others are ignored), e.g. from `GitSource.readFiles`.
 * @param opts.path directory inside the repository (`''` = root); `recursive` (default true)
 *   includes subdirectories.
 * @throws RenderError on a YAML syntax error, an alias bomb or a duplicate object.
 */
export function renderDirectory(files: SourceFile[], opts: { path: string; recursive?: boolean }): RenderResult {
  const base = opts.path.replace(/^\.?\/*/, "").replace(/\/+$/, "");
  const prefix = base ? `${base}/` : "";
  const recursive = opts.recursive ?? true;
  const objects: DesiredObject[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  const selected = files
    .filter((f) => f.path.startsWith(prefix) && MANIFEST.test(f.path))
    .filter((f) => recursive || !f.path.slice(prefix.length).includes("/"))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of selected) {
    const lineCounter = new LineCounter();
    const docs = parseAllDocuments(file.content, { lineCounter, uniqueKeys: true, prettyErrors: false });
    const list = Array.isArray(docs) ? docs : [docs];
    for (const doc of list) {
      const error = doc.errors[0];
      if (error) {
        const pos = lineCounter.linePos(error.pos[0]);
        throw new RenderError(file.path, pos.line, error.message.split("\n")[0]!, pos.col);
      }
      const startLine = doc.contents?.range ? lineCounter.linePos(doc.contents.range[0]).line : 1;
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (err) {
        throw new RenderError(file.path, startLine, (err as Error).message);
      }
      if (value === null || value === undefined) continue;
      const items = isObject(value) && typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items) ? (value.items as unknown[]) : [value];
      for (const item of items) {
        const meta = isObject(item) ? item.metadata : undefined;
        if (!isObject(item) || typeof item.apiVersion !== "string" || typeof item.kind !== "string" || !isObject(meta) || typeof meta.name !== "string" || !meta.name) {
          warnings.push(`${file.path}:${startLine}: not a Kubernetes object (no apiVersion, kind or metadata.name); skipped`);
          continue;
        }
        const object = item as unknown as KubeObject;
        const key = resourceKey(object);
        const where = `${file.path}:${startLine}`;
        const first = seen.get(key);
        if (first) throw new RenderError(file.path, startLine, `duplicate object ${object.kind} ${meta.namespace ? `${String(meta.namespace)}/` : ""}${meta.name}, first defined at ${first}`);
        seen.set(key, where);
        objects.push({ object, source: { file: file.path, line: startLine } });
      }
    }
  }
  return { objects, warnings };
}
