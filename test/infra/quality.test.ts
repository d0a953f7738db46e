/**
 * Quality gates on the CDK app, offline: `cdk synth` without AWS credentials, cdk-nag's
 * AwsSolutions rule pack with no unacknowledged finding (each acknowledgement carries its
 * reason, see infra/converge.ts), and cfn-lint (PyPI) clean on the synthesized template.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { ConvergeStack } from "../../infra/converge-stack.js";

const root = join(fileURLToPath(import.meta.url), "..", "..", "..");
const noCredentials = () => {
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_DISABLE_VERSION_CHECK: "1" };
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "CDK_DEFAULT_ACCOUNT"]) delete env[k];
  return env;
};
let outdir: string;

before(() => {
  outdir = mkdtempSync(join(tmpdir(), "converge-synth-"));
  const r = spawnSync("npx", ["cdk", "synth", "-q", "--no-notices", "-o", outdir], { cwd: root, env: noCredentials(), encoding: "utf8" });
  assert.equal(r.status, 0, `cdk synth failed:\n${r.stderr}`);
});

test("cdk synth works without AWS credentials", () => {
  const t = JSON.parse(readFileSync(join(outdir, "Converge.template.json"), "utf8")) as { Resources: Record<string, unknown> };
  assert.ok(Object.keys(t.Resources).length > 40);
});

test("cdk-nag AwsSolutions: no unacknowledged finding", () => {
  const dir = mkdtempSync(join(tmpdir(), "converge-nag-"));
  const app = new App({ outdir: dir });
  new ConvergeStack(app, "Converge");
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch (err) {
    const report = join(dir, "validation-report.json");
    const findings = existsSync(report)
      ? (
          JSON.parse(readFileSync(report, "utf8")) as {
            pluginReports: { violations: { ruleName: string; violatingResources?: { resourceLogicalId: string }[]; violatingConstructs?: { constructPath: string }[] }[] }[];
          }
        ).pluginReports.flatMap((p) =>
          p.violations.map((v) => `${v.ruleName} on ${[...(v.violatingResources ?? []).map((r) => r.resourceLogicalId), ...(v.violatingConstructs ?? []).map((c) => c.constructPath)].join(", ")}`),
        )
      : [(err as Error).message];
    assert.fail(`unacknowledged cdk-nag findings:\n${findings.join("\n")}`);
  }
});

test("cfn-lint is clean on the synthesized template", () => {
  const cfnLint = spawnSync("cfn-lint", ["--version"], { encoding: "utf8" });
  assert.equal(cfnLint.status, 0, "cfn-lint is required: python3 -m pip install cfn-lint (.ci/run installs it)");
  try {
    execFileSync("cfn-lint", [join(outdir, "Converge.template.json")], { cwd: root, encoding: "utf8" });
  } catch (err) {
    assert.fail(`cfn-lint findings:\n${(err as { stdout?: string }).stdout ?? (err as Error).message}`);
  }
});
