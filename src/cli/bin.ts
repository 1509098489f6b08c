import { settleColorEnv } from "./color.ts";

// Before anything else runs: see settleColorEnv.
settleColorEnv(process.env, process.stderr.isTTY === true);
// No top-level await: the same entry is bundled as CommonJS for Node's bin (see scripts/build.mjs).
void import("./main.ts").then(async ({ main }) => {
  process.exitCode = await main(process.argv);
});
