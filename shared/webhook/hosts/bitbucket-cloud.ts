/**
 * Bitbucket Cloud deliveries: recognised by `X-Event-Key` with `X-Request-UUID` (Bitbucket
 * Data Center sends `X-Request-Id` instead), signed with `X-Hub-Signature: sha256=<hex
 * HMAC-SHA256 of the body>` when the webhook has a secret, identified by `X-Request-UUID`
 * (https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/,
 * https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks).
 * A `repo:push` lists one change per ref; its commits carry no file lists, so `changed` is
 * undefined.
 */
import * as z from "zod";
import { describeIssues, urlForms, ZERO_SHA, type GitHost, type Push } from "../host.js";
import { checkSha256Header } from "../verify.js";

const Ref = z.object({ type: z.string(), name: z.string(), target: z.object({ hash: z.string() }) }).nullish();

const PushPayload = z.object({
  actor: z.object({ display_name: z.string().optional(), nickname: z.string().optional() }).optional(),
  repository: z.object({ full_name: z.string().optional(), links: z.object({ html: z.object({ href: z.string() }).optional() }).optional() }),
  push: z.object({ changes: z.array(z.object({ new: Ref, old: Ref })) }),
});

/** Bitbucket Cloud's web and clone URLs all live on this host. */
const BITBUCKET_ORG = "bitbucket.org";

/** The full ref name of a Bitbucket Cloud ref (`branch`, `tag` or `annotated_tag` named `name`). */
function fullRef(ref: { type: string; name: string }): { ref: string; branch?: string; tag?: string } {
  return ref.type === "branch" ? { ref: `refs/heads/${ref.name}`, branch: ref.name } : { ref: `refs/tags/${ref.name}`, tag: ref.name };
}

/** The Bitbucket Cloud host module (secret key `bitbucket-cloud`). */
export const bitbucketCloud: GitHost = {
  name: "bitbucket-cloud",
  recognises: (h) => !!h["x-event-key"] && !!h["x-request-uuid"],
  verify: (h, body, secrets) => checkSha256Header("X-Hub-Signature", h["x-hub-signature"], body, secrets),
  interpret(h, payload) {
    const event = h["x-event-key"];
    if (event !== "repo:push") return { ignored: `event "${event}" is not handled` };
    const delivery = h["x-request-uuid"]!;
    const parsed = PushPayload.safeParse(payload);
    if (!parsed.success) return { error: `not a push payload: ${describeIssues(parsed.error.issues)}` };
    const p = parsed.data;
    const name = p.repository.full_name;
    const repoUrls = urlForms(p.repository.links?.html?.href, name && `https://${BITBUCKET_ORG}/${name}.git`, name && `git@${BITBUCKET_ORG}:${name}.git`);
    const pushes = p.push.changes.flatMap((c): Push[] => {
      const ref = c.new ?? c.old;
      if (!ref) return [];
      return [
        {
          host: "bitbucket-cloud",
          deliveryId: delivery,
          repoUrls,
          ...fullRef(ref),
          before: c.old?.target.hash ?? ZERO_SHA,
          after: c.new?.target.hash ?? ZERO_SHA,
          deleted: !c.new,
          pusher: p.actor?.display_name ?? p.actor?.nickname,
        },
      ];
    });
    return { pushes };
  },
};
