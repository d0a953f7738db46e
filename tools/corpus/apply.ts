/**
 * Applies the corpus to a cluster with kubectl, the way test/fixtures/corpus/README.md describes,
 * and reports every object the API server refused.
 *
 *   npx tsx tools/corpus/apply.ts <kubeconfig> [entry...]
 *
 * Order: namespaces; CRDs (then `kubectl wait --for condition=established crd --all`); every other
 * non-hook object except admission webhook configurations; those last. Helm hooks are skipped.
 * Objects too large for the last-applied annotation go through `kubectl apply --server-side`.
 * Each phase is one kubectl call per entry, target namespace and apply mode (`-n <entry>` gives
 * namespace-less namespaced objects the release namespace); a failed call is retried object by
 * object to name the culprits. Objects go to kubectl exactly as rendered (never re-serialised).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubectlBinaries } from "../testbed/binaries.js";
import { plan, type Phase, type PlannedObject } from "./plan.js";

interface Failure {
  object: string;
  error: string;
}

function kubectl(kubeconfig: string, args: string[], input?: string): { ok: boolean; out: string } {
  const { kubectl: bin } = kubectlBinaries();
  const r = spawnSync(bin, ["--kubeconfig", kubeconfig, ...args], { input, encoding: "utf8", maxBuffer: 1 << 28 });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

const describe = (o: PlannedObject) => `${o.entry}: ${o.kind}/${o.targetNamespace ? `${o.targetNamespace}/` : ""}${o.name}`;

/** kubectl apply arguments for a batch; server-side batches force conflicts (fresh cluster, one manager). */
function applyArgs(namespace: string, serverSide: boolean, file: string): string[] {
  return ["apply", "-n", namespace, "-f", file, ...(serverSide ? ["--server-side", "--force-conflicts"] : [])];
}

/** An object's YAML exactly as rendered, as one document of a stream. */
const docText = (o: PlannedObject) => `${o.source.startsWith("---") ? "" : "---\n"}${o.source}${o.source.endsWith("\n") ? "" : "\n"}`;

function applyPhase(kubeconfig: string, objs: PlannedObject[], tmp: string, failures: Failure[]): number {
  let applied = 0;
  const batches = new Map<string, PlannedObject[]>();
  for (const o of objs) {
    const key = `${o.entry}\0${o.targetNamespace ?? o.entry}\0${o.serverSide}`;
    batches.set(key, [...(batches.get(key) ?? []), o]);
  }
  for (const batch of batches.values()) {
    const { entry, targetNamespace, serverSide } = batch[0]!;
    const ns = targetNamespace ?? entry;
    const file = join(tmp, "batch.yaml");
    writeFileSync(file, batch.map(docText).join(""));
    const r = kubectl(kubeconfig, applyArgs(ns, serverSide, file));
    if (r.ok) {
      applied += batch.length;
      continue;
    }
    for (const o of batch) {
      writeFileSync(file, docText(o));
      const one = kubectl(kubeconfig, applyArgs(ns, serverSide, file));
      if (one.ok) applied++;
      else failures.push({ object: describe(o), error: one.out });
    }
  }
  return applied;
}

export async function main(argv: string[]): Promise<number> {
  const [kubeconfig, ...only] = argv;
  if (!kubeconfig) {
    console.error("usage: apply.ts <kubeconfig> [entry...]");
    return 2;
  }
  const objs = plan(only);
  const tmp = mkdtempSync(join(tmpdir(), "corpus-apply-"));
  const failures: Failure[] = [];
  try {
    const namespaces = [...new Set(objs.flatMap((o) => (o.targetNamespace ? [o.targetNamespace] : [])))].sort();
    for (const ns of namespaces) {
      if (kubectl(kubeconfig, ["get", "namespace", ns]).ok) continue;
      const r = kubectl(kubeconfig, ["create", "namespace", ns]);
      if (!r.ok) failures.push({ object: `Namespace/${ns}`, error: r.out });
    }
    const counts: Partial<Record<Phase, number>> = {};
    for (const phase of ["crd", "main", "webhook"] as const) {
      counts[phase] = applyPhase(
        kubeconfig,
        objs.filter((o) => o.phase === phase),
        tmp,
        failures,
      );
      if (phase === "crd") {
        const w = kubectl(kubeconfig, ["wait", "--for", "condition=established", "crd", "--all", "--timeout=120s"]);
        if (!w.ok) failures.push({ object: "CRDs established", error: w.out });
      }
    }
    const hooks = objs.filter((o) => o.phase === "hook").length;
    console.log(
      `applied: ${counts.crd} CRDs, ${counts.main} objects, ${counts.webhook} webhook configurations; ` +
        `skipped ${hooks} Helm hooks; server-side: ${
          objs
            .filter((o) => o.serverSide && o.phase !== "hook")
            .map(describe)
            .join(", ") || "none"
        }`,
    );
    for (const f of failures) console.log(`FAILED ${f.object}\n  ${f.error.replace(/\n/g, "\n  ")}`);
    console.log(failures.length ? `${failures.length} failures` : "no failures");
    return failures.length ? 1 : 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
