#!/usr/bin/env node
// The `converge` command: runs the TypeScript CLI through tsx's loader (no build step in a checkout).
import { register } from "tsx/esm/api";

// Node 20 is supported (engines >=20.10): silence exactly the AWS SDK's notice about its
// January 2027 Node 22 cut-off, which it would print before every command's output. The SDK
// reads this variable (only the value "true") when its first client is created.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
register();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv);
