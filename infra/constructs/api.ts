/**
 * The query API: an HTTP API whose every route requires SigV4-signed requests (IAM
 * authorization), in front of the read-only api function. One `/{proxy+}` route: the paths
 * (clusters, drift, sync operations) are routed in `shared/api/query.ts`.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import { type CfnStage, HttpApi, HttpMethod } from "aws-cdk-lib/aws-apigatewayv2";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Construct } from "constructs";
import { convergeFunction } from "./function-defaults.js";
import type { ConvergeTables } from "./tables.js";

/** Query API function and HTTP API. */
export class QueryApi extends Construct {
  readonly fn: NodejsFunction;
  readonly api: HttpApi;

  constructor(scope: Construct, id: string, props: { tables: ConvergeTables }) {
    super(scope, id);
    this.fn = convergeFunction(this, "Function", "api", { environment: props.tables.environment() });
    props.tables.tables.clusters.grantReadData(this.fn);
    props.tables.tables.events.grantReadData(this.fn);
    props.tables.tables.operations.grantReadData(this.fn);
    props.tables.tables.snapshots.grantReadData(this.fn);
    this.api = new HttpApi(this, "HttpApi", { description: "Converge query API (IAM auth)", defaultAuthorizer: new HttpIamAuthorizer() });
    this.api.addRoutes({ path: "/{proxy+}", methods: [HttpMethod.GET], integration: new HttpLambdaIntegration("Query", this.fn) });
    // access logs: who queried what (cdk-nag AwsSolutions-APIG1)
    const logs = new LogGroup(this, "AccessLogs", { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    (this.api.defaultStage!.node.defaultChild as CfnStage).accessLogSettings = {
      destinationArn: logs.logGroupArn,
      format: JSON.stringify({
        requestId: "$context.requestId",
        caller: "$context.identity.caller",
        userArn: "$context.identity.userArn",
        route: "$context.routeKey",
        path: "$context.path",
        status: "$context.status",
        ip: "$context.identity.sourceIp",
        time: "$context.requestTime",
      }),
    };
  }
}
