/**
 * The Lambda bundles, built with the options the CDK ships (`infra/bundling.ts`, also used by
 * `infra/constructs/function-defaults.ts`): every folder of `functions/` is bundled; each stays
 * under its size limit; a function other than the reconcile holds nothing only the reconcile
 * needs (Kubernetes client, Git, render, diff, sync, EKS/STS), but for what the webhook and the
 * images function also need; image-receive has neither Git nor the Kubernetes client; every
 * bundle loads in a fresh `node`; and the reconcile's size rules keep `KubeConfig` working. No
 * services needed.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { Metafile } from "esbuild";
import { bundleBytes, bundleFunction, functionNames, ROOT } from "../../infra/bundling.js";

const execFileP = promisify(execFile);

/** Runs `node` with `args`; a failure throws with the end of its stderr (a minified line can be long). */
async function node(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await execFileP(process.execPath, args, { cwd: ROOT, ...(env ? { env } : {}) })).stdout;
  } catch (err) {
    throw new Error(`node ${args[0]} failed: ${String((err as { stderr?: string }).stderr ?? err).slice(-2000)}`);
  }
}

/** Bundle limits, bytes of the minified `index.mjs`: the reconcile carries the Kubernetes client, Git, render, diff and sync. */
const LIMIT = 600_000;
const RECONCILE_LIMIT = 1_500_000;
/** The images function: Git and the render of the reconcile (its render check), no Kubernetes client. */
const IMAGES_LIMIT = 900_000;

/** Inputs only the reconcile may hold (paths relative to the repository, as in esbuild's metafile). */
const RECONCILE_ONLY_INPUTS = [
  "node_modules/@kubernetes/",
  "node_modules/isomorphic-git/",
  "node_modules/@smithy/signature-v4/",
  "node_modules/yaml/",
  "node_modules/minimatch/",
  "node_modules/diff/",
  "shared/kube/",
  "shared/git/source.ts",
  "shared/render/",
  "shared/diff/",
  "shared/sync/",
  "shared/reconcile/",
  "shared/schema/",
  "shared/compose/reconcile.ts",
  "shared/services.ts",
];
/** The Git reader, also in the webhook: the files a push changed when its payload does not list them (shared/webhook/changed.ts). */
const WEBHOOK_ALSO = ["node_modules/isomorphic-git/", "shared/git/source.ts"];
/**
 * What the images function also holds (shared/images/update.ts): Git (read, commit, push), the
 * reconcile's render (`renderRevision`: every cluster must render at the commit), the YAML of
 * markers and policies. Not the Kubernetes client (checked below).
 */
const IMAGES_ALSO = RECONCILE_ONLY_INPUTS.filter(
  (p) => !["node_modules/@kubernetes/", "shared/kube/", "node_modules/@smithy/signature-v4/", "shared/services.ts", "shared/compose/reconcile.ts"].includes(p),
);
/** What each function other than the reconcile may hold of RECONCILE_ONLY_INPUTS. */
const ALSO: Record<string, string[]> = { webhook: WEBHOOK_ALSO, images: IMAGES_ALSO };
/** Packages left to the Lambda runtime that only the reconcile may import (EKS endpoints, cross-account roles, SigV4 credentials). */
const RECONCILE_ONLY_EXTERNALS = ["@aws-sdk/client-eks", "@aws-sdk/client-sts", "@aws-sdk/credential-provider-node"];

const names = functionNames();
const out = join(ROOT, "node_modules", ".cache", `converge-bundles-test-${process.pid}`);
const metas = new Map<string, Metafile>();

/** The one output of a metafile (`index.mjs`). */
const output = (meta: Metafile) => Object.entries(meta.outputs).find(([p]) => p.endsWith("index.mjs"))![1];
/** The inputs of a bundle that only the reconcile may hold. */
const reconcileOnly = (meta: Metafile) => Object.keys(output(meta).inputs).filter((i) => RECONCILE_ONLY_INPUTS.some((p) => i.startsWith(p)));

before(async () => {
  for (const name of names) metas.set(name, (await bundleFunction(name, join(out, name))).metafile);
});
after(() => rmSync(out, { recursive: true, force: true }));

test("every folder of functions/ is a function, the reconcile among them", () => {
  assert.ok(names.includes("reconcile"), names.join(", "));
  for (const n of ["webhook", "tick", "api"]) assert.ok(names.includes(n), n);
});

