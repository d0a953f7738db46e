/**
 * What every Converge function shares: Node.js 22 on Lambda, ESM bundles built locally by
 * esbuild (no Docker), Powertools service name and metrics namespace, X-Ray tracing, a log
 * group kept one month.
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Architecture, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { METRIC_NAMESPACE } from "../../shared/metrics/emf.js";

const root = join(fileURLToPath(import.meta.url), "..", "..", "..");

/** Entry file of a function under `functions/<name>/index.ts`. */
export function entryOf(name: string): string {
  return join(root, "functions", name, "index.ts");
}

/**
 * A NodejsFunction for `functions/<name>` with Converge's defaults; `props` override them.
 * ESM output needs a `require` shim for the CommonJS dependencies esbuild inlines.
 */
export function convergeFunction(scope: Construct, id: string, name: string, props: Partial<NodejsFunctionProps> = {}): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  return new NodejsFunction(scope, id, {
    entry: entryOf(name),
    handler: "handler",
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.X86_64,
    memorySize: 512,
    timeout: Duration.seconds(30),
    tracing: Tracing.ACTIVE,
    logGroup,
    depsLockFilePath: join(root, "package-lock.json"),
    projectRoot: root,
    bundling: {
      format: OutputFormat.ESM,
      target: "node22",
      minify: true,
      sourceMap: true,
      forceDockerBundling: false,
      mainFields: ["module", "main"],
      banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
    },
    ...props,
    environment: {
      POWERTOOLS_SERVICE_NAME: "converge",
      POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      NODE_OPTIONS: "--enable-source-maps",
      ...props.environment,
    },
  });
}
