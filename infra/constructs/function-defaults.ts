/**
 * What every Converge function shares: Node.js 22 on Lambda, ESM bundles built locally by
 * esbuild (no Docker) with the options of `infra/bundling.ts` — the same ones
 * `test/infra/bundles.test.ts` checks and `bench/bundles.ts` measures —, Powertools service
 * name and metrics namespace, X-Ray tracing, a log group kept one month.
 */
import { spawnSync } from "node:child_process";
import { AssetHashType, DockerImage, Duration, type ILocalBundling, RemovalPolicy } from "aws-cdk-lib";
import { Architecture, Code, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, type NodejsFunctionProps } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { METRIC_NAMESPACE } from "../../shared/metrics/emf.js";
import { BUNDLER, NODE_OPTIONS, ROOT } from "../bundling.js";

export { entryOf } from "../bundling.js";

/**
 * Bundles `functions/<name>` with `infra/bundling.ts` in a child process (esbuild plugins need
 * its asynchronous API; CDK bundling is synchronous). A failure throws, so the Docker image CDK
 * requires as a fallback is never used.
 */
class FunctionBundler implements ILocalBundling {
  /** Part of CDK's cache key of bundled assets (a method is not): each function keeps its own bundle. */
  constructor(readonly functionName: string) {}

  tryBundle(outputDir: string): boolean {
    const r = spawnSync(process.execPath, ["--import", "tsx", BUNDLER, this.functionName, outputDir], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error(`bundling functions/${this.functionName} failed (${r.error?.message ?? `exit code ${r.status}`})`);
    return true;
  }
}

/** The code asset of `functions/<name>`: `index.mjs` and its source map `index.mjs.map`. */
export function functionCode(name: string): Code {
  return Code.fromAsset(ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: { image: DockerImage.fromRegistry("public.ecr.aws/sam/build-nodejs22.x"), local: new FunctionBundler(name) },
  });
}

/**
 * A NodejsFunction for `functions/<name>` with Converge's defaults; `props` override them.
 */
export function convergeFunction(scope: Construct, id: string, name: string, props: Partial<NodejsFunctionProps> = {}): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  return new NodejsFunction(scope, id, {
    code: functionCode(name),
    handler: "index.handler",
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.X86_64,
    memorySize: 512,
    timeout: Duration.seconds(30),
    tracing: Tracing.ACTIVE,
    logGroup,
    ...props,
    environment: {
      POWERTOOLS_SERVICE_NAME: "converge",
      POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      NODE_OPTIONS,
      ...props.environment,
    },
  });
}
