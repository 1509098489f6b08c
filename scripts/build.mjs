// Bundles the CLI and the library with esbuild. better-sqlite3 stays external: it is a native
// addon loaded only on Node; on Deno the bundle uses node:sqlite and needs no node_modules.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

// dist/ is what the package ships (package.json "files"): made anew, so no file an older build left is packed.
rmSync("dist", { recursive: true, force: true });

await build({ ...common, entryPoints: { synchro: "src/cli/bin.ts", index: "src/index.ts", "walk-ahead-worker": "src/walk-ahead-worker.ts", "stage-worker": "src/stage-worker.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } });

// The same CLI as CommonJS, for Node's bin (bin/synchro.cjs): Node starts a CommonJS entry
// 5 ms sooner than an ES one, and only a script can be compiled from a V8 code cache.
await build({
  ...common,
  format: "cjs",
  entryPoints: { synchro: "src/cli/bin.ts" },
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
  define: { "import.meta.url": "__synchroUrl" },
  banner: { js: '"use strict";\nvar __synchroUrl = require("node:url").pathToFileURL(__filename).href;' },
});

// The code cache: written by the bin at the end of a small sync, so that it holds the functions a
// run compiles, not only the top level. V8 refuses a cache from another version or other flags,
// and the bin then compiles as if there were none; a failure here only loses the cache.
rmSync("dist/synchro.cjs.cache", { force: true });
const tmp = mkdtempSync(join(tmpdir(), "synchro-build-"));
try {
  mkdirSync(join(tmp, "src", "d"), { recursive: true });
  writeFileSync(join(tmp, "src", "d", "f.txt"), "x");
  const r = spawnSync(process.execPath, ["bin/synchro.cjs", "sync", join(tmp, "src"), join(tmp, "dst"), "--state", join(tmp, "state", "index.db"), "--quiet"], {
    env: { ...process.env, SYNCHRO_WRITE_CODE_CACHE: "1" },
    encoding: "utf8",
  });
  if (r.status !== 0) console.warn(`build: no code cache for the CLI (${(r.stderr || r.error?.message || "").trim()})`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
