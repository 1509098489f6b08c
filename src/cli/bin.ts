import { settleColorEnv } from "./color.ts";

// Before anything else runs: see settleColorEnv.
settleColorEnv(process.env, process.stderr.isTTY === true);
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv);
