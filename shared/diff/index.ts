/** The diff package: normalize live objects, compare with the desired state, redact Secrets. */
export { diffAll, diffObject } from "./compare.js";
export { normalizeLive, SERVER_ANNOTATIONS, SERVER_METADATA } from "./normalize.js";
export { parseQuantity, quantitiesEqual } from "./quantity.js";
export { digestValue, redactSecret } from "./secret.js";
