/**
 * Image policies: which tags of an image repository a marked field may move to, declared in
 * a small file of the repository (`.converge/images.yaml` by default, beside what it changes)
 * and validated with zod, each problem reported with its file and line.
 *
 * A policy follows Flux v2's ImagePolicy (https://fluxcd.io/flux/components/image/imagepolicies/):
 * one of `semver` (a range), `alphabetical` or `numerical` (an order, `asc` by default, where
 * `asc` selects the highest), and an optional `filterTags` (a regular expression `pattern`,
 * and `extract`, a replacement such as `$ts` naming its capture groups, giving the value
 * compared). The image is the repository's reference without tag (`ghcr.io/org/app`,
 * `127.0.0.1:5000/podinfo`); Docker Hub names are completed as Docker does
 * (`nginx` → `docker.io/library/nginx`).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import * as z from "zod";
import { parseDuration } from "../cluster/spec.js";
import { parseRange } from "./semver.js";
import { canonicalImage } from "./reference.js";
import { FileLineError } from "./errors.js";

/** Where a repository's policies are read from, relative to its root. */
export const POLICY_FILE = ".converge/images.yaml";

/** A policy file that cannot be used: names the file and the line (1-based) of the problem. */
export class PolicyError extends FileLineError {}

const order = z.object({ order: z.enum(["asc", "desc"]).default("asc") }).strict();

const PolicySchema = z
  .object({
    /** The name markers give: `podinfo` (a Flux marker `flux-system:podinfo` names it too). */
    name: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "policy names are lower-case letters, digits, '-' and '.'"),
    /** Optional: a Flux marker's namespace must then match it. */
    namespace: z.string().optional(),
    image: z
      .string()
      .min(1)
      .refine((i) => !i.includes("@") && !i.split("/").pop()!.includes(":"), "image is a repository without tag or digest (ghcr.io/org/app)"),
    semver: z
      .object({ range: z.string().refine((r) => parseRange(r) !== undefined, "not a semver range (e.g. ~6.7, >=1.0.0 <2.0.0)") })
      .strict()
      .optional(),
    alphabetical: order.optional(),
    numerical: order.optional(),
    filterTags: z
      .object({
        pattern: z.string().refine((p) => {
          try {
            new RegExp(fromGoRegex(p));
            return true;
          } catch {
            return false;
          }
        }, "not a regular expression"),
        extract: z.string().optional(),
      })
      .strict()
      .optional(),
    /** Move a marked tag to a lower one when the policy selects it (Flux always does; Converge never does unless told). */
    allowDowngrade: z.boolean().default(false),
    /** Scan the registry's tags at this interval (`5m`); absent: only registry events (pushes, ECR) trigger it. */
    interval: z
      .string()
      .refine((d) => {
        try {
          return parseDuration(d) >= 60;
        } catch {
          return false;
        }
      }, "interval is a duration of at least 1m (5m, 1h)")
      .optional(),
    /**
     * Registry credentials for the scan: a Secrets Manager secret holding `{"username","password"}`;
     * in AWS the images function reads only secrets named `converge-registry/...` (infra/constructs/images.ts).
     */
    credentialsSecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:/, "invalid Secrets Manager ARN")
      .optional(),
  })
  .strict()
  .refine((p) => [p.semver, p.alphabetical, p.numerical].filter(Boolean).length === 1, "give exactly one of semver, alphabetical and numerical");

/**
 * Whether `name` is a valid branch name, by `git check-ref-format`'s rules
 * (https://git-scm.com/docs/git-check-ref-format): no space, control character or any of
 * `~^:?*[\`, no `..`, `@{` or `//`, no component starting with `.` or ending with `.lock`,
 * not starting with `-` or `/`, not ending with `/` or `.`.
 */
