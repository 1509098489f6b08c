import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { builtinModules, createRequire } from "node:module";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff } from "./fixtures/tree.ts";
import { exited, isDeno, repoRoot, waitFor } from "./fixtures/cli.ts";
import { makeMarkerDir } from "../src/replica/marker.ts";
import { tryLock } from "../src/replica/lock.ts";
import { skip } from "./fixtures/skip.ts";

const dist = (name: string) => join(repoRoot, "dist", name);
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
/** The Deno binary: the runtime itself when the suite runs on Deno, else the devDependency's. */
const deno = isDeno ? process.execPath : join(repoRoot, "node_modules", ".bin", "deno");
/** Exactly the permissions the README documents. */
const DENO_FLAGS = ["run", "--allow-read", "--allow-write", "--allow-env"];

function specifiers(file: string): { name: string; dynamic: boolean }[] {
  const code = readFileSync(file, "utf8");
  // A createRequire()'d package is loaded when that line runs, as a dynamic import is; the
  // CommonJS bundle's own require() calls run as it loads.
  const lazy = /^(?:import|createRequire)/;
  const uses = /(?:\bfrom\s*|\bimport\s*\(\s*|\bcreateRequire\)?\((?:import\.meta\.url|__synchroUrl)\)\(\s*|\brequire\(\s*)"([^"]+)"/g;
  return [...code.matchAll(uses)].map((m) => ({ name: m[1]!, dynamic: lazy.test(m[0]) }));
}

const isBuiltin = (name: string) => name.startsWith("node:") || builtinModules.includes(name);

for (const name of ["synchro.mjs", "synchro.cjs", "index.mjs", "walk-ahead-worker.mjs", "stage-worker.mjs"]) {
  test(`dist/${name} inlines every package; only better-sqlite3 stays outside, loaded lazily for Node`, () => {
    const outside = specifiers(dist(name)).filter((s) => !isBuiltin(s.name));
    assert.equal(outside, name.endsWith("-worker.mjs") ? [] : [{ name: "better-sqlite3", dynamic: true }]);
    // The walk-ahead worker digests listings with node:crypto: the WebAssembly hash would cost it 15 ms to load.
    const hashes = readFileSync(dist(name), "utf8").includes("createXXHash128");
    if (name === "walk-ahead-worker.mjs") assert.not.ok(hashes, "the walk-ahead worker does not bundle hash-wasm");
    else assert.ok(hashes, "hash-wasm is inlined");
  });
}

test("the bin runs the bundle", () => {
  const bin = join(repoRoot, pkg.bin.synchro);
  const r = isDeno ? spawnSync(deno, ["run", "-A", bin, "--version"], { encoding: "utf8" }) : spawnSync(process.execPath, [bin, "--version"], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, `synchro ${pkg.version}\n`);
});

if (!isDeno) {
  const cjs = dist("synchro.cjs");

  test("the build leaves a code cache that the bin's own compile of the CommonJS bundle accepts", () => {
    const { compileBundle } = createRequire(import.meta.url)(join(repoRoot, pkg.bin.synchro));
    assert.ok(existsSync(`${cjs}.cache`), "the build wrote the cache");
    assert.is(compileBundle().cachedDataRejected, false);
  });

  test("the bin runs with no code cache or one V8 refuses, and says in one line when its bundle is missing", () => {
    // A copy of the bin and its bundle, beside the repository's node_modules, to break at will.
    const t = sandbox();
    try {
      mkdirSync(join(t.root, "pkg", "bin"), { recursive: true });
      mkdirSync(join(t.root, "pkg", "dist"));
      copyFileSync(join(repoRoot, pkg.bin.synchro), join(t.root, "pkg", "bin", "synchro.cjs"));
      for (const f of ["synchro.cjs", "synchro.cjs.cache", "walk-ahead-worker.mjs", "stage-worker.mjs"]) copyFileSync(dist(f), join(t.root, "pkg", "dist", f));
      symlinkSync(join(repoRoot, "node_modules"), join(t.root, "pkg", "node_modules"));
      const bundle = join(t.root, "pkg", "dist", "synchro.cjs");
      const run = () => spawnSync(process.execPath, [join(t.root, "pkg", "bin", "synchro.cjs"), "sync", t.src, t.dst, "--state", t.state, "--json"], { encoding: "utf8" });
      writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" } });
      const cases: [string, () => void][] = [
        ["garbage", () => writeFileSync(`${bundle}.cache`, randomBytes(readFileSync(`${bundle}.cache`).length))],
        ["none", () => rmSync(`${bundle}.cache`)],
      ];
      for (const [what, breakIt] of cases) {
        breakIt();
        rmSync(t.dst, { recursive: true, force: true });
        rmSync(join(t.state, ".."), { recursive: true, force: true });
        const r = run();
        assert.is(r.status, 0, `${what}: ${r.stderr}`);
        assert.is(JSON.parse(r.stdout).counts.create, 2, what);
        assert.is(rsyncDiff(t.src, t.dst), "", what);
      }
      rmSync(bundle);
      const r = run();
      assert.is(r.status, 2);
      assert.match(r.stderr, /^synchro: cannot load .*synchro\.cjs \(ENOENT\); run npm install, or npm run build\n$/);
    } finally {
      t.cleanup();
    }
  });
}

