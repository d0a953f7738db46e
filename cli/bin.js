#!/usr/bin/env node
// The `converge` command: runs the TypeScript CLI through tsx's loader (no build step in a checkout).
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv);
