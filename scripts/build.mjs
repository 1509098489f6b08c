// Bundles the CLI and the library with esbuild. better-sqlite3 stays external: it is a native
// addon loaded only on Node; on Deno the bundle uses node:sqlite and needs no node_modules.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

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

// The workers first: the ES bundles carry their code (src/worker-code.ts), so that each is one
// file to copy anywhere, as Deno users do. The files stay in dist/ for the CommonJS bundle, which
// never leaves its package, and for the sources, which tests run: carried, the 105 KB of worker
// code made the Node bin's load and compile from its code cache about 0.5 ms longer (4.4 against
// 3.9 ms, the fastest of 25 runs), for nothing it needs.
const workers = await build({ ...common, entryPoints: { "walk-ahead-worker": "src/walk-ahead-worker.ts", "stage-worker": "src/stage-worker.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" }, write: false });
const workerCode = {};
mkdirSync("dist", { recursive: true });
for (const out of workers.outputFiles) {
  writeFileSync(out.path, out.contents);
  workerCode[basename(out.path, ".mjs")] = out.text;
}

const carryWorkers = {
  name: "carry-workers",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]worker-code\.ts$/ }, () => ({ contents: `export const workerCode = ${JSON.stringify(workerCode)};`, loader: "js" }));
  },
};
await build({ ...common, entryPoints: { synchro: "src/cli/bin.ts", index: "src/index.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" }, plugins: [carryWorkers] });

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
