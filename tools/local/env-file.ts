/**
 * `.converge/local.env`: what `source .converge/local.env` needs to use the local control
 * plane from another shell — the endpoints and tables the CLI reads, the webhook URL and
 * secret, the example repository's URL, and kubectl on PATH with both clusters' kubeconfigs.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** What the file describes. */
export interface LocalEnv {
  /** The test bed's variables (`CONVERGE_*`, `AWS_*`; `CONVERGE_TEST_*` are left out). */
  env: Record<string, string>;
  webhookUrl: string;
  secret: string;
  kubectl: string;
  clusters: { name: string; kubeconfig: string; context: string }[];
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Writes the file (shell syntax, values single-quoted) and returns its text. */
export function writeLocalEnv(file: string, o: LocalEnv): string {
  const vars: Record<string, string> = {
    ...Object.fromEntries(Object.entries(o.env).filter(([k]) => (k.startsWith("CONVERGE_") && !k.startsWith("CONVERGE_TEST_")) || k.startsWith("AWS_"))),
    CONVERGE_WEBHOOK_URL: o.webhookUrl,
    CONVERGE_WEBHOOK_SECRET: o.secret,
    KUBECONFIG: o.clusters.map((c) => c.kubeconfig).join(":"),
  };
  const text = [
    `# Converge's local control plane (npm run demo -- --keep), written ${new Date().toISOString()}.`,
    '# source .converge/local.env, then: npx converge status | git clone "$CONVERGE_GIT_URL" | kubectl --context <context> ...',
    `# clusters (kubectl contexts): ${o.clusters.map((c) => c.context).join(", ")}`,
    ...Object.entries(vars).map(([k, v]) => `export ${k}=${quote(v)}`),
    `export PATH=${quote(dirname(o.kubectl))}:"$PATH"`,
    "export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true",
  ].join("\n");
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${text}\n`);
  return text;
}