for (const name of names) {
  const limit = name === "reconcile" ? RECONCILE_LIMIT : name === "images" ? IMAGES_LIMIT : LIMIT;
  test(`${name}: at most ${limit.toLocaleString("en")} bytes minified${name === "reconcile" ? "" : ", nothing only the reconcile uses"}`, () => {
    const meta = metas.get(name)!;
    const bytes = bundleBytes(meta);
    console.log(`${name}: ${bytes.toLocaleString("en")} bytes`);
    assert.ok(bytes <= limit, `functions/${name}: ${bytes.toLocaleString("en")} bytes > ${limit.toLocaleString("en")}`);
    if (name === "reconcile") return;
    const allowed = ALSO[name] ?? [];
    assert.deepEqual(
      reconcileOnly(meta).filter((i) => !allowed.some((p) => i.startsWith(p))),
      [],
      `functions/${name} bundles reconcile-only code`,
    );
    const externals = output(meta).imports.filter((i) => i.external && RECONCILE_ONLY_EXTERNALS.some((p) => i.path === p || i.path.startsWith(`${p}/`)));
    assert.deepEqual(
      externals.map((i) => i.path),
      [],
      `functions/${name} imports reconcile-only AWS clients`,
    );
  });
}

test("image-receive holds neither Git nor the Kubernetes client; the images function holds Git and the render, not the Kubernetes client", () => {
  assert.ok(names.includes("image-receive") && names.includes("images"), names.join(", "));
  const inputs = (name: string) => Object.keys(output(metas.get(name)!).inputs);
  const kube = (i: string) => i.startsWith("node_modules/@kubernetes/") || i.startsWith("shared/kube/");
  const git = (i: string) => i.startsWith("node_modules/isomorphic-git/") || i === "shared/git/source.ts";
  assert.deepEqual(
    inputs("image-receive").filter((i) => kube(i) || git(i)),
    [],
    "image-receive",
  );
  assert.ok(inputs("image-receive").includes("shared/images/trigger.ts"), "image-receive holds receiveNotification (the check above sees its inputs)");
  assert.deepEqual(inputs("images").filter(kube), [], "images: no Kubernetes client");
  for (const p of ["node_modules/isomorphic-git/", "shared/render/", "shared/images/update.ts", "shared/images/scan.ts"])
    assert.ok(
      inputs("images").some((i) => i.startsWith(p)),
      `images holds ${p}`,
    );
});

test("the reconcile's size rules apply: client-node's unused generated models and whatwg-url's Unicode tables are left out", () => {
  const inputs = Object.keys(output(metas.get("reconcile")!).inputs);
  for (const p of ["node_modules/@kubernetes/", "node_modules/isomorphic-git/", "shared/kube/", "shared/render/", "shared/diff/", "shared/sync/"]) {
    assert.ok(
      reconcileOnly(metas.get("reconcile")!).some((i) => i.startsWith(p)),
      `the reconcile holds ${p} (the check above sees what it looks for)`,
    );
  }
  assert.ok(
    inputs.some((i) => i.endsWith("node_modules/@kubernetes/client-node/dist/config.js")),
    "KubeConfig is in",
  );
  assert.ok(!inputs.some((i) => i.includes("node_modules/@kubernetes/client-node/dist/gen/models/V1Pod.js")), "V1Pod model is out");
  assert.ok(!inputs.some((i) => i.includes("node_modules/tr46/") || i.includes("node_modules/whatwg-url/")), "tr46 and whatwg-url are out");
  assert.ok(inputs.includes("infra/shims/whatwg-url.ts"), "the shim stands in");
});

test("every bundle loads in a fresh node and exports its handler", async () => {
  for (const name of names) {
    const url = pathToFileURL(join(out, name, "index.mjs")).href;
    const stdout = await node(["--enable-source-maps", "--input-type=module", "-e", `const m = await import(${JSON.stringify(url)}); process.stdout.write(typeof m.handler);`], {
      PATH: process.env.PATH,
      AWS_REGION: "us-east-1",
      AWS_EC2_METADATA_DISABLED: "true",
      CONVERGE_WORK_DIR: join(out, "work"),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    });
    assert.equal(stdout, "function", name);
  }
});

test("bundled with the reconcile's rules, KubeConfig still loads a kubeconfig and authenticates requests", async () => {
  const seen: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ major: "1", minor: "34" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const port = (server.address() as AddressInfo).port;
    const dir = join(out, "kube");
    mkdirSync(dir, { recursive: true });
    const kubeconfig = join(dir, "kubeconfig.yaml");
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: bundled-token}\ncontexts:\n- name: ctx\n  context: {cluster: c, user: u}\ncurrent-context: ctx\n`,
    );
    await bundleFunction("reconcile", dir, { entryPoints: { index: join(ROOT, "shared", "kube", "client.ts") } });
    const url = pathToFileURL(join(dir, "index.mjs")).href;
    const probe = `const { KubeClient, kubeConfigFor } = await import(${JSON.stringify(url)});
const c = new KubeClient(kubeConfigFor({ type: "kubeconfig", kubeconfig: ${JSON.stringify(kubeconfig)}, context: "ctx" }));
process.stdout.write(JSON.stringify(await c.request("GET", "/version")));
c.close();`;
    const stdout = await node(["--input-type=module", "-e", probe]);
    assert.deepEqual(JSON.parse(stdout), { major: "1", minor: "34" });
    assert.deepEqual(seen, ["Bearer bundled-token"]);
  } finally {
    server.close();
  }
});
