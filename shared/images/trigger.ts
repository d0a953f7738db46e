/**
 * How reported images reach the image update: every trigger becomes a message on the image
 * queue (an SQS standard queue read in batches, with a batching window), and the update runs
 * once per batch, so images pushed together (two `crane push` a second apart, a CI job
 * pushing several services) make one commit.
 * - A registry's notification (distribution's `notifications.endpoints`, with a bearer token
 *   in `headers`) reaches `receiveNotification` (the image-receive function's URL): checked,
 *   read, enqueued, answered 202.
 * - Amazon ECR's "ECR Image Action" events reach the queue straight from an EventBridge rule:
 *   the message body is the event.
 * - The scan enqueues nothing: it runs the update itself (./scan.ts).
 */
import * as z from "zod";
import { matchesToken } from "../webhook/verify.js";
import { fromDistribution, fromEcr, ImageEventError, type PushedImage } from "./events.js";
import type { ImageTrigger } from "./update.js";

/** Largest notification body read: 1 MiB (distribution sends one event per request). */
export const MAX_NOTIFICATION_BYTES = 1024 * 1024;

const Message = z.object({
  source: z.enum(["registry", "ecr", "scan"]),
  eventId: z.string().optional(),
  images: z.array(z.object({ image: z.string().min(1), tag: z.string().min(1), digest: z.string().optional() })),
});

/** An HTTP answer: status and a JSON body saying why. */
export interface Answer {
  statusCode: number;
  body: { message: string; images?: number };
}

/**
 * Receives a registry's notification: `Authorization: Bearer <token>` must be one of `tokens`
 * (two during a rotation), the body a notification envelope; the tags pushed are enqueued as
 * one message (none: nothing is enqueued).
 * @returns 202 when enqueued (or nothing to do), 401 on a missing or wrong token, 413 past
 *   MAX_NOTIFICATION_BYTES, 400 naming what is wrong with the body; a failing `send` throws
 *   (the registry retries on a 5xx).
 */
export async function receiveNotification(
  req: { headers: Record<string, string | undefined>; body: string },
  deps: { tokens: readonly string[]; send(message: ImageTrigger): Promise<void> },
): Promise<Answer> {
  const auth = req.headers.authorization ?? req.headers.Authorization ?? "";
  const given = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
  if (!given || deps.tokens.length === 0 || !matchesToken(given, deps.tokens))
    return { statusCode: 401, body: { message: "missing or wrong bearer token: set the registry's notification endpoint headers to Authorization: Bearer <token>" } };
  if (Buffer.byteLength(req.body) > MAX_NOTIFICATION_BYTES) return { statusCode: 413, body: { message: `notification over ${MAX_NOTIFICATION_BYTES} bytes` } };
  let parsed: ReturnType<typeof fromDistribution>;
  try {
    parsed = fromDistribution(JSON.parse(req.body));
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof ImageEventError) return { statusCode: 400, body: { message: err instanceof SyntaxError ? `the body is not JSON: ${err.message}` : err.message } };
    throw err;
  }
  if (parsed.images.length === 0) return { statusCode: 202, body: { message: "no tag pushed: nothing to do", images: 0 } };
  await deps.send({ source: "registry", ...(parsed.id ? { eventId: parsed.id } : {}), images: parsed.images });
  return { statusCode: 202, body: { message: "accepted", images: parsed.images.length } };
}

/**
 * One trigger per source out of a batch of queue messages (an enqueued trigger, or an ECR event
 * as EventBridge delivers it), images merged, the same image and tag once.
 * @returns the triggers, and the messages that are neither (by index, with the reason): they
 *   are dropped, a retry cannot fix them.
 */
export function triggersOf(bodies: string[]): { triggers: ImageTrigger[]; invalid: { index: number; reason: string }[] } {
  const bySource = new Map<ImageTrigger["source"], { ids: string[]; images: Map<string, PushedImage> }>();
  const invalid: { index: number; reason: string }[] = [];
  for (const [index, body] of bodies.entries()) {
    let trigger: ImageTrigger;
    try {
      const json = JSON.parse(body) as { source?: unknown };
      trigger = json.source === "aws.ecr" ? { source: "ecr", ...withId(fromEcr(json)) } : Message.parse(json);
    } catch (err) {
      // the reason never quotes the body (JSON.parse's message does): a message may hold anything
      invalid.push({ index, reason: err instanceof SyntaxError ? "not JSON" : err instanceof z.ZodError ? "not an image trigger" : (err as Error).message });
      continue;
    }
    const entry = bySource.get(trigger.source) ?? { ids: [] as string[], images: new Map<string, PushedImage>() };
    if (trigger.eventId) entry.ids.push(trigger.eventId);
    for (const i of trigger.images) entry.images.set(`${i.image}:${i.tag}`, i);
    bySource.set(trigger.source, entry);
  }
  const triggers = [...bySource].filter(([, e]) => e.images.size > 0).map(([source, e]) => ({ source, ...(e.ids.length ? { eventId: e.ids.join(", ") } : {}), images: [...e.images.values()] }));
  return { triggers, invalid };
}

function withId(r: { id?: string; images: PushedImage[] }): Pick<ImageTrigger, "eventId" | "images"> {
  return { ...(r.id ? { eventId: r.id } : {}), images: r.images };
}
