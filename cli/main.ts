/**
 * The `converge` CLI: register clusters, see every cluster's status in one table, read drift
 * history. It talks to DynamoDB (and SQS for `tick`) with the configuration of
 * `shared/config.ts`: AWS credentials and region as usual, or the local stack through
 * `CONVERGE_DYNAMODB_ENDPOINT` / `CONVERGE_SQS_ENDPOINT` (written to `.converge/local.env` by
 * `npm run demo`).
 */
import { readFileSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { Command, CommanderError, Option } from "commander";
import { createServices, reconcileDeps, type Services } from "../shared/services.js";
import { formatDuration, MIN_INTERVAL_SECONDS, ValidationError, type ClusterSpecInput } from "../shared/cluster/spec.js";
import { ClusterExistsError, ClusterNotFoundError, type ClusterRecord } from "../shared/store/clusters.js";
import { tick } from "../shared/schedule/tick.js";
import { ago, durationFlag, table, time } from "./format.js";
import { diffCluster, diffFiles, type DiffResult } from "../shared/reconcile/diff-cluster.js";
import { resourceReport } from "../shared/diff/report.js";
import { registerSyncCommands } from "./sync.js";
import { installToolLocator } from "./binaries.js";
import { UsageError } from "./errors.js";
import { diffLocal, renderLocal, type LocalRenderOptions } from "./local.js";
import { formatLabels, matchesSelector, parseLabelFlags, parseSelector, SelectorError } from "../shared/cluster/selector.js";
import { registerUiCommand } from "./ui.js";
import { registerImageCommands } from "./images.js";

export { UsageError };

interface AddOptions {
  repo: string;
  branch: string;
  path: string;
  namespace: string;
  kubeconfig?: string;
  context?: string;
  server?: string;
  caFile?: string;
  tokenEnv?: string;
  insecureSkipTlsVerify?: boolean;
  interval: string;
  sync: string;
  selfHeal?: boolean;
  prune?: boolean;
  syncOption?: string[];
  retryLimit?: string;
  retryBackoff?: string;
  recursive: boolean;
  ignoreDifferences?: string;
  type?: string;
  values?: string[];
  release?: string;
  ref?: string;
  eks?: string;
  region?: string;
  roleArn?: string;
  gitTokenEnv?: string;
  gitTokenFile?: string;
  gitTokenSecret?: string;
  include?: string;
  exclude?: string;
  helmValues?: string;
  label?: string[];
  statusHost?: string;
  statusApiUrl?: string;
  imageUpdate?: boolean;
  imagePolicies?: string;
}

/**
 * The source's `statuses` (where commit statuses go) from `--status-host` and
 * `--status-api-url`, over the registration's `base` for `cluster update` (a new host drops the
 * old API URL).
 * @throws UsageError when `--status-api-url` comes without a host to apply it to.
 */
function statusesFlags(host: string | undefined, apiUrl: string | undefined, base?: { host: "github" | "gitea" | "none"; apiUrl?: string }) {
  const h = (host ?? base?.host) as "github" | "gitea" | "none" | undefined;
  if (!h) throw new UsageError("--status-api-url needs --status-host github|gitea");
  const url = apiUrl ?? (host === undefined ? base?.apiUrl : undefined);
  return { host: h, ...(url ? { apiUrl: url } : {}) };
}

/**
 * The `imageUpdate` of `cluster update` from `--[no-]image-update` and `--image-policies`:
 * `{}` when neither is given (the registration keeps its own).
 * @throws UsageError on `--no-image-update` with `--image-policies`.
 */
function imageUpdateChange(on: boolean | undefined, policies: string | undefined, base: { policyFile: string } | undefined): { imageUpdate?: { policyFile?: string } } {
  if (on === false && policies) throw new UsageError("--no-image-update and --image-policies contradict each other");
  if (on === false) return { imageUpdate: undefined };
  if (on === undefined && policies === undefined) return {};
  return { imageUpdate: { ...base, ...(policies ? { policyFile: policies } : {}) } };
}

/** The `-l, --selector` filter of `status` and `cluster list`: every cluster when absent. */
function selectBy(selector: string | undefined): (c: ClusterRecord) => boolean {
  if (!selector) return () => true;
  const sel = parseSelector(selector);
  return (c) => matchesSelector(sel, c.spec.labels);
}

/** Argo CD's sync option names, as `--sync-option Name=true` takes them, and their field in the cluster spec. */
const SYNC_OPTIONS: Record<string, "replace" | "force" | "createNamespace" | "applyOutOfSyncOnly" | "pruneLast"> = {
  Replace: "replace",
  Force: "force",
  CreateNamespace: "createNamespace",
  ApplyOutOfSyncOnly: "applyOutOfSyncOnly",
  PruneLast: "pruneLast",
};

/**
 * Parses `--sync-option` values (`Replace=true`, `CreateNamespace=true`, `WaveTimeout=2m`, ...).
 * @throws UsageError naming an unknown option or value.
 */
function syncOptionsFlag(values: string[] | undefined): Record<string, boolean | number> {
  const out: Record<string, boolean | number> = {};
  for (const v of values ?? []) {
    const [name = "", value = ""] = v.split("=", 2);
    if (name === "WaveTimeout") out.waveTimeoutSeconds = durationFlag("--sync-option WaveTimeout", value, 10);
    else if (SYNC_OPTIONS[name] && (value === "true" || value === "false")) out[SYNC_OPTIONS[name]] = value === "true";
    else throw new UsageError(`--sync-option ${v}: expected one of ${Object.keys(SYNC_OPTIONS).join(", ")} =true|false, or WaveTimeout=<duration>`);
  }
  return out;
}

/**
 * The retry policy from `--retry-limit N` and `--retry-backoff <duration>,<factor>,<max>`
 * (`5s,2,3m`, Argo CD's defaults), merged over `base`.
 * @throws UsageError naming the flag.
 */
function retryFlags(limit: string | undefined, backoff: string | undefined, base: { limit: number; durationSeconds: number; factor: number; maxDurationSeconds: number }) {
  const out = { ...base };
  if (limit !== undefined) {
    out.limit = Number(limit);
    if (!Number.isInteger(out.limit) || out.limit < 0 || out.limit > 100) throw new UsageError(`--retry-limit takes 0 to 100, not "${limit}"`);
  }
  if (backoff !== undefined) {
    const [duration = "", factor = "", max = ""] = backoff.split(",");
    out.durationSeconds = durationFlag("--retry-backoff (duration)", duration, 1);
    out.factor = Number(factor);
    if (!(out.factor >= 1)) throw new UsageError(`--retry-backoff: the factor must be a number of at least 1, not "${factor}" (e.g. 5s,2,3m)`);
    out.maxDurationSeconds = durationFlag("--retry-backoff (max)", max, 1);
  }
  return out;
}

/** Reads a YAML/JSON list of ignore rules (Argo CD's ignoreDifferences format) from a file. */
function readIgnoreRules(file: string): unknown[] {
  let rules: unknown;
  try {
    rules = parseYaml(readFileSync(resolve(file), "utf8"));
  } catch (err) {
    throw new UsageError(`--ignore-differences ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(rules)) throw new UsageError(`--ignore-differences ${file}: expected a list of rules`);
  return rules;
}

/**
 * A registration's `--values`: kept as given — paths in the repository relative to the chart
 * folder, read by the reconcile from Git (Argo CD's rule; the spec refuses `..`).
 * @throws UsageError for an absolute path, which only exists on this machine.
 */
function registrationValues(values: string[] | undefined): string[] | undefined {
  const abs = values?.find((v) => isAbsolute(v));
  if (abs)
    throw new UsageError(
      `--values ${abs}: a registered cluster's value files are read from its Git repository, relative to the chart folder (--path), not from this machine: commit the file and give its path relative to the chart (e.g. --values values-production.yaml)`,
    );
  return values;
}

/** Builds the cluster registration from `cluster add` options; checks flag combinations. */
export function specFromOptions(name: string, o: AddOptions): ClusterSpecInput {
  if ([o.kubeconfig, o.server, o.eks].filter(Boolean).length > 1) throw new UsageError("--kubeconfig, --server and --eks cannot be combined: give one way to reach the cluster");
  if (!o.kubeconfig && !o.server && !o.eks)
    throw new UsageError("give --kubeconfig <file> [--context <ctx>], --server <url> [--ca-file <file>] [--token-env <VAR>], or --eks <name> --region <region> [--role-arn <arn>]");
  if (!o.eks && (o.region || o.roleArn)) throw new UsageError("--region and --role-arn need --eks");
  if (o.eks && !o.region) throw new UsageError("--eks needs --region");
  if (o.context && !o.kubeconfig) throw new UsageError("--context needs --kubeconfig");
  if (!o.server && (o.caFile || o.tokenEnv || o.insecureSkipTlsVerify)) throw new UsageError("--ca-file, --token-env and --insecure-skip-tls-verify need --server");
  const intervalSeconds = durationFlag("--interval", o.interval, MIN_INTERVAL_SECONDS);
  registrationValues(o.values);
  if (o.sync !== "detect" && o.sync !== "apply") throw new UsageError(`--sync must be detect or apply, not "${o.sync}"`);
  const labels = parseLabelFlags(o.label);
  if (labels.remove.length) throw new UsageError(`--label ${labels.remove[0]}-: removing a label is for cluster update`);
  return {
    name,
    ...(Object.keys(labels.set).length ? { labels: labels.set } : {}),
    source: {
      repoUrl: o.repo,
      branch: o.branch,
      ...(o.ref ? { ref: o.ref } : {}),
      ...(o.gitTokenEnv || o.gitTokenFile || o.gitTokenSecret
        ? {
            credentials: {
              ...(o.gitTokenEnv ? { tokenEnv: o.gitTokenEnv } : {}),
              ...(o.gitTokenFile ? { tokenFile: resolve(o.gitTokenFile) } : {}),
              ...(o.gitTokenSecret ? { tokenSecretArn: o.gitTokenSecret } : {}),
            },
          }
        : {}),
      ...(o.include ? { include: o.include } : {}),
      ...(o.exclude ? { exclude: o.exclude } : {}),
      path: o.path,
      ...(o.type ? { type: o.type as "directory" | "kustomize" | "helm" } : {}),
      recursive: o.recursive,
      ...(o.values?.length || o.release || o.helmValues
        ? { helm: { valueFiles: o.values ?? [], ...(o.release ? { releaseName: o.release } : {}), ...(o.helmValues ? { values: o.helmValues } : {}) } }
        : {}),
      ...(o.statusHost || o.statusApiUrl ? { statuses: statusesFlags(o.statusHost, o.statusApiUrl) } : {}),
    },
    namespace: o.namespace,
    ...(o.imageUpdate || o.imagePolicies ? { imageUpdate: o.imagePolicies ? { policyFile: o.imagePolicies } : {} } : {}),
    access: o.eks
      ? { type: "eks", clusterName: o.eks, region: o.region!, ...(o.roleArn ? { roleArn: o.roleArn } : {}) }
      : o.kubeconfig
        ? { type: "kubeconfig", kubeconfig: resolve(o.kubeconfig), ...(o.context ? { context: o.context } : {}) }
        : { type: "server", server: o.server!, ...(o.caFile ? { caFile: resolve(o.caFile) } : {}), ...(o.tokenEnv ? { tokenEnv: o.tokenEnv } : {}), insecureSkipTlsVerify: !!o.insecureSkipTlsVerify },
    intervalSeconds,
    syncPolicy: o.sync,
    selfHeal: !!o.selfHeal,
    prune: !!o.prune,
    syncOptions: syncOptionsFlag(o.syncOption),
    retry: retryFlags(o.retryLimit, o.retryBackoff, { limit: 0, durationSeconds: 5, factor: 2, maxDurationSeconds: 180 }),
    ignoreDifferences: (o.ignoreDifferences ? readIgnoreRules(o.ignoreDifferences) : []) as ClusterSpecInput["ignoreDifferences"], // validated by the spec schema
  };
}

/** `apply (self-heal, prune)`, `detect`: the sync policy as the CLI prints it. */
function syncSummary(spec: { syncPolicy: string; selfHeal: boolean; prune: boolean; imageUpdate?: { policyFile: string } }): string {
  const extras = [spec.selfHeal && "self-heal", spec.prune && "prune", spec.imageUpdate && `image updates from ${spec.imageUpdate.policyFile}`].filter(Boolean);
  return extras.length ? `${spec.syncPolicy} (${extras.join(", ")})` : spec.syncPolicy;
}

/** Whether `path` exists and is a folder. */
function isFolder(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function describe(c: ClusterRecord): Record<string, unknown> {
  return { name: c.name, spec: c.spec, status: c.status, nextDueAt: new Date(c.nextDueAt).toISOString(), createdAt: c.createdAt, updatedAt: c.updatedAt };
}

function driftedCount(c: ClusterRecord): number | undefined {
  const k = c.status.counts;
  return c.status.lastSuccessAt ? k.modified + k.missing + k.extra : undefined;
}

/**
 * Runs the CLI with `argv` (as in process.argv). Output goes to `out` / `err`.
 * @returns the exit code: 0 success, 1 drift found (`diff`), 2 invalid input or failure.
 */
export async function main(
  argv: string[],
  out: (s: string) => void = (s) => void process.stdout.write(`${s}\n`),
  err: (s: string) => void = (s) => void process.stderr.write(`${s}\n`),
): Promise<number> {
  installToolLocator();
  let services: Services | undefined;
  const svc = () => (services ??= createServices());
  /** What main returns after a command that succeeded in running: 1 when `diff` found drift or a sync did not succeed. */
  let exitCode = 0;
  const program = new Command("converge")
    .description("GitOps drift control for fleets of Kubernetes clusters")
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });

  const cluster = program.command("cluster").description("register and inspect clusters");
  cluster
    .command("add <name>")
    .description("register a cluster tracking a Git path")
    .requiredOption("--repo <url>", "Git repository URL (https://, ssh:// or git@host:org/repo)")
    .option("--branch <branch>", "branch to track", "main")
    .option("--ref <tag|sha>", "pin a tag or a commit SHA instead of the branch head")
    .option("--git-token-env <VAR>", "private repository: environment variable holding an HTTPS token (never stored)")
    .option("--git-token-file <file>", "private repository: file holding an HTTPS token (local mode; never stored)")
    .option("--git-token-secret <arn>", "private repository: Secrets Manager secret holding an HTTPS token (in AWS)")
    .option("--include <glob>", "directory sources: only files matching this glob (relative to --path)")
    .option("--exclude <glob>", "directory sources: leave out files matching this glob")
    .option("--helm-values <yaml>", "Helm: inline values (YAML)")
    .option("--path <dir>", "directory in the repository holding the manifests", "")
    .option("--namespace <ns>", "namespace for namespaced objects that have none in Git", "default")
    .option("--kubeconfig <file>", "kubeconfig file to reach the cluster (local mode)")
    .option("--context <ctx>", "context in the kubeconfig (default: its current context)")
    .option("--server <url>", "API server URL")
    .option("--ca-file <file>", "CA bundle of the API server (with --server)")
    .option("--token-env <VAR>", "environment variable holding a bearer token (with --server); the token is never stored")
    .option("--insecure-skip-tls-verify", "do not verify the API server certificate (with --server)")
    .option("--eks <name>", "an Amazon EKS cluster: endpoint and CA from DescribeCluster, an IAM token per reconcile")
    .option("--region <region>", "the EKS cluster's region (with --eks)")
    .option("--role-arn <arn>", "role to assume for a cross-account EKS cluster (with --eks)")
    .option("--interval <duration>", `reconcile interval when no push arrives (min ${MIN_INTERVAL_SECONDS}s)`, "5m")
    .addOption(new Option("--sync <policy>", "detect: record drift only; apply: also sync each new revision").default("detect"))
    .option("--self-heal", "with --sync apply: revert live drift at the same revision (backs off, stops after 5 heals in a row)")
    .option("--prune", "with --sync apply: delete tracked objects gone from Git")
    .option("--sync-option <Name=value...>", "Replace=true, Force=true, CreateNamespace=true, ApplyOutOfSyncOnly=true, PruneLast=true, WaveTimeout=<duration>")
    .option("--retry-limit <n>", "with --sync apply: retry a failed automated sync up to n times (default 0)")
    .option("--retry-backoff <duration,factor,max>", "wait between retries: duration × factor^attempt, at most max", "5s,2,3m")
    .option("--no-recursive", "read only the top directory of --path")
    .addOption(new Option("--type <type>", "source type (default: detected: kustomization.yaml → kustomize, Chart.yaml → helm, else directory)").choices(["directory", "kustomize", "helm"]))
    .option("--values <file...>", "Helm value files, relative to the chart folder")
    .option("--release <name>", "Helm release name (default: the last segment of --path)")
    .option("--ignore-differences <file>", "YAML list of ignore rules (Argo CD's ignoreDifferences: group, kind, name, namespace, jsonPointers, jqPathExpressions, managedFieldsManagers)")
    .option("--label <key=value...>", "labels of the cluster (env=prod region=eu-west-1); converge status -l env=prod selects on them")
    .addOption(new Option("--status-host <host>", "where commit statuses go: github (default for github.com), gitea, or none").choices(["github", "gitea", "none"]))
    .option("--status-api-url <url>", "API base URL for commit statuses: GitHub Enterprise's https://<host>/api/v3, Gitea's <origin>/api/v1 (default)")
    .option("--image-update", "image update automation: commit the image tags the policies select to the tracked branch (needs Git write access)")
    .option("--image-policies <path>", "the policy file in the repository (default .converge/images.yaml; implies --image-update)")
    .action(async (name: string, o: AddOptions) => {
      const rec = await svc().clusters.add(specFromOptions(name, o));
      out(
        `cluster ${rec.name} registered: ${rec.spec.source.repoUrl} ${rec.spec.source.branch}:${rec.spec.source.path || "/"} every ${formatDuration(rec.spec.intervalSeconds)}, sync ${syncSummary(rec.spec)}`,
      );
    });
  cluster
    .command("update <name>")
    .description("change a registration; options not given stay as they are")
    .option("--repo <url>", "Git repository URL")
    .option("--branch <branch>", "branch to track")
    .option("--ref <tag|sha>", "pin a tag or a commit SHA ('' to follow the branch again)")
    .option("--path <dir>", "directory in the repository")
    .option("--namespace <ns>", "namespace for namespaced objects that have none")
    .addOption(new Option("--type <type>", "source type ('auto' to detect again)").choices(["directory", "kustomize", "helm", "auto"]))
    .option("--values <file...>", "Helm value files, relative to the chart folder")
    .option("--release <name>", "Helm release name")
    .option("--interval <duration>", `reconcile interval (min ${MIN_INTERVAL_SECONDS}s)`)
    .addOption(new Option("--sync <policy>", "detect or apply").choices(["detect", "apply"]))
    .option("--self-heal", "revert live drift (with --sync apply)")
    .option("--no-self-heal", "stop reverting live drift")
    .option("--prune", "delete tracked objects gone from Git (with --sync apply)")
    .option("--no-prune", "stop pruning")
    .option("--sync-option <Name=value...>", "set sync options (Replace, Force, CreateNamespace, ApplyOutOfSyncOnly, PruneLast =true|false; WaveTimeout=<duration>)")
    .option("--retry-limit <n>", "retries of a failed automated sync")
    .option("--retry-backoff <duration,factor,max>", "wait between retries (e.g. 5s,2,3m)")
    .option("--ignore-differences <file>", "replace the ignore rules with this YAML list")
    .option("--label <key=value...>", "set labels (env=prod), or remove one with key- (env-); the others stay")
    .addOption(new Option("--status-host <host>", "where commit statuses go: github (default for github.com), gitea, or none").choices(["github", "gitea", "none"]))
    .option("--status-api-url <url>", "API base URL for commit statuses: GitHub Enterprise's https://<host>/api/v3, Gitea's <origin>/api/v1 (default)")
    .option("--image-update", "turn image update automation on")
    .option("--no-image-update", "turn image update automation off")
    .option("--image-policies <path>", "the policy file in the repository (turns image updates on)")
    .action(
      async (
        name: string,
        o: {
          repo?: string;
          branch?: string;
          ref?: string;
          path?: string;
          namespace?: string;
          type?: string;
          values?: string[];
          release?: string;
          interval?: string;
          sync?: string;
          selfHeal?: boolean;
          prune?: boolean;
          syncOption?: string[];
          retryLimit?: string;
          retryBackoff?: string;
          ignoreDifferences?: string;
          label?: string[];
          statusHost?: string;
          statusApiUrl?: string;
          imageUpdate?: boolean;
          imagePolicies?: string;
        },
      ) => {
        const labels = o.label === undefined ? undefined : parseLabelFlags(o.label);
        const intervalSeconds = o.interval === undefined ? undefined : durationFlag("--interval", o.interval, MIN_INTERVAL_SECONDS);
        registrationValues(o.values);
        const rec = await svc().clusters.update(name, (spec) => {
          const source: Record<string, unknown> = { ...spec.source };
          if (o.repo !== undefined) source.repoUrl = o.repo;
          if (o.branch !== undefined) source.branch = o.branch;
          if (o.ref !== undefined) source.ref = o.ref || undefined;
          if (o.path !== undefined) source.path = o.path;
          if (o.type !== undefined) source.type = o.type === "auto" ? undefined : o.type;
          if (o.values !== undefined || o.release !== undefined) source.helm = { ...spec.source.helm, ...(o.values ? { valueFiles: o.values } : {}), ...(o.release ? { releaseName: o.release } : {}) };
          if (o.statusHost !== undefined || o.statusApiUrl !== undefined) source.statuses = statusesFlags(o.statusHost, o.statusApiUrl, spec.source.statuses);
          return {
            ...spec,
            source,
            ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
            ...(intervalSeconds !== undefined ? { intervalSeconds } : {}),
            ...(o.sync !== undefined ? { syncPolicy: o.sync } : {}),
            ...(o.selfHeal !== undefined ? { selfHeal: o.selfHeal } : {}),
            ...(o.prune !== undefined ? { prune: o.prune } : {}),
            ...(o.syncOption !== undefined ? { syncOptions: { ...spec.syncOptions, ...syncOptionsFlag(o.syncOption) } } : {}),
            ...(o.retryLimit !== undefined || o.retryBackoff !== undefined ? { retry: retryFlags(o.retryLimit, o.retryBackoff, spec.retry) } : {}),
            ...(o.ignoreDifferences !== undefined ? { ignoreDifferences: readIgnoreRules(o.ignoreDifferences) } : {}),
            ...(labels ? { labels: Object.fromEntries(Object.entries({ ...spec.labels, ...labels.set }).filter(([k]) => !labels.remove.includes(k))) } : {}),
            ...imageUpdateChange(o.imageUpdate, o.imagePolicies, spec.imageUpdate),
          };
        });
        out(
          `cluster ${rec.name} updated: ${rec.spec.source.repoUrl} ${rec.spec.source.ref ?? rec.spec.source.branch}:${rec.spec.source.path || "/"} (${rec.spec.source.type ?? "detected"}), every ${formatDuration(rec.spec.intervalSeconds)}, sync ${syncSummary(rec.spec)}`,
        );
      },
    );

  cluster
    .command("list")
    .description("list registered clusters")
    .option("-l, --selector <selector>", "only clusters whose labels match (env=prod, env!=dev, env in (prod,staging), !canary; comma = and)")
    .addOption(new Option("-o, --output <format>", "table or json").choices(["table", "json"]).default("table"))
    .action(async (o: { output: string; selector?: string }) => {
      const all = (await svc().clusters.listAll()).filter(selectBy(o.selector));
      if (o.output === "json") return void out(JSON.stringify(all.map(describe), null, 2));
      out(
        table(
          ["NAME", "REPO", "BRANCH", "PATH", "INTERVAL", "SYNC POLICY", "LABELS"],
          all.map((c) => [c.name, c.spec.source.repoUrl, c.spec.source.branch, c.spec.source.path || "/", formatDuration(c.spec.intervalSeconds), syncSummary(c.spec), formatLabels(c.spec.labels)]),
        ),
      );
    });
  cluster
    .command("get <name>")
    .description("show one cluster's registration and status as JSON")
    .action(async (name: string) => {
      const c = await svc().clusters.get(name);
      if (!c) throw new UsageError(`cluster "${name}" not found`);
      out(JSON.stringify(describe(c), null, 2));
    });
  cluster
    .command("remove <name>")
    .description("unregister a cluster (its drift history stays until it expires)")
    .action(async (name: string) => {
      await svc().clusters.remove(name);
      out(`cluster ${name} removed`);
    });

  program
    .command("status")
    .description("every cluster in one table: the central view")
    .option("-l, --selector <selector>", "only clusters whose labels match (env=prod, env!=dev, env in (prod,staging), !canary; comma = and)")
    .addOption(new Option("-o, --output <format>", "table or json").choices(["table", "json"]).default("table"))
    .action(async (o: { output: string; selector?: string }) => {
      const all = (await svc().clusters.listAll()).filter(selectBy(o.selector));
      if (o.output === "json")
        return void out(
          JSON.stringify(
            all.map((c) => ({ name: c.name, labels: c.spec.labels, ...c.status })),
            null,
            2,
          ),
        );
      out(
        table(
          ["NAME", "SYNC", "HEALTH", "REVISION", "RESOURCES", "DRIFTED", "MODIFIED", "MISSING", "EXTRA", "LAST RECONCILE", "MESSAGE"],
          all.map((c) => [
            c.name,
            c.status.sync,
            c.status.health,
            c.status.revision?.slice(0, 12),
            c.status.counts.resources,
            driftedCount(c),
            c.status.counts.modified,
            c.status.counts.missing,
            c.status.counts.extra,
            ago(c.status.lastReconcileAt),
            c.status.message?.replace(/\s+/g, " ").slice(0, 100),
          ]),
        ),
      );
    });

  const drift = program.command("drift").description("drift history");
  drift
    .command("history")
    .description("drift events of a cluster, oldest first")
    .requiredOption("--cluster <name>", "cluster name")
    .option("--since <duration>", "how far back, e.g. 30m, 24h, 7d", "24h")
    .addOption(new Option("-o, --output <format>", "table or json").choices(["table", "json"]).default("table"))
    .action(async (o: { cluster: string; since: string; output: string }) => {
      const seconds = durationFlag("--since", o.since);
      if (!(await svc().clusters.get(o.cluster))) err(`note: cluster "${o.cluster}" is not registered (showing any history it left)`);
      const events = await svc().events.byCluster(o.cluster, new Date(Date.now() - seconds * 1000).toISOString());
      if (o.output === "json") return void out(JSON.stringify(events, null, 2));
      out(
        table(
          ["TIME", "RESOURCE", "FROM", "TO", "REVISION", "PATHS"],
          events.map((e) => [time(e.at), `${e.kind}/${e.namespace ? `${e.namespace}/` : ""}${e.name}`, e.from, e.to, e.revision.slice(0, 12), e.paths.join(", ")]),
        ),
      );
    });

  registerSyncCommands(program, {
    svc,
    out,
    err,
    fail: () => {
      exitCode = 1;
    },
  });

  program
    .command("render <dir>")
    .description("print the objects a local source folder renders to, as YAML, with the reconcile's code")
    .addOption(new Option("--type <type>", "source type (default: detected)").choices(["directory", "kustomize", "helm"]))
    .option("--values <file...>", "Helm value files: relative to <dir> (as Argo CD), or any local file (absolute, or relative to the current folder)")
    .option("--release <name>", "Helm release name (default: the folder's name)")
    .option("--namespace <ns>", "namespace for Helm and for namespaced objects without one", "default")
    .action(async (dir: string, o: LocalRenderOptions) => {
      const r = await renderLocal(dir, o);
      for (const w of [...r.readWarnings, ...r.warnings]) err(`warning: ${w}`);
      out(
        r.objects
          .map((d) => stringifyYaml(d.object))
          .join("---\n")
          .trimEnd(),
      );
    });

  program
    .command("diff")
    .description("show drift now, like kubectl diff: exit 0 in sync, 1 drift found, 2 or more on error")
    .option("--cluster <name>", "a registered cluster: its Git branch head against its live state")
    .option("--revision <sha>", "with --cluster: this commit instead of the branch head")
    .option("--desired <file|dir>", "offline: desired manifests, or a local source folder rendered as `converge render` does")
    .option("--live <file|dir>", "offline: live manifests (e.g. kubectl get -o yaml)")
    .option("--namespace <ns>", "offline: namespace of namespaced objects that have none (and of the Helm release)", "default")
    .addOption(new Option("--type <type>", "offline: source type of --desired (default: detected)").choices(["directory", "kustomize", "helm"]))
    .option("--values <file...>", "offline: Helm value files of --desired (as for render)")
    .option("--release <name>", "offline: Helm release name of --desired (default: the folder's name)")
    .option("--all", "also list Synced resources")
    .addOption(new Option("-o, --output <format>", "text or json").choices(["text", "json"]).default("text"))
    .action(async (o: LocalRenderOptions & { cluster?: string; revision?: string; desired?: string; live?: string; all?: boolean; output: string }) => {
      if (o.cluster && (o.desired || o.live || o.type || o.values || o.release)) throw new UsageError("give --cluster, or --desired and --live (with --type, --values, --release), not both");
      let r: DiffResult;
      if (o.cluster) r = await diffCluster(reconcileDeps(svc()), o.cluster, o.revision);
      else if (o.desired && o.live && isFolder(o.desired)) {
        const local = await diffLocal(o.desired, o.live, o);
        for (const w of local.warnings) err(`warning: ${w}`);
        r = local;
      } else if (o.desired && o.live) r = diffFiles(resolve(o.desired), resolve(o.live), o.namespace);
      else throw new UsageError("give --cluster <name>, or --desired <file|dir> and --live <file|dir>");
      const drifted = r.drift.filter((d) => d.state !== "Synced");
      exitCode = drifted.length > 0 ? 1 : 0;
      if (o.output === "json") {
        return void out(JSON.stringify({ revision: r.revision, inSync: drifted.length === 0, resources: o.all ? r.drift : drifted }, null, 2));
      }
      for (const d of o.all ? r.drift : drifted) out(`${resourceReport(d, r.desired.get(d.key), r.live.get(d.key), r.schemas)}\n`);
      const n = (s: string) => r.drift.filter((d) => d.state === s).length;
      out(`${r.drift.length} resources: ${n("Synced")} Synced, ${n("Modified")} Modified, ${n("Missing")} Missing, ${n("Extra")} Extra${r.revision ? ` at ${r.revision.slice(0, 12)}` : ""}`);
    });

  registerUiCommand(program, { svc, out, err });
  registerImageCommands(program, {
    svc,
    out,
    err,
    fail: () => {
      exitCode = 1;
    },
  });

  program
    .command("tick")
    .description("enqueue a reconcile for every cluster whose interval elapsed (what the scheduled tick function does); --all enqueues every cluster now")
    .option("--all", "treat every cluster as due")
    .action(async (o: { all?: boolean }) => {
      const s = svc();
      if (!s.queue) throw new UsageError("CONVERGE_QUEUE_URL is not set");
      const r = await tick({ clusters: s.clusters, queue: s.queue }, Date.now(), { all: o.all });
      out(`${r.due} cluster(s) due, ${r.enqueued} enqueued${r.clusters.length ? `: ${r.clusters.join(", ")}` : ""}`);
    });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError || e instanceof ValidationError || e instanceof ClusterExistsError || e instanceof ClusterNotFoundError || e instanceof SelectorError) {
      err(`error: ${e.message}`);
      return 2;
    }
    const msg = (e as Error).message ?? String(e);
    err(`error: ${msg}`);
    return 2;
  }
}
