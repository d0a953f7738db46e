/**
 * The HTTP fault proxy of the chaos suite: sits in front of DynamoDB Local, ElasticMQ, the Git
 * smart-HTTP server or a kube-apiserver and, for a share of the requests, answers or breaks the way the real service
 * does under trouble:
 * - `5xx`: DynamoDB's and SQS's `InternalServerError` (500), a kube-apiserver's 503 `Status`, a
 *   Git server's 503;
 * - `throttle`: DynamoDB's `ProvisionedThroughputExceededException` and SQS's `RequestThrottled`
 *   (400, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html),
 *   a kube-apiserver's (and a Git server's) 429 `TooManyRequests` with `Retry-After`
 *   (https://kubernetes.io/docs/reference/using-api/api-concepts/#http-status-codes);
 * - `reset-before`: the connection reset before the request is forwarded;
 * - `reset-after`: the request forwarded and done, then the connection reset before the answer
 *   (the caller cannot know it happened);
 * - `latency`: the request forwarded after 0.2–1.5 s.
 * For a kube-apiserver the proxy terminates TLS with its own certificate (made with `openssl`)
 * and forwards with the client certificate of the cluster's kubeconfig.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

/** What the proxy stands in front of: decides the shape of its error answers. */
export type Upstream = "dynamodb" | "sqs" | "git" | "kubernetes";

/** The faults the proxy injects. */
export const WIRE_FAULTS = ["5xx", "throttle", "reset-before", "reset-after", "latency"] as const;
export type WireFault = (typeof WIRE_FAULTS)[number];

/** A running proxy: its URL, what it counted, a switch for its fault rate. */
export interface FaultProxy {
  url: string;
  /** PEM of the proxy's own certificate (TLS proxies), to trust it. */
  ca?: string;
  requests: number;
  /** Faults injected, by kind. */
  faults: Record<WireFault, number>;
  /** Share of requests (0..1) that get a fault; 0 forwards everything untouched. */
  rate: number;
  stop(): Promise<void>;
}

/** The error answer of `upstream` for a fault. */
function errorAnswer(upstream: Upstream, fault: "5xx" | "throttle"): { code: number; headers: Record<string, string>; body: string } {
  if (upstream === "git") return { code: fault === "5xx" ? 503 : 429, headers: { "content-type": "text/plain", ...(fault === "throttle" ? { "retry-after": "1" } : {}) }, body: `chaos: ${fault}` };
  if (upstream === "kubernetes") {
    const code = fault === "5xx" ? 503 : 429;
    const reason = fault === "5xx" ? "ServiceUnavailable" : "TooManyRequests";
    const body = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `chaos: ${reason}`, reason, code };
    return { code, headers: { "content-type": "application/json", ...(fault === "throttle" ? { "retry-after": "1" } : {}) }, body: JSON.stringify(body) };
  }
  const ns = upstream === "dynamodb" ? "com.amazonaws.dynamodb.v20120810" : "com.amazonaws.sqs";
  const type = fault === "5xx" ? "InternalServerError" : upstream === "dynamodb" ? "ProvisionedThroughputExceededException" : "RequestThrottled";
  const headers: Record<string, string> = { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "chaos" };
  if (upstream === "sqs") headers["x-amzn-query-error"] = `${type};${fault === "5xx" ? "Receiver" : "Sender"}`;
  return { code: fault === "5xx" ? 500 : 400, headers, body: JSON.stringify({ __type: `${ns}#${type}`, message: `chaos: ${type}` }) };
}

/** A self-signed certificate for 127.0.0.1, valid one day. */
function selfSigned(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "chaos-tls-"));
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
    { stdio: "ignore" },
  );
  return { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
}

/** Where and how to forward: the upstream origin and, for a kube-apiserver, its TLS options from the kubeconfig. */
async function upstreamOf(upstream: Upstream, target: string | { kubeconfig: string; context: string }): Promise<{ origin: URL; tls?: https.RequestOptions }> {
  if (typeof target === "string") return { origin: new URL(target) };
  const kc = new KubeConfig();
  kc.loadFromFile(target.kubeconfig);
  kc.setCurrentContext(target.context);
  const tls: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  if (upstream !== "kubernetes") throw new Error("a kubeconfig target needs upstream kubernetes");
  return { origin: new URL(kc.getCurrentCluster()!.server), tls };
}

/**
 * Starts a proxy on 127.0.0.1 in front of `target` (a URL, or a test-bed cluster's kubeconfig
 * and context), faulting a `rate` share of requests with kinds drawn by `rng` (0..1).
 */
export async function faultProxy(upstream: Upstream, target: string | { kubeconfig: string; context: string }, rate: number, rng: () => number): Promise<FaultProxy> {
  const { origin, tls } = await upstreamOf(upstream, target);
  const own = upstream === "kubernetes" ? selfSigned() : undefined;
  const agent = tls ? new https.Agent({ cert: tls.cert, key: tls.key, ca: tls.ca, keepAlive: true }) : new http.Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = { url: "", ca: own?.cert, requests: 0, faults: { "5xx": 0, throttle: 0, "reset-before": 0, "reset-after": 0, latency: 0 }, rate, stop: async () => {} };

  const forward = (req: http.IncomingMessage, body: Buffer, answer: (code: number, headers: http.IncomingHttpHeaders, data: Buffer) => void) => {
    // the caller's bearer token is for the proxy; upstream, the kubeconfig's client certificate authenticates
    const { authorization, ...headers } = req.headers;
    if (!tls && authorization) headers.authorization = authorization;
    const out = (tls ? https : http).request(
      { protocol: origin.protocol, hostname: origin.hostname, port: origin.port, method: req.method, path: req.url, headers: { ...headers, host: origin.host }, agent },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => answer(res.statusCode ?? 502, res.headers, Buffer.concat(parts)));
      },
    );
    out.on("error", () => req.socket.destroy());
    out.end(body);
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      proxy.requests++;
      const body = Buffer.concat(parts);
      const send = (code: number, headers: http.IncomingHttpHeaders, data: Buffer) => {
        const { "transfer-encoding": _t, connection: _c, ...rest } = headers;
        res.writeHead(code, { ...rest, "content-length": String(data.length) }).end(data);
      };
      const fault = rng() < proxy.rate ? WIRE_FAULTS[Math.floor(rng() * WIRE_FAULTS.length)]! : undefined;
      if (fault) proxy.faults[fault]++;
      if (fault === "5xx" || fault === "throttle") {
        const a = errorAnswer(upstream, fault);
        return res.writeHead(a.code, a.headers).end(a.body);
      }
      if (fault === "reset-before") return req.socket.destroy();
      if (fault === "reset-after") return forward(req, body, () => req.socket.destroy());
      if (fault === "latency") return void setTimeout(() => forward(req, body, send), 200 + Math.floor(rng() * 1300));
      forward(req, body, send);
    });
  };

  const server = own ? https.createServer({ cert: own.cert, key: own.key }, onRequest) : http.createServer(onRequest);
  server.on(own ? "secureConnection" : "connection", (s: Socket) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  proxy.url = `${own ? "https" : "http"}://127.0.0.1:${port}`;
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      agent.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
