// Bundles the CLI and the library with esbuild. better-sqlite3 stays external: it is a native
// addon loaded only on Node; on Deno the bundle uses node:sqlite and needs no node_modules.
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["better-sqlite3"],
  // ESM first: hash-wasm's "main" is a UMD file with every algorithm (268 KB); its ESM build
  // lets esbuild keep XXH128 alone, which the worker and every start-up parse.
  mainFields: ["module", "main"],
  logLevel: "warning",
};

await build({ ...common, entryPoints: { synchro: "src/cli/bin.ts", index: "src/index.ts", "walk-ahead-worker": "src/walk-ahead-worker.ts", "stage-worker": "src/stage-worker.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } });
