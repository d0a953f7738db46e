/**
 * Gitea, Forgejo and Gogs deliveries: recognised by `X-Gitea-Event` / `X-Forgejo-Event` /
 * `X-Gogs-Event` (checked before GitHub's, as Argo CD does: they also send `X-GitHub-Event`),
 * signed with `X-Gitea-Signature` / `X-Forgejo-Signature` / `X-Gogs-Signature`, the hex
 * HMAC-SHA256 of the body without prefix, identified by the matching `X-*-Delivery`; the
 * payload has GitHub's `push` shape (https://docs.gitea.com/usage/webhooks,
 * https://forgejo.org/docs/latest/user/webhooks/).
 */
import type { GitHost, Headers } from "../host.js";
import { matchesHmac } from "../verify.js";
import { interpretGithubShaped } from "./github.js";

/** Header prefixes of the family, the most specific first (Forgejo also sends Gitea's and Gogs' headers). */
const FLAVOURS = ["x-forgejo", "x-gitea", "x-gogs"] as const;

/**
 * Commits Gitea lists at most when the payload has no `total_commits` (older releases):
 * `[ui] FEED_MAX_COMMIT_NUM`, 5 by default (https://docs.gitea.com/administration/config-cheat-sheet).
 */
const LISTED_COMMITS_CAP = 5;

const flavour = (h: Headers) => FLAVOURS.find((f) => h[`${f}-event`]);

/** The Gitea / Forgejo / Gogs host module (secret key `gitea`). */
export const gitea: GitHost = {
  name: "gitea",
  recognises: (h) => flavour(h) !== undefined,
  verify(h, body, secrets) {
    const sig = FLAVOURS.map((f) => h[`${f}-signature`]).find(Boolean);
    if (!sig) return "missing X-Gitea-Signature / X-Forgejo-Signature header";
    return matchesHmac(sig, body, secrets) ? undefined : "signature does not match the payload";
  },
  interpret(h, payload) {
    const f = flavour(h)!;
    return interpretGithubShaped(payload, { host: "gitea", event: h[`${f}-event`], delivery: h[`${f}-delivery`], cap: LISTED_COMMITS_CAP });
  },
};
