import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, truncateSync, openSync, writeSync, closeSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { sandbox, writeTree, rsyncDiff, rmSync, writeFileSync, mkdirSync, MARKER } from "./fixtures/tree.ts";
import { runCli, exited, waitFor, isDeno, repoRoot } from "./fixtures/cli.ts";

type Box = ReturnType<typeof sandbox>;
const syncArgs = (t: Box, ...extra: string[]) => ["sync", t.src, t.dst, "--state", t.state, "--log", t.log, ...extra];
const lines = (text: string) => text.trim().split("\n").filter((l) => l.trim() !== "");

/** Each replica file's inode and mtime: a recopy (temp file + rename) would change the inode. */
function identity(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of readdirSync(dir, { recursive: true }).map(String).filter((p) => p.split("/")[0] !== MARKER).sort()) {
    const st = lstatSync(join(dir, rel));
    if (st.isFile()) out[rel] = `${st.ino} ${st.mtimeMs}`;
  }
  return out;
}

function syncedTree(t: Box): void {
  const spec: Record<string, string> = {};
  for (let i = 0; i < 30; i++) spec[`f${i}.txt`] = `file ${i} `.repeat(i + 1);
  writeTree(t.src, { a: spec, b: { "big.bin": "x".repeat(3 << 20) }, "top.txt": "top" });
  const r = runCli(syncArgs(t));
  assert.is(r.code, 0, r.stderr);
  // A clean close stamps the index, so the next open skips quick_check: each corruption below
  // must be caught anyway.
  assert.ok(existsSync(`${t.state}.clean`));
}

const corruptions: [string, (file: string) => void][] = [
  ["garbage bytes over the header", (file) => {
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.from("this is not a database, it was overwritten by something ".repeat(4)), 0, undefined, 0);
    closeSync(fd);
  }],
  ["a truncated file", (file) => truncateSync(file, Math.floor(statSync(file).size / 2))],
  ["garbage pages in the middle", (file) => {
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.alloc(8192, 0xa5), 0, undefined, 4096);
    closeSync(fd);
  }],
  // The clean-close stamp is the file's stat: with size and mtime as they were, only its ctime tells.
  ["garbage pages, with the file's mtime put back to the nanosecond", (file) => {
    const ns = statSync(file, { bigint: true }).mtimeNs;
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.alloc(8192, 0xa5), 0, undefined, 4096);
    closeSync(fd);
    const at = `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`;
    assert.is(spawnSync("touch", ["-m", "-d", at, file]).status, 0);
    assert.is(statSync(file, { bigint: true }).mtimeNs, ns);
  }],
];

for (const [what, corrupt] of corruptions) {
  test(`a corrupt index (${what}) is moved aside with a warning and rebuilt without recopying or losing anything`, () => {
    const t = sandbox();
    try {
      syncedTree(t);
      const before = identity(t.dst);
      corrupt(t.state);
      const r = runCli(syncArgs(t, "--json"));
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stderr, /the index was unreadable .*; moved it to .*index\.db\.corrupt-\S+ and rebuilding from both trees/);
      const aside = readdirSync(dirname(t.state)).filter((n) => /^index\.db\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/.test(n));
      assert.is(aside.length, 1, readdirSync(dirname(t.state)).join(", "));
      const summary = JSON.parse(r.stdout);
      assert.is(summary.full, true);
      assert.is(summary.counts.create, 0, "nothing recopied");
      assert.is(summary.counts.update, 0, "nothing recopied");
      assert.is(summary.counts.delete + summary.counts.rmdir, 0, "nothing lost");
      assert.is(summary.counts.adopt, 32, "every file adopted");
      assert.equal(identity(t.dst), before);
      assert.is(rsyncDiff(t.src, t.dst), "");
      // The rebuilt index is a working one: the next run walks the source only and finds nothing to do.
      const next = runCli(syncArgs(t, "--json"));
      assert.is(next.code, 0, next.stderr);
      assert.is(JSON.parse(next.stdout).full, false);
      assert.equal(identity(t.dst), before);
    } finally {
      t.cleanup();
    }
  });
}

/** A child process holding the index with an exclusive lock, on the runtime running the tests. */
async function holdLock(file: string, mode: "exclusive" | "write") {
  const sql = mode === "exclusive"
    ? "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (x); COMMIT; BEGIN EXCLUSIVE; INSERT INTO held VALUES (1);"
    : "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS held (x); INSERT INTO held VALUES (1);";
  const script = isDeno
    ? `import { DatabaseSync } from "node:sqlite"; const db = new DatabaseSync(${JSON.stringify(file)}); db.exec(${JSON.stringify(sql)}); console.log("locked"); setInterval(() => {}, 1000);`
    : `const D = require("better-sqlite3"); const db = new D(${JSON.stringify(file)}); db.exec(${JSON.stringify(sql)}); console.log("locked"); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, isDeno ? ["eval", script] : ["-e", script], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  await waitFor(() => out.includes("locked"), "the lock holder");
  return { release: async () => (child.kill("SIGKILL"), await exited(child)) };
}

for (const mode of ["exclusive", "write"] as const) {
  test(`an index locked by another process (${mode} lock) is one clear line and a non-zero exit`, async () => {
    const t = sandbox();
    try {
      syncedTree(t);
      writeFileSync(join(t.src, "new.txt"), "new");
      const holder = await holdLock(t.state, mode);
      let r;
      try {
        r = runCli(syncArgs(t));
      } finally {
        await holder.release();
      }
      assert.is(r.code, 2, r.stderr);
      assert.is(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /^synchro: the index .*index\.db is locked by another process/);
      assert.not.ok(existsSync(join(t.dst, "new.txt")));
      const after = runCli(syncArgs(t));
      assert.is(after.code, 0, after.stderr);
      assert.is(rsyncDiff(t.src, t.dst), "");
    } finally {
      t.cleanup();
    }
  });
}

test("an unwritable log file at start is exit 2, one line, and nothing is created", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    mkdirSync(join(t.root, "logdir"));
    writeFileSync(join(t.root, "plainfile"), "");
    for (const log of [join(t.root, "logdir"), join(t.root, "plainfile", "synchro.log")]) {
      const r = runCli(["sync", t.src, t.dst, "--state", t.state, "--log", log]);
      assert.is(r.code, 2, r.stderr);
      assert.is(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /cannot write the log file/);
      assert.not.ok(existsSync(t.dst));
      assert.not.ok(existsSync(t.state));
    }
  } finally {
    t.cleanup();
  }
});

test.run();
