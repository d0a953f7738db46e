/**
 * Stands in for the `whatwg-url` package in the Lambda bundles (infra/bundling.ts). Its only
 * importer, node-fetch 2 (under @kubernetes/client-node), uses it as a fallback —
 * `Url.URL || whatwgUrl.URL` — that never runs on Node.js, whose `url` module has `URL`;
 * bundled, it would add 290 KB (tr46's Unicode tables) to the reconcile.
 */
const { URL, URLSearchParams } = globalThis;
export default { URL, URLSearchParams };
export { URL, URLSearchParams };
