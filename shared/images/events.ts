/**
 * What registries report of a push, read into the images an update considers:
 * - a distribution (CNCF `registry`) notification envelope
 *   (https://distribution.github.io/distribution/about/notifications/): `events[]` with
 *   `action: "push"`, `target.repository`, `target.tag` (absent for a push by digest, which
 *   names no tag and is ignored), `target.digest`, `target.url` / `request.host`;
 * - Amazon ECR's "ECR Image Action" EventBridge event
 *   (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html): `detail`
 *   with `action-type: PUSH`, `result: SUCCESS`, `repository-name`, `image-tag`,
 *   `image-digest`; the image is `<account>.dkr.ecr.<region>.amazonaws.com/<repository-name>`.
 */
import * as z from "zod";
import { canonicalImage } from "./reference.js";

/** An image tag a registry reports as pushed; `image` is canonical (`host/name`). */
export interface PushedImage {
  image: string;
  tag: string;
  digest?: string;
}

const DistributionEnvelope = z.object({
  events: z.array(
    z.object({
      id: z.string().optional(),
      action: z.string(),
      target: z.object({ repository: z.string().min(1), tag: z.string().optional(), digest: z.string().optional(), url: z.string().optional() }).passthrough(),
      request: z.object({ host: z.string().optional() }).passthrough().optional(),
    }),
  ),
});

/** An event that is not what it claims: the reason, for a 400. */
export class ImageEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageEventError";
  }
}

/**
 * The tags pushed in a distribution notification envelope (pulls, deletes and pushes by
 * digest alone are left out), with the notification's first event id.
 * @throws ImageEventError when the body is not an envelope.
 */
export function fromDistribution(body: unknown): { id?: string; images: PushedImage[] } {
  const r = DistributionEnvelope.safeParse(body);
  if (!r.success) throw new ImageEventError(`not a registry notification envelope: ${r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`);
  const images: PushedImage[] = [];
  for (const e of r.data.events) {
    if (e.action !== "push" || !e.target.tag) continue;
    let host = e.request?.host;
    try {
      if (e.target.url) host = new URL(e.target.url).host;
    } catch {
      // a malformed url: the request's host names the registry
    }
    if (!host) throw new ImageEventError(`event ${e.id ?? "?"}: neither target.url nor request.host names the registry`);
    images.push({ image: canonicalImage(`${host}/${e.target.repository}`), tag: e.target.tag, ...(e.target.digest ? { digest: e.target.digest } : {}) });
  }
  return { id: r.data.events[0]?.id, images };
}

const EcrEvent = z.object({
  id: z.string().optional(),
  source: z.literal("aws.ecr"),
  "detail-type": z.literal("ECR Image Action"),
  account: z.string().regex(/^\d{12}$/),
  region: z.string().min(1),
  detail: z
    .object({
      "action-type": z.string(),
      result: z.string(),
      "repository-name": z.string().min(1),
      "image-tag": z.string().optional(),
      "image-digest": z.string().optional(),
    })
    .passthrough(),
});

/**
 * The tag an "ECR Image Action" event reports pushed: none unless it is a successful PUSH with
 * a tag (a DELETE, a failed push, a push by digest).
 * @throws ImageEventError when the event is not an ECR Image Action event.
 */
export function fromEcr(event: unknown): { id?: string; images: PushedImage[] } {
  const r = EcrEvent.safeParse(event);
  if (!r.success) throw new ImageEventError(`not an "ECR Image Action" event: ${r.error.issues.map((i) => `${i.path.join(".") || "event"}: ${i.message}`).join("; ")}`);
  const { account, region, detail, id } = r.data;
  const tag = detail["image-tag"];
  if (detail["action-type"] !== "PUSH" || detail.result !== "SUCCESS" || !tag) return { id, images: [] };
  const host = `${account}.dkr.ecr.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
  return { id, images: [{ image: `${host}/${detail["repository-name"]}`, tag, ...(detail["image-digest"] ? { digest: detail["image-digest"] } : {}) }] };
}
