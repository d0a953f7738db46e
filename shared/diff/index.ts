/**
 * The diff package (after gitops-engine's `pkg/diff`): normalize live and desired objects,
 * compare them field by field, redact Secret values. Pure functions, no I/O.
 */
export { compareObjects, diffAll, diffObject, formatPath, isQuantityField, isZeroValue, itemKey, keySegment, memberSegment, type Segment } from "./compare.js";
export { CLUSTER_SCOPED_KINDS, groupOf, isNamespacedKind, normalizeDesired, normalizeLive, SERVER_ANNOTATIONS, SERVER_METADATA } from "./normalize.js";
export { parseQuantity, quantitiesEqual } from "./quantity.js";
export { digestValue, isSecret, redactSecret, SECRET_DIGEST } from "./secret.js";
