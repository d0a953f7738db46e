/**
 * `converge images`: image update automation from the command line.
 * - `images check --cluster X`: every policy of the cluster's branch scanned now, and what
 *   would change (file, line, old → new), nothing written;
 * - `images scan`: the scheduled scan, run now (policies with an `interval`; `--all`: every
 *   policy), committing what moves;
 * - `images history`: the image updates recorded in the sync history (trigger, images, commit).
 */
import { Option, type Command } from "commander";
import { imageScanDeps } from "../shared/compose/images.js";
import { scanImages } from "../shared/images/scan.js";
import type { BranchOutcome } from "../shared/images/update.js";
import type { Services } from "../shared/services.js";
import type { ImageUpdateTrigger, OperationSummary } from "../shared/store/operations.js";
import { UsageError } from "./errors.js";
import { limitFlag, table, time } from "./format.js";

interface ImageIO {
  svc: () => Services;
  out: (line: string) => void;
  err: (line: string) => void;
  fail: () => void;
}

/** One line per field that moves, or why a branch could not be read; returns whether any branch failed. */
function report(outcomes: BranchOutcome[], io: ImageIO, verb: string): boolean {
  const rows = outcomes.flatMap((o) =>
    o.changes.map((c) => [
      o.pushBranch ? `${o.pushBranch} → ${o.branch}` : o.branch,
      `${c.file}:${c.line}`,
      c.policy,
      c.image,
      c.from || "(none)",
      c.to,
      `${o.commit?.slice(0, 12) ?? (o.error ? "not written" : verb)}${o.pullRequest ? ` ${o.pullRequest.url}` : ""}`,
    ]),
  );
  if (rows.length) io.out(table(["BRANCH", "FILE", "POLICY", "IMAGE", "FROM", "TO", "COMMIT"], rows));
  for (const o of outcomes) if (o.pullRequest && !o.changes.length) io.out(`${o.pushBranch}: already proposed in ${o.pullRequest.url}`);
  for (const o of outcomes) for (const w of o.warnings) io.err(`warning: ${w}`);
  const failed = outcomes.filter((o) => o.error);
  for (const o of failed) io.err(`error: ${o.repoUrl} ${o.branch} (${o.clusters.join(", ")}): ${o.error}`);
  if (!rows.length && !failed.length)
    io.out(outcomes.length ? "every marked image is at the tag its policy selects: nothing to change" : "no cluster with image updates (converge cluster update <name> --image-update)");
  return failed.length > 0;
}

/** Adds `converge images check | scan | history` to `program`. */
export function registerImageCommands(program: Command, io: ImageIO): void {
  const images = program.command("images").description("image update automation: what would change, the scan, the history");
  images
    .command("check")
    .description("scan every policy of the cluster's branch now and print what would change (dry run: nothing written)")
    .requiredOption("--cluster <name>", "a cluster with image updates")
    .action(async (o: { cluster: string }) => {
      const rec = await io.svc().clusters.get(o.cluster);
      if (!rec) throw new UsageError(`no cluster named ${o.cluster}`);
      if (!rec.spec.imageUpdate) throw new UsageError(`${o.cluster} has no image updates: converge cluster update ${o.cluster} --image-update`);
      if (report(await scanImages(imageScanDeps(io.svc()), { all: true, dryRun: true, clusters: [o.cluster] }), io, "(dry run)")) io.fail();
    });
  images
    .command("scan")
    .description("run the scheduled scan now: list the tags of the policies with an interval (--all: every policy) and commit what moves")
    .option("--all", "scan every policy, with an interval or not")
    .option("--cluster <name...>", "only the branches of these clusters")
    .action(async (o: { all?: boolean; cluster?: string[] }) => {
      if (report(await scanImages(imageScanDeps(io.svc()), { all: o.all ?? false, clusters: o.cluster }), io, "")) io.fail();
    });
  images
    .command("history")
    .description("image updates, newest first: trigger, images (old → new), commit")
    .option("--cluster <name...>", "only these clusters (default: every cluster with image updates)")
    .option("--limit <n>", "operations read per cluster, 1 to 1000", "100")
    .addOption(new Option("-o, --output <format>", "table or json").choices(["table", "json"]).default("table"))
    .action(async (o: { cluster?: string[]; limit: string; output: string }) => {
      const limit = limitFlag(o.limit);
      const s = io.svc();
      const names = o.cluster ?? (await s.clusters.listWithImageUpdates()).map((c) => c.name);
      const ops: OperationSummary[] = [];
      for (const name of names) ops.push(...(await s.operations.summaries(name, { limit })).operations.filter((op) => op.trigger.type === "image-update"));
      ops.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
      if (o.output === "json") return void io.out(JSON.stringify(ops, null, 2));
      if (!ops.length) return void io.out("no image update recorded");
      io.out(
        table(
          ["TIME", "CLUSTER", "SOURCE", "IMAGES", "COMMIT", "MESSAGE"],
          ops.map((op) => {
            const t = op.trigger as ImageUpdateTrigger;
            const images = t.images.map((i) => `${i.policy} ${i.from || "(none)"} → ${i.to}`).join(", ");
            return [
              time(op.startedAt),
              op.cluster,
              t.source,
              images,
              t.commit?.slice(0, 12) ?? "not written",
              op.phase === "Succeeded" ? (t.pullRequest ? `proposed in ${t.pullRequest.url}` : "") : (op.message ?? "").replace(/\s+/g, " ").slice(0, 160),
            ];
          }),
        ),
      );
    });
}
