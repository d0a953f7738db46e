/** Errors of the CLI. */

/** Thrown for invalid command-line input; printed without a stack, exit code 2. */
export class UsageError extends Error {}
