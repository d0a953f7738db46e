/**
 * The query API: an HTTP API whose every route requires SigV4-signed requests (IAM
 * authorization), in front of the read-only api function.
 */
import { HttpApi, HttpMethod } from "aws-cdk-lib/aws-apigatewayv2";
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
    this.api = new HttpApi(this, "HttpApi", { description: "Converge query API (IAM auth)", defaultAuthorizer: new HttpIamAuthorizer() });
    this.api.addRoutes({ path: "/{proxy+}", methods: [HttpMethod.GET], integration: new HttpLambdaIntegration("Query", this.fn) });
  }
}
