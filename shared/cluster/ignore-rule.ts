/**
 * The shape of one ignore rule of a registration (`ignoreDifferences`, Argo CD's format). It
 * lives with the registration model, apart from the rules' logic in `shared/diff/ignore.ts`,
 * so that parsing a registration (every function reads the clusters table) needs no diff code.
 */
import * as z from "zod";

/** One rule. Empty `group` is the core group; omitted selectors match anything. */
export const IgnoreRuleSchema = z.object({
  group: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  /** RFC 6901 pointers, e.g. `/spec/replicas`, `/spec/template/spec/containers/0/image`. */
  jsonPointers: z.array(z.string().regex(/^\//, "a JSON pointer starts with /")).optional(),
  /**
   * Field paths in Converge's syntax with wildcards, e.g. `spec.template.spec.containers[*].image`,
   * `metadata.annotations[*]`; a jq-style leading `.` and `[]` are accepted (`.spec.x[].y`).
   */
  jqPathExpressions: z.array(z.string()).optional(),
  /** Fields whose live owner is one of these field managers are not drift. */
  managedFieldsManagers: z.array(z.string()).optional(),
});
export type IgnoreRule = z.infer<typeof IgnoreRuleSchema>;