export function isBranchName(name: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what git refuses
  if (!name || /[\x00-\x20\x7f~^:?*[\\]|\.\.|@\{|\/\/|^[-/]|[/.]$/.test(name) || name === "@") return false;
  return name.split("/").every((c) => !c.startsWith(".") && !c.endsWith(".lock"));
}

const FileSchema = z
  .object({
    policies: z.array(PolicySchema).min(1),
    /**
     * Propose instead of pushing to the tracked branch: commit to `branch` (`{policy}` in it
     * becomes the policy's name: a branch per policy) and, with `pullRequest` (the default),
     * open a pull request from it into the tracked branch.
     */
    push: z
      .object({
        branch: z.string().refine((b) => isBranchName(b.replaceAll("{policy}", "p")), "not a valid branch name (git check-ref-format)"),
        pullRequest: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /** Who commits: `name <email>` (default `Converge <converge@users.noreply.localhost>`). */
    author: z
      .object({ name: z.string().min(1), email: z.string().email() })
      .strict()
      .optional(),
  })
  .strict();

/** One validated image policy (see the module's docstring). */
export type ImagePolicy = z.output<typeof PolicySchema> & { image: string };

/** A validated policy file. */
export interface PolicyFile {
  policies: ImagePolicy[];
  author: { name: string; email: string };
  /** Where updates go when not to the tracked branch (see `pushBranch`). */
  push?: { branch: string; pullRequest: boolean };
}

/** The branch the updates of `policy` are pushed to: `push.branch` with `{policy}` replaced; undefined without `push` (the tracked branch). */
export function pushBranch(file: PolicyFile, policy: string): string | undefined {
  return file.push?.branch.replaceAll("{policy}", policy);
}

/** Who writes image update commits when the file does not say. */
export const DEFAULT_AUTHOR = { name: "Converge", email: "converge@users.noreply.localhost" };

/**
 * Go's RE2 named groups `(?P<name>...)`, which Flux documents, written as JavaScript's
 * `(?<name>...)`; everything else is kept.
 */
export function fromGoRegex(pattern: string): string {
  return pattern.replace(/\(\?P</g, "(?<");
}

/**
 * Parses and validates a policy file's text.
 * @param file its path in the repository, for the errors.
 * @throws PolicyError naming the file and the line of the first problem (YAML syntax, an unknown
 *   field, a bad range or pattern, two policies of one name).
 */
export function parsePolicyFile(text: string, file = POLICY_FILE): PolicyFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const err = doc.errors[0];
  if (err) throw new PolicyError(file, lines.linePos(err.pos[0]).line, err.message.split("\n")[0]!);
  const r = FileSchema.safeParse(doc.toJS());
  // the line of the node at `path` (of its key, with `key`), else of the deepest node found on the way
  const lineOf = (path: (string | number | symbol)[], key = false) => {
    let node: unknown = doc.contents;
    let line = 1;
    for (const [i, step] of path.entries()) {
      if (!isMap(node) && !isSeq(node)) break;
      const range = (node as Node).range;
      if (range) line = lines.linePos(range[0]).line;
      const pair = isMap(node) && key && i === path.length - 1 ? node.items.find((p) => isScalar(p.key) && p.key.value === step) : undefined;
      if (pair) return lines.linePos((pair.key as Node).range![0]).line;
      node = (node as { get(k: unknown, keep: true): unknown }).get(step, true);
    }
    const range = (node as Node | undefined)?.range;
    return range ? lines.linePos(range[0]).line : line;
  };
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]!] : issue.path;
    throw new PolicyError(file, lineOf(path, true), `${issue.path.join(".") || "file"}: ${issue.message}`);
  }
  const seen = new Set<string>();
  for (const [i, p] of r.data.policies.entries()) {
    if (seen.has(p.name)) throw new PolicyError(file, lineOf(["policies", i, "name"]), `policies.${i}.name: a second policy named "${p.name}"`);
    seen.add(p.name);
  }
  return {
    policies: r.data.policies.map((p) => ({ ...p, image: canonicalImage(p.image) })),
    author: r.data.author ?? DEFAULT_AUTHOR,
    ...(r.data.push ? { push: r.data.push } : {}),
  };
}
