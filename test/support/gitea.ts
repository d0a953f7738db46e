/**
 * The real Gitea of the tests that need one, started lazily: the first call of `gitea()` in a
 * test process builds it when missing (tools/testbed/gitea.ts: about 10 minutes once, cached)
 * and starts it; later calls get the same instance. Test files that never call it pay nothing.
 * Such a file stops it with `after(stopGitea)` (the test bed's process guard kills it anyway if
 * the process exits first).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { startGitea, type Gitea } from "../../tools/testbed/gitea.js";
import { announcePush } from "../../shared/events/push.js";
import { eventPublisher } from "../../shared/events/publisher.js";
import { gitChangedFiles } from "../../shared/webhook/changed.js";
import { receiveDelivery } from "../../shared/webhook/receive.js";
import type { Isolated } from "./stack.js";

let started: Promise<Gitea> | undefined;

/** The running Gitea of this test process, started on first use. */
export function gitea(): Promise<Gitea> {
  started ??= startGitea({ log: (s) => console.error(`[gitea] ${s}`) });
  return started;
}

/** Stops this process's Gitea if it was started, and removes its work folder. */
export async function stopGitea(): Promise<void> {
  const g = started;
  started = undefined;
  if (g) await (await g.catch(() => undefined))?.stop();
}

/** Time to allow a `before` that calls `gitea()`: a first run builds it (measured up to 31 minutes on a busy 2-core machine, module downloads included). */
export const GITEA_START_TIMEOUT_MS = 40 * 60_000;

/** A delivery Gitea made to the webhook URL, and what `receiveDelivery` answered. */
export interface GiteaDelivery {
  event?: string;
  delivery?: string;
  statusCode: number;
  body: Record<string, unknown>;
}

/** A local webhook URL for Gitea and the deliveries it answered. */
export interface GiteaWebhook {
  url: string;
  received: GiteaDelivery[];
  close(): Promise<void>;
}

/**
 * Serves a webhook URL on 127.0.0.1: each request goes to `receiveDelivery` with the isolated
 * stores and queue, the changed files from Git and `Push Received` to the events log, as
 * functions/webhook does; `secret` is Gitea's webhook secret.
 */
export function serveGiteaWebhook(iso: Isolated, secret: string): Promise<GiteaWebhook> {
  const received: GiteaDelivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v]));
      const answer = (statusCode: number, body: Record<string, unknown>) => res.writeHead(statusCode, { "content-type": "application/json" }).end(JSON.stringify(body));
      receiveDelivery(
        { headers, body: Buffer.concat(chunks).toString("utf8") },
        {
          secrets: { gitea: [secret] },
          clusters: iso.services.clusters,
          deliveries: iso.services.deliveries,
          queue: iso.services.queue!,
          changedFiles: gitChangedFiles(iso.services.git, iso.services.clusters, iso.services.config.region),
          announce: (push) => announcePush(eventPublisher(process.env), push),
        },
      ).then(
        (r) => {
          received.push({ event: headers["x-gitea-event"], delivery: headers["x-gitea-delivery"], ...r });
          answer(r.statusCode, r.body);
        },
        (err: Error) => {
          received.push({ statusCode: 500, body: { error: err.message } });
          answer(500, { error: err.message });
        },
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`,
        received,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}
