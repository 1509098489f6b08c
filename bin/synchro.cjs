#!/usr/bin/env node
"use strict";
// Runs the esbuild bundle: no TypeScript compile at start-up. `npm install` builds it (prepare).
// On Node, the CommonJS bundle from V8's code cache: a sync of a one-file tree took 88.6 ms against
// 103.3 ms for the ES bundle (92 ms as CommonJS without the cache; `node -e 0` takes 58 ms here).
// Deno runs the ES bundle, as `deno task synchro` does.
const { readFileSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { join } = require("node:path");
const { Script } = require("node:vm");

const dist = join(__dirname, "..", "dist");
const bundle = join(dist, "synchro.cjs");
const cacheFile = `${bundle}.cache`;

/** The bundle compiled in Node's own CommonJS wrapper, with the cache beside it when there is one. */
function compileBundle() {
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // Not built (the build could not run the CLI): compiled as usual.
  }
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, "utf8")}\n})`;
  return new Script(source, { filename: bundle, cachedData });
}

function run() {
  let script;
  try {
    script = compileBundle();
  } catch (err) {
    process.stderr.write(`synchro: cannot load ${bundle} (${err.code ?? err.message}); run npm install, or npm run build\n`);
    process.exitCode = 2;
    return;
  }
  // Only the build asks for it (scripts/build.mjs), once a run has compiled what it needs.
  if (process.env.SYNCHRO_WRITE_CODE_CACHE === "1") {
    process.on("exit", (code) => {
      if (code !== 0) return;
      try {
        writeFileSync(cacheFile, script.createCachedData());
      } catch {
        // An install we cannot write to keeps running without a cache.
      }
    });
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dist);
}

if (typeof Deno !== "undefined") import("../dist/synchro.mjs");
else if (require.main === module) run();
module.exports = { compileBundle };