test("on Deno the CLI bundle is one file: copied alone, with no node_modules and only read/write/env permissions, its workers run", () => {
  const t = sandbox("synchro-bundle-");
  try {
    copyFileSync(dist("synchro.mjs"), join(t.root, "synchro.mjs"));
    writeTree(t.src, { "a.txt": "hello", d: { "b.txt": "world" }, e: { "e.txt": "e" }, l: { link: "d/b.txt" } });
    // The workers normally wait for 20,000 entries or 1,000 copies; here every run gets them.
    const env = { ...process.env, NO_COLOR: "1", SYNCHRO_WALK_AHEAD_MIN: "0", SYNCHRO_STAGE_MIN: "0" };
    const run = (...args: string[]) => spawnSync(deno, [...DENO_FLAGS, "synchro.mjs", ...args], { cwd: t.root, encoding: "utf8", env });
    const first = run("sync", "src", "dst", "--state", "state/index.db", "--verbose");
    assert.is(first.status, 0, first.stderr);
    assert.not.match(first.stderr, /Uncaught|Module not found|failed/);
    assert.match(first.stderr, /stage worker staged 3 small copies/);
    assert.is(rsyncDiff(t.src, t.dst), "");
    writeTree(t.src, { "c.txt": "more", e: { "new.txt": "in the worker's half" } });
    const second = run("sync", "src", "dst", "--state", "state/index.db", "--verbose");
    assert.is(second.status, 0, second.stderr);
    assert.not.match(second.stderr, /Uncaught|Module not found|failed/);
    assert.match(second.stderr, /synced in .*: 2 created, 0 updated/, "the index from the first run was used");
    assert.match(second.stderr, /walk-ahead worker listed [1-9]\d* of the directories/);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("on a terminal, the Deno bundle with only read/write/env permissions never stops at a permission prompt", () => {
  if (spawnSync("script", ["--version"]).status !== 0) {
    skip("the Deno bundle on a terminal: `script` (util-linux) is missing");
    return;
  }
  const t = sandbox("synchro-bundle-");
  try {
    copyFileSync(dist("synchro.mjs"), join(t.root, "synchro.mjs"));
    writeTree(t.src, { "a.txt": "hello" });
    // On a terminal Deno asks "Allow? [y/n/A]" for a missing permission and waits: a hang, then a timeout.
    const command = [deno, ...DENO_FLAGS, "synchro.mjs", "sync", "src", "dst", "--state", "state/index.db"].join(" ");
    const r = spawnSync("script", ["-qefc", command, "/dev/null"], { cwd: t.root, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });
    assert.not.match(r.stdout, /Deno requests/);
    assert.is(r.status, 0, r.stdout);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("on Deno with only read/write/env permissions, a replica held by a live run is refused with exit 3, not taken over", async () => {
  const t = sandbox("synchro-bundle-");
  try {
    copyFileSync(dist("synchro.mjs"), join(t.root, "synchro.mjs"));
    writeTree(t.src, { "a.txt": "hello" });
    mkdirSync(t.dst);
    // This test process holds the replica's lock, as a sync would.
    makeMarkerDir(realpathSync(t.dst));
    const held = await tryLock(realpathSync(t.dst), { pid: process.pid, host: "", since: Date.now() });
    assert.ok("lock" in held);
    try {
      const r = spawnSync(deno, [...DENO_FLAGS, "synchro.mjs", "sync", "src", "dst", "--state", t.state], { cwd: t.root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      assert.is(r.status, 3, r.stderr);
      assert.match(r.stderr, `already running (pid ${process.pid})`);
      assert.not.ok(existsSync(join(t.dst, "a.txt")), "the replica was not touched");
    } finally {
      held.lock.release();
    }
  } finally {
    t.cleanup();
  }
});

/** Whether process `pid` holds a POSIX write lock on `file` (SQLite's RESERVED lock is one), as /proc/locks lists them. */
function holdsWriteLock(pid: number, file: string): boolean {
  if (!existsSync(file)) return false;
  const ino = String(statSync(file).ino);
  return readFileSync("/proc/locks", "utf8")
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .some((f) => f[1] === "POSIX" && f[3] === "WRITE" && f[4] === String(pid) && f[5]?.split(":")[2] === ino);
}

test("on Deno with only read/write/env permissions, a run killed with SIGKILL leaves no lock: the next run starts at once", async () => {
  const t = sandbox("synchro-bundle-");
  try {
    copyFileSync(dist("synchro.mjs"), join(t.root, "synchro.mjs"));
    mkdirSync(t.src);
    for (let i = 0; i < 4; i++) writeFileSync(join(t.src, `big${i}.bin`), Buffer.alloc(32 << 20, i));
    const first = spawn(deno, [...DENO_FLAGS, "synchro.mjs", "sync", "src", "dst", "--state", t.state], { cwd: t.root, stdio: "ignore" });
    const lock = join(t.dst, ".synchro", "lock");
    await waitFor(() => holdsWriteLock(first.pid!, lock) || first.exitCode !== null, "the first run to hold the replica's lock", 20_000, 2);
    assert.is(first.exitCode, null, "the first run was still going");
    first.kill("SIGKILL");
    await exited(first);
    const r = spawnSync(deno, [...DENO_FLAGS, "synchro.mjs", "sync", "src", "dst", "--state", t.state], { cwd: t.root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.is(r.status, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("`deno task synchro` runs the bundle, although the deno npm package's binary sits in node_modules/.bin", () => {
  // Deno runs a node_modules/.bin entry as JavaScript (denoland/deno#27114); that entry is the
  // native deno binary here, so the tasks start deno through `env` instead.
  const r = spawnSync(deno, ["task", "synchro", "--version"], { cwd: repoRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, `synchro ${pkg.version}\n`);
});

test("on Deno the library bundle imports alone, with no node_modules, and its workers run", () => {
  const t = sandbox("synchro-bundle-");
  try {
    copyFileSync(dist("index.mjs"), join(t.root, "index.mjs"));
    writeFileSync(join(t.root, "use.mjs"), [
      'import { sync, VERSION } from "./index.mjs";',
      "const debug = [];",
      "const logger = { debug: (m) => debug.push(m), info() {}, warn() {}, error() {} };",
      'const run = () => sync({ source: "src", replica: "dst", state: "state/index.db", logger });',
      "const first = await run();",
      'Deno.writeTextFileSync("src/c.txt", "more");',
      "await run();",
      "console.log(JSON.stringify({ version: VERSION, created: first.counts.create, debug }));",
    ].join("\n"));
    writeTree(t.src, { "a.txt": "hello", "b.txt": "again", d: { "c.txt": "c" }, e: { "e.txt": "e" } });
    const env = { ...process.env, SYNCHRO_WALK_AHEAD_MIN: "0", SYNCHRO_STAGE_MIN: "0" };
    const r = spawnSync(deno, [...DENO_FLAGS, "use.mjs"], { cwd: t.root, encoding: "utf8", env });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stderr, "");
    const out = JSON.parse(r.stdout);
    assert.equal([out.version, out.created], [pkg.version, 4]);
    assert.ok(out.debug.some((m: string) => /stage worker staged 4 small copies/.test(m)), out.debug.join("\n"));
    assert.ok(out.debug.some((m: string) => /walk-ahead worker listed [1-9]/.test(m)), out.debug.join("\n"));
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("on Deno the TypeScript sources, not built, run without their workers and print nothing of them", () => {
  // What `deno.json` exports, from a checkout where `npm run build` never ran: the workers' files are missing.
  const t = sandbox("synchro-bundle-");
  try {
    mkdirSync(join(t.root, "pkg"));
    cpSync(join(repoRoot, "src"), join(t.root, "pkg", "src"), { recursive: true });
    copyFileSync(join(repoRoot, "package.json"), join(t.root, "pkg", "package.json"));
    symlinkSync(join(repoRoot, "node_modules"), join(t.root, "pkg", "node_modules"));
    writeFileSync(join(t.root, "use.mjs"), [
      'import { sync } from "./pkg/src/index.ts";',
      'const run = () => sync({ source: "src", replica: "dst", state: "state/index.db" });',
      "const first = await run();",
      'Deno.writeTextFileSync("src/c.txt", "more");',
      "const second = await run();",
      "console.log(JSON.stringify([first.counts.create, second.counts.create]));",
    ].join("\n"));
    writeTree(t.src, { "a.txt": "hello", d: { "b.txt": "b" }, e: { "e.txt": "e" } });
    const env = { ...process.env, NO_COLOR: "1", SYNCHRO_WALK_AHEAD_MIN: "0", SYNCHRO_STAGE_MIN: "0" };
    const r = spawnSync(deno, [...DENO_FLAGS, "--node-modules-dir=manual", "use.mjs"], { cwd: t.root, encoding: "utf8", env });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stderr, "");
    assert.equal(JSON.parse(r.stdout), [3, 1]);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test.run();
