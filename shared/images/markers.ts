/**
 * Setter markers: a comment on the same line as a YAML scalar naming the image policy that
 * sets it. Two spellings, each with an optional part suffix:
 * - Flux v2's (https://fluxcd.io/flux/guides/image-update/#configure-image-update-for-custom-resources):
 *   `image: ghcr.io/org/app:1.2.3 # {"$imagepolicy": "flux-system:app"}`, and
 *   `"<namespace>:<policy>:tag"` / `":name"` for a field holding only the tag or only the name
 *   (`":digest"` is read and left alone: Converge moves tags, not digests);
 * - Converge's, without a namespace: `# {"$converge": "app"}`, `"app:tag"`, `"app:name"`.
 *
 * The scalars are found with the `yaml` package's Document API; an update rewrites only the
 * characters of the marked scalars in the file's text, so comments, quoting, indentation and
 * every other byte stay as they were.
 */
import { LineCounter, parseAllDocuments, visit, type Scalar } from "yaml";
import { resolvePlainScalar } from "../render/yaml.js";
import { canonicalImage, splitImage } from "./reference.js";
import { FileLineError } from "./errors.js";

/** What part of an image reference a marked field holds (`digest`: Flux's digest setter, which Converge reads but does not write). */
export type MarkerPart = "image" | "tag" | "name" | "digest";

/** A marked scalar of a file. */
export interface Marker {
  file: string;
  /** 1-based line of the scalar. */
  line: number;
  /** The policy named, and the namespace a Flux marker gives (undefined for Converge's). */
  policy: string;
  namespace?: string;
  part: MarkerPart;
  /** The scalar's value now. */
  value: string;
  /** Character offsets of the scalar's text (quotes included) in the file. */
  start: number;
  end: number;
  style: Scalar.Type | undefined;
}

/** A marker that cannot be read (bad JSON, an unknown part): the file and line, and why. */
export class MarkerError extends FileLineError {}

const MARKER = /\{\s*"\$(imagepolicy|converge)"\s*:/;

/** The policy reference of a marker comment, or undefined when the comment is not a marker. @throws MarkerError */
function readMarker(comment: string, file: string, line: number): Pick<Marker, "policy" | "namespace" | "part"> | undefined {
  const text = comment.trim();
  const kind = MARKER.exec(text)?.[1];
  if (!kind) return undefined;
  let ref: unknown;
  try {
    ref = (JSON.parse(text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1)) as Record<string, unknown>)[`$${kind}`];
  } catch {
    throw new MarkerError(file, line, `the marker ${text} is not valid JSON`);
  }
  if (typeof ref !== "string") throw new MarkerError(file, line, `the marker ${text} must name a policy as a string`);
  const parts = ref.split(":");
  const suffix = parts.length > (kind === "imagepolicy" ? 2 : 1) ? parts.pop() : undefined;
  if (suffix !== undefined && !["tag", "name", "digest"].includes(suffix))
    throw new MarkerError(file, line, `the marker ${text}: the part after the policy is "tag", "name" or "digest", not "${suffix}"`);
  const [first, second] = parts;
  if (kind === "imagepolicy" && (parts.length !== 2 || !first || !second)) throw new MarkerError(file, line, `the marker ${text}: Flux markers name "<namespace>:<policy>"`);
  if (kind === "converge" && (parts.length !== 1 || !first)) throw new MarkerError(file, line, `the marker ${text}: Converge markers name "<policy>" (or "<policy>:tag", "<policy>:name")`);
  const part = (suffix ?? "image") as MarkerPart;
  return kind === "imagepolicy" ? { namespace: first, policy: second!, part } : { policy: first!, part };
}

/**
 * The markers of a YAML file (every document), in file order. A file that does not parse has
 * none (the render reports it).
 * @throws MarkerError for a marker comment that cannot be read, or a marker on a block scalar.
 */
export function findMarkers(file: string, content: string): Marker[] {
  if (!MARKER.test(content)) return [];
  const lines = new LineCounter();
  const markers: Marker[] = [];
  for (const doc of parseAllDocuments(content, { lineCounter: lines })) {
    if (!("errors" in doc) || doc.errors.length > 0) continue;
    visit(doc, {
      Scalar(_key, node) {
        if (!node.comment || !node.range) return;
        const [start, end] = node.range;
        const line = lines.linePos(start).line;
        if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") {
          // a block scalar's header comment: on its first line, before the content
          if (readMarker(node.comment, file, line)) throw new MarkerError(file, line, "a marker must follow a one-line scalar, not a block scalar");
          return;
        }
        const rest = content.slice(end, content.indexOf("\n", end) < 0 ? content.length : content.indexOf("\n", end));
        if (!rest.includes("#")) return; // the comment is on a later line: not a setter
        const ref = readMarker(node.comment, file, line);
        if (!ref) return;
        markers.push({ file, line, ...ref, value: String(node.value), start, end, style: node.type });
      },
    });
  }
  return markers;
}

/** The image name a marker's field is about, and the tag it holds now (undefined: a `name` marker, or no tag). */
export function markedImage(m: Marker): { name?: string; tag?: string } {
  if (m.part === "tag") return { tag: m.value };
  if (m.part === "name") return { name: m.value };
  return splitImage(m.value);
}

/**
 * The text a marked field gets when its policy selects `tag` for image `image` (canonical):
 * a tag field the tag; an image field the name as written (when it is that image) and the tag;
 * a name field the name as written when it is that image, else `image`.
 */
export function nextValue(m: Marker, image: string, tag: string): string {
  if (m.part === "tag") return tag;
  const name = m.part === "name" ? m.value : splitImage(m.value).name;
  const kept = canonicalImage(name) === image ? name : image;
  return m.part === "name" ? kept : `${kept}:${tag}`;
}

/** `value` written in the scalar's style: quotes kept; a plain scalar quoted when plain text would not read back as this string (`6.8` is a number). */
function scalarText(value: string, style: Scalar.Type | undefined): string {
  if (style === "QUOTE_SINGLE") return `'${value.replace(/'/g, "''")}'`;
  if (style === "QUOTE_DOUBLE" || resolvePlainScalar(value).type !== "str" || /^[\s"'#&*!|>%@`{[]|[:#]\s|\s$/.test(value)) return JSON.stringify(value);
  return value;
}

/**
 * `content` with each marked scalar in `edits` set to its new value; nothing else changes.
 * @param edits markers of this file (from `findMarkers` on this same text) and their new values.
 */
export function rewrite(content: string, edits: { marker: Marker; value: string }[]): string {
  let out = content;
  for (const { marker, value } of [...edits].sort((a, b) => b.marker.start - a.marker.start)) {
    out = `${out.slice(0, marker.start)}${scalarText(value, marker.style)}${out.slice(marker.end)}`;
  }
  return out;
}
