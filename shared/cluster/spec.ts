/**
 * A registered cluster: what it tracks in Git, how Converge reaches its API, how often it is
 * reconciled and what a reconcile may do. Validated with zod at every entry point (CLI,
 * API, the store) so bad input fails before anything is written.
 */
import * as z from "zod";
import { normalizeRepoUrl, refusedUrl } from "../git/url.js";
import { IgnoreRuleSchema } from "./ignore-rule.js";

/** Shortest reconcile interval accepted: 30 s (a tick every minute checks due clusters). */
export const MIN_INTERVAL_SECONDS = 30;

/**
 * Parses a duration such as `30s`, `5m`, `1h30m`, `2d` into seconds.
 * @throws Error with the accepted format when `text` does not parse.
 */
export function parseDuration(text: string): number {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === "") throw new Error(`invalid duration "${text}" (use e.g. 30s, 5m, 1h, 2d)`);
  const [, d, h, mi, s] = m;
  return Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number(s ?? 0);
}

/** Formats seconds back to the shortest duration text (`300` → `5m`). */
export function formatDuration(seconds: number): string {
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("") || "0s";
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A label name (the part after the optional prefix), as Kubernetes accepts it: at most 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends. */
const labelName = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A label prefix: a DNS subdomain of at most 253 characters. */
const labelPrefix = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `key` is a valid label key (`[prefix/]name`, Kubernetes' rules). */
export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf("/");
  return slash < 0 ? labelName.test(key) : labelPrefix.test(key.slice(0, slash)) && labelName.test(key.slice(slash + 1));
}

/** Whether `value` is a valid label value: empty, or a label name. */
export function isLabelValue(value: string): boolean {
  return value === "" || labelName.test(value);
}

/** Labels of a cluster (`env=prod`, `region=eu-west-1`), with Kubernetes' key and value rules; what `converge status -l` and the fleet page select on. */
export const LabelsSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  if (Object.keys(labels).length > 64) ctx.addIssue({ code: "custom", message: "at most 64 labels" });
  for (const [k, v] of Object.entries(labels)) {
    if (!isLabelKey(k))
      ctx.addIssue({ code: "custom", path: [k], message: `invalid label key "${k}": [prefix/]name, the name at most 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit` });
    else if (!isLabelValue(v))
      ctx.addIssue({ code: "custom", path: [k], message: `invalid label value "${v}": at most 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit (or empty)` });
  }
});

/**
 * Refuses a URL at a link-local, metadata or unspecified address (`refusedUrl`): Converge
 * would send its Git token or cluster credentials there, and read what answers.
 */
function notMetadata(what: string) {
  return (url: string, ctx: z.RefinementCtx) => {
    const why = refusedUrl(url);
    if (why) ctx.addIssue({ code: "custom", message: `${what} ${url} refused: ${why}` });
  };
}

