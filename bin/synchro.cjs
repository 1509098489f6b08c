#!/usr/bin/env node
"use strict";
// Runs the esbuild bundle: no TypeScript compile at start-up. `npm install` builds it (prepare).
// On Node, the CommonJS bundle from V8's code cache: a sync of a one-file tree took 82 ms against
// 98 ms for the ES bundle (92 ms as CommonJS without the cache; `node -e 0` takes 58 ms here).
// Deno runs the ES bundle, as `deno task synchro` does.
const { readFileSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { join } = require("node:path");
const { Script } = require("node:vm");

if (typeof Deno !== "undefined") {
  import("../dist/synchro.mjs");
} else {
  const file = join(__dirname, "..", "dist", "synchro.cjs");
  const cacheFile = `${file}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // Not built (the build could not run the CLI): compiled as usual.
  }
  // Node's own CommonJS wrapper, so the bundle sees what require() would give it.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, "utf8")}\n})`;
  const script = new Script(source, { filename: file, cachedData });
  // Only the build asks for it (scripts/build.mjs), once the run has compiled what it needs.
  if (process.env.SYNCHRO_WRITE_CODE_CACHE === "1") process.on("exit", () => writeFileSync(cacheFile, script.createCachedData()));
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, join(__dirname, "..", "dist"));
}
