/**
 * Azure DevOps service-hook deliveries ("Web Hooks" consumer, event "Code pushed"): recognised
 * by the `X-VSS-ActivityId` header Azure DevOps sends (as Argo CD does) or else by basic-auth
 * credentials alone, authenticated by those credentials (`user:password`, the hook's "Basic
 * authentication username / password"), identified by the payload's event `id` joined with its
 * `notificationId` (https://learn.microsoft.com/en-us/azure/devops/service-hooks/services/webhooks,
 * https://learn.microsoft.com/en-us/azure/devops/service-hooks/events#git.push). A `git.push`
 * lists one `refUpdates` entry per ref and no files, so `changed` is undefined.
 */
import * as z from "zod";
import { describeIssues, refKind, urlForms, ZERO_SHA, type GitHost, type Headers } from "../host.js";
import { matchesToken } from "../verify.js";

const PushPayload = z.object({
  id: z.string(),
  notificationId: z.union([z.number(), z.string()]).optional(),
  resource: z.object({
    refUpdates: z.array(z.object({ name: z.string(), oldObjectId: z.string(), newObjectId: z.string() })),
    repository: z.object({ remoteUrl: z.string().optional(), sshUrl: z.string().optional(), webUrl: z.string().optional() }),
    pushedBy: z.object({ uniqueName: z.string().optional(), displayName: z.string().optional() }).optional(),
  }),
});

/** The `user:password` of an `Authorization: Basic` header, or undefined. */
function basicCredentials(h: Headers): string | undefined {
  const m = /^basic\s+(\S+)$/i.exec(h.authorization ?? "");
  return m ? Buffer.from(m[1]!, "base64").toString("utf8") : undefined;
}

/** The Azure DevOps host module (secret key `azure-devops`, entries `user:password`). */
export const azureDevops: GitHost = {
  name: "azure-devops",
  recognises: (h) => !!h["x-vss-activityid"] || basicCredentials(h) !== undefined,
  verify(h, _body, secrets) {
    const given = basicCredentials(h);
    if (given === undefined) return "missing basic-auth Authorization header";
    return matchesToken(given, secrets) ? undefined : "basic-auth credentials do not match";
  },
  interpret(_h, payload) {
    const eventType = (payload as { eventType?: unknown } | null)?.eventType;
    if (eventType !== "git.push") return { ignored: `event "${String(eventType)}" is not handled` };
    const parsed = PushPayload.safeParse(payload);
    if (!parsed.success) return { error: `not a push payload: ${describeIssues(parsed.error.issues)}` };
    const p = parsed.data;
    const r = p.resource.repository;
    const deliveryId = p.notificationId === undefined ? p.id : `${p.id}:${p.notificationId}`;
    const pushes = p.resource.refUpdates.map((u) => ({
      host: "azure-devops" as const,
      deliveryId,
      repoUrls: urlForms(r.remoteUrl, r.sshUrl, r.webUrl),
      ref: u.name,
      ...refKind(u.name),
      before: u.oldObjectId,
      after: u.newObjectId,
      deleted: u.newObjectId === ZERO_SHA,
      pusher: p.resource.pushedBy?.uniqueName ?? p.resource.pushedBy?.displayName,
    }));
    return { pushes };
  },
};