/** The Git source of a cluster's desired state (a plain YAML/JSON directory for now). */
export const SourceSchema = z.object({
  repoUrl: z
    .string()
    .refine((u) => {
      try {
        normalizeRepoUrl(u);
        return true;
      } catch {
        return false;
      }
    }, "invalid repository URL (expected https://host/org/repo(.git), ssh://... or git@host:org/repo)")
    .superRefine(notMetadata("repository URL")),
  branch: z
    .string()
    .min(1)
    .regex(/^[^\s~^:?*[\\]+$/, "invalid branch name"),
  /** A tag or a full commit SHA to reconcile instead of the branch head (pushes to the branch then leave the cluster alone). */
  ref: z
    .string()
    .regex(/^([0-9a-f]{40}|[^\s~^:?*[\\]+)$/, "invalid ref: a tag name or a 40-character commit SHA")
    .optional(),
  /**
   * HTTPS credentials of a private repository: the NAME of an environment variable or the ARN of
   * a Secrets Manager secret holding a token (used as the password). The token is never stored.
   */
  credentials: z
    .object({
      username: z.string().default("x-access-token"),
      tokenEnv: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/, "tokenEnv must be an environment variable name")
        .optional(),
      tokenFile: z.string().min(1).optional(),
      tokenSecretArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:secretsmanager:/, "invalid Secrets Manager ARN")
        .optional(),
    })
    .refine((c) => [c.tokenEnv, c.tokenFile, c.tokenSecretArn].filter(Boolean).length === 1, "give exactly one of tokenEnv, tokenFile and tokenSecretArn")
    .optional(),
  /** Directory inside the repository, `/`-separated, no `..`; `''` is the root. */
  path: z
    .string()
    .refine((p) => !p.startsWith("/"), "path must be relative to the repository root, not absolute")
    .transform((p) => p.replace(/^\.?\/+/, "").replace(/\/+$/, ""))
    .refine((p) => !p.split("/").includes(".."), "path must stay inside the repository (no '..')"),
  /** `directory`, `kustomize` or `helm`; absent: detected from the files, as Argo CD does. */
  type: z.enum(["directory", "kustomize", "helm"]).optional(),
  recursive: z.boolean().default(true),
  /** Directory sources: globs of files to include / exclude, relative to `path` (Argo CD's directory.include/exclude). */
  include: z.string().min(1).optional(),
  exclude: z.string().min(1).optional(),
  /** Helm: release name (default: the last path segment), value files inside the chart folder, inline values (YAML). */
  helm: z
    .object({
      releaseName: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "invalid Helm release name")
        .max(53)
        .optional(),
      valueFiles: z.array(z.string().refine((p) => !p.startsWith("/") && !p.split("/").includes(".."), "value files must stay inside the chart")).default([]),
      values: z.string().optional(),
    })
    .optional(),
  /**
   * Where commit statuses go (shared/githost): `github` (the default for github.com; `apiUrl`
   * for GitHub Enterprise, e.g. `https://ghe.example.com/api/v3`), `gitea` (`apiUrl` defaults to
   * `<repo origin>/api/v1`), or `none`. Written with the source's Git token.
   */
  statuses: z
    .object({
      host: z.enum(["github", "gitea", "none"]),
      apiUrl: z
        .string()
        .url()
        .refine((u) => /^https?:\/\//.test(u), "apiUrl must be an http(s) URL")
        .superRefine(notMetadata("apiUrl"))
        .optional(),
    })
    .optional(),
});

/**
 * How to reach the cluster's API server:
 * - `kubeconfig`: a kubeconfig file readable where the reconcile runs (local mode), optional context;
 * - `server`: an API server URL, a CA bundle file, and the NAME of an environment variable
 *   holding a bearer token (the token itself is never stored);
 * - `eks`: an Amazon EKS cluster by name and region (endpoint and CA from DescribeCluster, a
 *   short-lived IAM token), optionally through a role to assume (cross-account).
 */
export const AccessSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("kubeconfig"), kubeconfig: z.string().min(1), context: z.string().min(1).optional() }),
  z.object({
    type: z.literal("server"),
    server: z
      .string()
      .url()
      .refine((u) => u.startsWith("https://") || u.startsWith("http://"), "server must be an http(s) URL")
      .superRefine(notMetadata("server")),
    caFile: z.string().min(1).optional(),
    tokenEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, "tokenEnv must be an environment variable name")
      .optional(),
    insecureSkipTlsVerify: z.boolean().default(false),
  }),
  z.object({
    type: z.literal("eks"),
    clusterName: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/, "EKS cluster names are 1-100 letters, digits, '-' and '_'"),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "invalid AWS region"),
    roleArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "invalid IAM role ARN")
      .optional(),
  }),
]);

