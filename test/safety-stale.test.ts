import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { sync } from "../src/index.ts";
import { openStore } from "../src/store/store.ts";
import { execFileSync } from "node:child_process";
import { sandbox, writeTree, rsyncDiff, writeFileSync, rmSync, chmodSync, utimesSync, forNobody, NOBODY } from "./fixtures/tree.ts";
import { isDeno, runCli } from "./fixtures/cli.ts";
import { digestDirs, digestLies } from "./fixtures/digests.ts";

/** Rewrites a file with other bytes of the same length and puts its mtime back, as cp -p or touch -r leave it. */
function rewriteKeepingSizeAndMtime(file: string, content: string): void {
  const { atime, mtime } = statSync(file);
  writeFileSync(file, content);
  utimesSync(file, atime, mtime);
}

test("a file moved and rewritten with its size and mtime kept is copied, not renamed: its old bytes stay behind", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: { "f.txt": "hello world" }, b: {} });
    const opts = { source: t.src, replica: t.dst, state: t.state };
    await sync(opts);
    renameSync(join(t.src, "a", "f.txt"), join(t.src, "b", "f.txt"));
    rewriteKeepingSizeAndMtime(join(t.src, "b", "f.txt"), "HELLO WORLD");
    const s = await sync(opts);
    assert.equal([s.counts.rename, s.counts.create, s.counts.delete], [0, 1, 1]);
    assert.is(readFileSync(join(t.dst, "b", "f.txt"), "utf8"), "HELLO WORLD");
    assert.is(rsyncDiff(t.src, t.dst), "");
    // A plain move is still one rename.
    renameSync(join(t.src, "b", "f.txt"), join(t.src, "a", "f.txt"));
    assert.is((await sync(opts)).counts.rename, 1);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a rescan copies a file whose size and mtime match the replica's but whose ctime moved since the index saw it", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "f.txt": "hello world", "same.txt": "unchanged" });
    const opts = { source: t.src, replica: t.dst, state: t.state };
    await sync(opts);
    // Deno's node:fs gives ctime to the whole second: the rewrite must land in a later one to be
    // seen. File times come from the kernel's coarse clock, a few ms behind Date.now(): hence the margin.
    if (isDeno) await new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));
    rewriteKeepingSizeAndMtime(join(t.src, "f.txt"), "HELLO WORLD");
    const s = await sync({ ...opts, full: true });
    assert.is(s.counts.update, 1, "the hashes differ: copied");
    assert.is(s.counts.adopt, 1, "same.txt is adopted unread");
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a copy that fails in a replica directory remade by hand leaves no row claiming it, and the next run copies it", async () => {
  const t = sandbox();
  forNobody(t);
  const run = () => runCli(["sync", t.src, t.dst, "--state", t.state, "--log", t.log], { uid: NOBODY });
  try {
    writeTree(t.src, { d: { "a.txt": "a", "b.txt": "b" }, "top.txt": "t" });
    chmodSync(t.src, 0o755);
    assert.is(run().code, 0);
    rmSync(join(t.dst, "d"), { recursive: true });
    // Unreadable to the run: the remade directory's copy of a.txt fails.
    chmodSync(join(t.src, "d", "a.txt"), 0o000);
    const failing = run();
    assert.is(failing.code, 1, failing.stderr);
    assert.match(failing.stderr, /d\/a\.txt: reading source: EACCES/);
    chmodSync(join(t.src, "d", "a.txt"), 0o644);
    const next = run();
    assert.is(next.code, 0, next.stderr);
    assert.match(next.stderr, /1 created/);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.equal(await digestLies(t), []);
  } finally {
    t.cleanup();
  }
});

test("a file deleted from the source while a --full run repairs another keeps its row, and the next run deletes its copy", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: "a1", b: "b1" });
    const opts = { source: t.src, replica: t.dst, state: t.state };
    await sync(opts);
    // The replica drifted: the rescan plans an update of each; b goes while a is repaired.
    writeFileSync(join(t.dst, "a"), "a-drift");
    writeFileSync(join(t.dst, "b"), "b-drift");
    const onEvent = (e: { type: string; path?: string }) => {
      if (e.type === "op" && e.path === "a") rmSync(join(t.src, "b"));
    };
    const full = await sync({ ...opts, full: true, onEvent });
    assert.is(full.errors.length, 0, "a vanished file is not the run's error");
    assert.is((await sync(opts)).counts.delete, 1);
    assert.not.ok(existsSync(join(t.dst, "b")));
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a --full run reports a mode change as its dry run does, and a --full --checksum run with nothing to do keeps every digest", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { f: "hello", d0: { x: "0" }, d1: { y: "1" } });
    const opts = { source: t.src, replica: t.dst, state: t.state };
    await sync(opts);
    await sync(opts);
    const all = await digestDirs(t);
    assert.equal(all, ["", "d0", "d1"]);
    await sync({ ...opts, full: true, checksum: true });
    assert.equal(await digestDirs(t), all);
    chmodSync(join(t.src, "f"), 0o600);
    assert.is((await sync({ ...opts, full: true, dryRun: true })).counts.meta, 1);
    assert.is((await sync({ ...opts, full: true })).counts.meta, 1);
    assert.is(statSync(join(t.dst, "f")).mode & 0o777, 0o600);
  } finally {
    t.cleanup();
  }
});

test("a move over a replica adopted from cp -a is checked by content, and its row keeps the hash it took", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: { "f.txt": "hello world" }, b: {} });
    execFileSync("cp", ["-a", t.src, t.dst]);
    const opts = { source: t.src, replica: t.dst, state: t.state };
    assert.is((await sync(opts)).counts.adopt, 1, "adopted unread: its row has no hash");
    renameSync(join(t.src, "a", "f.txt"), join(t.src, "b", "f.txt"));
    assert.is((await sync(opts)).counts.rename, 1);
    const store = await openStore(t.state, { now: Date.now, check: false, readOnly: true });
    try {
      const pair = store.pair(t.src, t.dst, false)!;
      assert.ok(store.entries.get(pair.id, "b/f.txt")?.hash, "the hash read to trust the move is kept");
    } finally {
      store.close();
    }
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test.run();
