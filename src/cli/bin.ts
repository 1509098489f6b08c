import { settleColorEnv } from "./color.ts";
import { reportFailure } from "./exit.ts";

// No top-level await: the same entry is bundled as CommonJS for Node's bin (see scripts/build.mjs).
void (async () => {
  try {
    // Before anything else runs: see settleColorEnv. On Deno without --allow-env it throws.
    settleColorEnv(process.env, process.stderr.isTTY === true);
    const { main } = await import("./main.ts");
    process.exitCode = await main(process.argv);
  } catch (err) {
    process.exitCode = reportFailure(err);
  }
})();
