/**
 * Image references: the canonical name of a repository (what policies and registry events are
 * matched on) and a reference split at its tag. No YAML or validation library: the
 * image-receive function's bundle carries this alone.
 */

/**
 * The canonical name of an image repository, as Docker resolves it: no registry host (no `.`
 * or `:` in the first part, not `localhost`) means Docker Hub, `docker.io/<name>`, and a
 * single-part Docker Hub name gets `library/`. Lower-cased host.
 */
export function canonicalImage(image: string): string {
  const parts = image.split("/");
  const hasHost = parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === "localhost");
  const host = hasHost ? parts[0]!.toLowerCase().replace(/^(index\.)?docker\.io$/, "docker.io") : "docker.io";
  const rest = hasHost ? parts.slice(1) : parts;
  if (host === "docker.io" && rest.length === 1) rest.unshift("library");
  return `${host}/${rest.join("/")}`;
}

/** An image reference split at its tag: `ghcr.io/org/app:1.2.3` → name, tag (undefined when none). A digest stays in the name. */
export function splitImage(ref: string): { name: string; tag?: string } {
  const at = ref.indexOf("@");
  const base = at < 0 ? ref : ref.slice(0, at);
  const colon = base.lastIndexOf(":");
  if (colon < 0 || base.indexOf("/", colon) >= 0 || at >= 0) return { name: ref };
  return { name: base.slice(0, colon), tag: base.slice(colon + 1) };
}