/** A cluster registration, as stored (without status). */
export const ClusterSpecSchema = z.object({
  name: z.string().max(63).regex(dnsLabel, "cluster name must be a DNS label: lower-case letters, digits and '-', at most 63"),
  source: SourceSchema,
  /** Labels (`env=prod`): fleet views and `converge status -l` select clusters with them. */
  labels: LabelsSchema.default({}),
  /** Namespace given to namespaced objects that have none in Git (like Argo CD's destination namespace). */
  namespace: z.string().max(63).regex(dnsLabel, "namespace must be a DNS label"),
  access: AccessSchema,
  /** Seconds between reconciles when no push arrives. */
  intervalSeconds: z.number().int().min(MIN_INTERVAL_SECONDS, `interval must be at least ${MIN_INTERVAL_SECONDS}s`),
  /** `detect` only records drift; `apply` also syncs each new revision (Argo CD's automated sync). */
  syncPolicy: z.enum(["detect", "apply"]).default("detect"),
  /** With `apply`: revert live drift at the same revision (Argo CD's `selfHeal`), with exponential backoff. */
  selfHeal: z.boolean().default(false),
  /** With `apply`: delete tracked objects gone from Git (Argo CD's `prune`). */
  prune: z.boolean().default(false),
  /**
   * Retries of a failed automated sync (Argo CD's `retry`): at most `limit` (0: none), the wait
   * `durationSeconds` × `factor`^attempt, at most `maxDurationSeconds`; a newer revision is
   * synced as usual instead.
   */
  retry: z
    .object({
      limit: z.number().int().min(0).max(100),
      durationSeconds: z.number().int().min(1).default(5),
      factor: z.number().min(1).default(2),
      maxDurationSeconds: z.number().int().min(1).default(180),
    })
    .default({ limit: 0, durationSeconds: 5, factor: 2, maxDurationSeconds: 180 }),
  /** Sync options (Argo CD's names), for every object; an object's `argocd.argoproj.io/sync-options` win for it. */
  syncOptions: z
    .object({
      replace: z.boolean().optional(),
      force: z.boolean().optional(),
      createNamespace: z.boolean().optional(),
      applyOutOfSyncOnly: z.boolean().optional(),
      pruneLast: z.boolean().optional(),
      waveTimeoutSeconds: z.number().int().min(10).max(3600).optional(),
    })
    .strict()
    .default({}),
  /**
   * Set by `converge rollback`: the cluster is pinned to the earlier revision `to` (in
   * `source.ref`), so automated syncs of the branch are paused until `converge sync --resume`
   * restores `previousRef` (absent: the branch head).
   */
  rollback: z.object({ to: z.string().regex(/^[0-9a-f]{40}$/), previousRef: z.string().optional(), at: z.string(), caller: z.string() }).optional(),
  /**
   * Image update automation (shared/images): registry events and scans move the image tags
   * marked in the files under `source.path`, by commits to the tracked branch, following the
   * policies of `policyFile` (a repository path, `.converge/images.yaml` by default).
   */
  imageUpdate: z
    .object({
      policyFile: z
        .string()
        .min(1)
        .refine((p) => !p.startsWith("/") && !p.split("/").includes(".."), "policyFile is a path inside the repository")
        .default(".converge/images.yaml"),
    })
    .strict()
    .optional(),
  /** Differences not to count as drift (Argo CD's ignoreDifferences format; see shared/diff/ignore.ts). */
  ignoreDifferences: z.array(IgnoreRuleSchema).default([]),
});

export type ClusterSpec = z.output<typeof ClusterSpecSchema>;
export type ClusterSpecInput = z.input<typeof ClusterSpecSchema>;
export type ClusterAccess = ClusterSpec["access"];

/** Invalid registration input; the message lists every problem as `field: reason` lines. */
export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValidationError";
  }
}

/**
 * Validates a registration.
 * @throws ValidationError listing every problem as `field: reason` lines.
 */
export function parseClusterSpec(input: unknown): ClusterSpec {
  const r = ClusterSpecSchema.refine((s) => s.syncPolicy === "apply" || (!s.selfHeal && !s.prune), { message: "--self-heal and --prune need --sync apply", path: ["syncPolicy"] }).safeParse(input);
  if (!r.success) {
    throw new ValidationError(r.error.issues.map((i) => `${i.path.join(".") || "cluster"}: ${i.message}`).join("\n"));
  }
  return r.data;
}
