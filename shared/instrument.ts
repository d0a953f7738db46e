/**
 * Plugins applied to every AWS SDK v3 client Converge creates (the DynamoDB client behind the
 * document client, the SQS clients), so a measurement sees the real clients of the real code
 * paths. Empty in production: nothing is added to any request. The fleet benchmark
 * (`bench/fleet.ts`) registers a middleware here that counts requests and asks DynamoDB for
 * its consumed capacity, before it builds or imports anything that creates a client.
 * (Middleware: https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/middleware-stack.html)
 */
import type { Pluggable } from "@smithy/types";

// biome-ignore lint/suspicious/noExplicitAny: a plugin is applied to clients of every service, whatever their input and output types
type AnyPluggable = Pluggable<any, any>;

/**
 * The registry lives on `globalThis` under a registered symbol, so every copy of this module in
 * one process (the sources, and a function's esbuild bundle a benchmark imports) shares it.
 */
const registry = globalThis as Record<symbol, AnyPluggable[] | undefined>;
const key = Symbol.for("converge.awsClientPlugins");
registry[key] ??= [];
const plugins: AnyPluggable[] = registry[key];

/** Registers `plugin` for every client created from now on (clients created before keep theirs). */
export function addClientPlugin(plugin: AnyPluggable): void {
  plugins.push(plugin);
}

/** Applies the registered plugins to `client` and returns it. */
export function instrumented<C extends { middlewareStack: { use(p: AnyPluggable): void } }>(client: C): C {
  for (const p of plugins) client.middlewareStack.use(p);
  return client;
}
