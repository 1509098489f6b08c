import { settleColorEnv } from "./color.ts";

// Before anything imports consola, which reads the colour variables once at load.
settleColorEnv(process.env, process.stderr.isTTY === true);
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv);
