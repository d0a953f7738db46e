/**
 * The demo's image update step, on the running local control plane: a real registry
 * (tools/testbed/registry.ts, built on first use) notifying the image-receive URL, podinfo's
 * own Deployment (test/fixtures/images) with a Flux setter marker and a policy file pushed to
 * the Git server, a cluster registered with `--image-update`; then `crane` pushes
 * `podinfo:6.7.1` and, with no other action, the image update commits the new tag to Git, the
 * push hook delivers the webhook and the cluster rolls out 6.7.1.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Services } from "../../shared/services.js";
import { pushImage, startRegistry, type Registry } from "../testbed/registry.js";
import type { Workshop } from "./workshop.js";

const run = promisify(execFile);
const fixture = join(fileURLToPath(import.meta.url), "..", "..", "..", "test", "fixtures", "images", "podinfo-deployment.yaml");
const NAME = "podinfo-dev";

/** What the step needs of the demo: the workshop's printing, CLI, kubectl (on the app's cluster), clone folder; the image-receive URL and the registries' token. */
export interface ImagesDemo extends Pick<Workshop, "print" | "say" | "converge" | "kubectl" | "cluster" | "repoUrl" | "workDir"> {
  receiveUrl: string;
  token: string;
  services: Pick<Services, "clusters">;
  /** Where the registry's progress lines go. */
  log(line: string): void;
}

/** Polls `get` every 500 ms for at most 120 s. @throws Error naming what was awaited. */
async function until<T>(what: string, get: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let i = 0; i < 240; i++) {
    const v = await get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Runs git in the working clone, printing the command. */
async function git(d: ImagesDemo, ...args: string[]): Promise<string> {
  d.print(`$ git ${args.join(" ")}`);
  const env = { ...process.env, GIT_AUTHOR_NAME: "Demo", GIT_AUTHOR_EMAIL: "demo@converge.local", GIT_COMMITTER_NAME: "Demo", GIT_COMMITTER_EMAIL: "demo@converge.local" };
  return (await run("git", ["-C", d.workDir, ...args], { env, encoding: "utf8" })).stdout.trim();
}

/** The step; returns the registry (stopped by the caller). */
export async function runImagesDemo(d: ImagesDemo): Promise<Registry> {
  d.say("image update automation 1/2: a registry, a policy file and a marked Deployment in Git");
  const reg = await startRegistry({ notifyUrl: d.receiveUrl, notifyToken: d.token, log: d.log });
  d.print(`registry ${reg.url}, notifying ${d.receiveUrl}`);
  rmSync(d.workDir, { recursive: true, force: true });
  await run("git", ["clone", "-q", d.repoUrl, d.workDir]);
  mkdirSync(join(d.workDir, "podinfo"), { recursive: true });
  mkdirSync(join(d.workDir, ".converge"), { recursive: true });
  const deployment = readFileSync(fixture, "utf8").replace(/image: ghcr\.io\/stefanprodan\/podinfo:[^\n]*/, `image: ${reg.host}/podinfo:6.7.0 # {"$imagepolicy": "flux-system:podinfo"}`);
  writeFileSync(join(d.workDir, "podinfo", "deployment.yaml"), deployment);
  writeFileSync(join(d.workDir, ".converge", "images.yaml"), `policies:\n  - name: podinfo\n    image: ${reg.host}/podinfo\n    semver:\n      range: "~6.7"\n`);
  d.print(`podinfo/deployment.yaml:  image: ${reg.host}/podinfo:6.7.0 # {"$imagepolicy": "flux-system:podinfo"}`);
  d.print(`.converge/images.yaml:    podinfo: ${reg.host}/podinfo, semver ~6.7`);
  await d.converge(
    ...["cluster", "add", NAME, "--repo", d.repoUrl, "--branch", "master", "--path", "podinfo", "--namespace", "podinfo"],
    ...["--kubeconfig", d.cluster.kubeconfig, "--context", d.cluster.context, "--interval", "30s", "--sync", "apply", "--sync-option", "CreateNamespace=true", "--image-update"],
  );
  await git(d, "add", "-A");
  await git(d, "commit", "-q", "-m", "podinfo 6.7.0 and its image policy");
  await git(d, "push", "-q", "origin", "master");
  const first = await git(d, "rev-parse", "HEAD");
  await until(`${NAME} synced at ${first.slice(0, 12)}`, async () => ((await d.services.clusters.get(NAME))?.status.appliedRevision === first ? true : undefined));
  d.print(d.kubectl("-n", "podinfo", "get", "deployment", "podinfo", "-o", "jsonpath={.spec.template.spec.containers[0].image}"));

  d.say("image update automation 2/2: crane pushes podinfo:6.7.1; Converge commits it to Git, the cluster rolls it out");
  d.print(`$ crane push <image> ${reg.host}/podinfo:6.7.1`);
  await pushImage(reg, "podinfo", "6.7.1");
  const commit = await until("the image update's commit", async () => {
    await run("git", ["-C", d.workDir, "pull", "-q", "--ff-only"]);
    const head = await run("git", ["-C", d.workDir, "rev-parse", "HEAD"], { encoding: "utf8" });
    return head.stdout.trim() !== first ? head.stdout.trim() : undefined;
  });
  d.print((await git(d, "show", "--format=%h %an <%ae>%n%n%B", "--unified=0", commit)).replace(/\n{3,}/g, "\n\n"));
  await until(`${NAME} synced at ${commit.slice(0, 12)}`, async () => ((await d.services.clusters.get(NAME))?.status.appliedRevision === commit ? true : undefined));
  d.print(d.kubectl("-n", "podinfo", "get", "deployment", "podinfo", "-o", "jsonpath={.spec.template.spec.containers[0].image}"));
  await d.converge("images", "history");
  await d.converge("sync", "history", "--cluster", NAME);
  return reg;
}
