// Bundles the CLI and the library with esbuild. better-sqlite3 stays external: it is a native
// addon loaded only on Node; on Deno the bundle uses node:sqlite and needs no node_modules.
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["better-sqlite3"],
  logLevel: "warning",
};

await build({ ...common, entryPoints: { synchro: "src/cli/bin.ts", index: "src/index.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } });
