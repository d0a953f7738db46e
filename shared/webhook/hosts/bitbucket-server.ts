/**
 * Bitbucket Data Center (Server) deliveries: recognised by `X-Event-Key` with `X-Request-Id`,
 * signed with `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>` when the webhook has a
 * secret, identified by `X-Request-Id`; `diagnostics:ping` (the "Test connection" button) is
 * answered 200 (https://confluence.atlassian.com/bitbucketserver/manage-webhooks-938025878.html,
 * https://confluence.atlassian.com/bitbucketserver/event-payload-938025882.html). A
 * `repo:refs_changed` lists one change per ref and no files, so `changed` is undefined.
 */
import * as z from "zod";
import { describeIssues, refKind, urlForms, ZERO_SHA, type GitHost, type Push } from "../host.js";
import { checkSha256Header } from "../verify.js";

const PushPayload = z.object({
  actor: z.object({ name: z.string().optional() }).optional(),
  repository: z.object({ links: z.object({ clone: z.array(z.object({ href: z.string() })).optional() }).optional() }),
  changes: z.array(z.object({ refId: z.string(), fromHash: z.string(), toHash: z.string(), type: z.string() })),
});

/** The Bitbucket Data Center host module (secret key `bitbucket-server`). */
export const bitbucketServer: GitHost = {
  name: "bitbucket-server",
  recognises: (h) => !!h["x-event-key"] && !!h["x-request-id"],
  verify: (h, body, secrets) => checkSha256Header("X-Hub-Signature", h["x-hub-signature"], body, secrets),
  interpret(h, payload) {
    const event = h["x-event-key"];
    if (event === "diagnostics:ping") return { ping: true };
    if (event !== "repo:refs_changed") return { ignored: `event "${event}" is not handled` };
    const parsed = PushPayload.safeParse(payload);
    if (!parsed.success) return { error: `not a push payload: ${describeIssues(parsed.error.issues)}` };
    const p = parsed.data;
    const repoUrls = urlForms(...(p.repository.links?.clone ?? []).map((l) => l.href));
    const pushes = p.changes.map(
      (c): Push => ({
        host: "bitbucket-server",
        deliveryId: h["x-request-id"]!,
        repoUrls,
        ref: c.refId,
        ...refKind(c.refId),
        before: c.fromHash,
        after: c.type === "DELETE" ? ZERO_SHA : c.toHash,
        deleted: c.type === "DELETE" || c.toHash === ZERO_SHA,
        pusher: p.actor?.name,
      }),
    );
    return { pushes };
  },
};
