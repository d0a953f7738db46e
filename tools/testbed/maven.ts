/**
 * Maven Central artifacts for the test bed (DynamoDB Local, ElasticMQ), resolved with their
 * transitive dependencies by `mvn dependency:copy-dependencies` into the cache, once.
 */
import { execFileSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "./cache.js";
import { requireTool } from "./proc.js";

/** A dependency: `group:artifact:version[:type]`. */
export type Coordinates = string;

/**
 * The folder holding the jars (and other artifacts) of `deps` and their dependencies,
 * under `<cache>/maven/<id>`; resolved on first use (a `.complete` marker makes later calls free).
 * @throws Error when Maven is missing or resolution fails (the Maven output is included).
 */
export function mavenArtifacts(id: string, deps: Coordinates[]): string {
  const dir = cacheDir("maven", id);
  const lib = join(dir, "lib");
  if (existsSync(join(dir, ".complete"))) return lib;
  requireTool("mvn", "Maven fetches DynamoDB Local and ElasticMQ from Maven Central (apt-get install maven)");
  rmSync(lib, { recursive: true, force: true });
  const xml = deps
    .map((c) => {
      const [g, a, v, t] = c.split(":");
      return `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version>${t ? `<type>${t}</type>` : ""}</dependency>`;
    })
    .join("");
  writeFileSync(
    join(dir, "pom.xml"),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>converge.local</groupId><artifactId>${id}</artifactId><version>1</version><packaging>pom</packaging><dependencies>${xml}</dependencies></project>`,
  );
  process.stderr.write(`[testbed] fetching ${id} from Maven Central (first run only)\n`);
  try {
    execFileSync("mvn", ["-q", "-B", "-f", join(dir, "pom.xml"), "dependency:copy-dependencies", `-DoutputDirectory=${lib}`], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`Maven could not resolve ${deps.join(", ")}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
  writeFileSync(join(dir, ".complete"), new Date().toISOString());
  return lib;
}
