import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, describeTree, rsyncDiff, rmSync, writeFileSync, mkdirSync, symlinkSync } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";
import { openDatabase } from "../src/store/db.ts";
import { skip } from "./fixtures/skip.ts";

type Box = ReturnType<typeof sandbox>;
const syncArgs = (t: Box, ...extra: string[]) => ["sync", t.src, t.dst, "--state", t.state, ...extra];
const STAMP = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/;

function start(t: Box): void {
  writeTree(t.src, { "a.txt": "a v1", d: { "b.txt": "b v1", "c.txt": "c" }, e: { "inner.txt": "inner" }, "same.txt": "same" });
  const r = runCli(syncArgs(t));
  assert.is(r.code, 0, r.stderr);
}

function change(t: Box): void {
  writeFileSync(join(t.src, "a.txt"), "a v2");
  rmSync(join(t.src, "d", "b.txt"));
  rmSync(join(t.src, "e"), { recursive: true });
  writeFileSync(join(t.src, "e"), "e is a file now");
}

test("--backup-dir: an update of a replica file someone deleted by hand still lands, with nothing to back up", () => {
  const t = sandbox();
  const backups = join(t.root, "versions");
  try {
    start(t);
    rmSync(join(t.dst, "a.txt"));
    writeFileSync(join(t.src, "a.txt"), "a v2, longer");
    const r = runCli(syncArgs(t, "--backup-dir", backups));
    assert.is(r.code, 0, r.stderr);
    assert.is(readFileSync(join(t.dst, "a.txt"), "utf8"), "a v2, longer");
    assert.is(runCli(syncArgs(t, "--backup-dir", backups)).code, 0, "and the next run is clean too");
  } finally {
    t.cleanup();
  }
});

test("--backup-dir: replaced and deleted files move to <dir>/<run stamp>/<path>, and history says where", async () => {
  const t = sandbox();
  const backups = join(t.root, "versions");
  try {
    start(t);
    change(t);
    const r = runCli(syncArgs(t, "--backup-dir", backups));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    const stamps = readdirSync(backups);
    assert.is(stamps.length, 1);
    assert.match(stamps[0]!, STAMP);
    const run = join(backups, stamps[0]!);
    assert.equal(Object.keys(describeTree(run)), ["a.txt", "d", "d/b.txt", "e", "e/inner.txt"]);
    assert.is(readFileSync(join(run, "a.txt"), "utf8"), "a v1");
    assert.is(readFileSync(join(run, "d", "b.txt"), "utf8"), "b v1");
    assert.is(readFileSync(join(run, "e", "inner.txt"), "utf8"), "inner");

    const db = await openDatabase(t.state);
    try {
      const ops = db.prepare("SELECT path, from_path FROM ops WHERE action = 'backup' ORDER BY path").all();
      assert.equal(ops.map((o) => [o.path, o.from_path]), [
        ["a.txt", join(run, "a.txt")],
        ["d/b.txt", join(run, "d", "b.txt")],
        ["e", join(run, "e")],
      ]);
    } finally {
      db.close();
    }
  } finally {
    t.cleanup();
  }
});

test("--keep prunes run folders older than N days and leaves everything else in the backup dir alone", () => {
  const t = sandbox();
  const backups = join(t.root, "versions");
  try {
    start(t);
    writeTree(backups, {
      "2020-01-01T00-00-00-000Z": { "old.txt": "old" },
      "2999-01-01T00-00-00-000Z": { "future.txt": "kept" },
      "my notes": { "n.txt": "not a stamp, not ours" },
    });
    change(t);
    const r = runCli(syncArgs(t, "--backup-dir", backups, "--keep", "30"));
    assert.is(r.code, 0, r.stderr);
    const names = readdirSync(backups).sort();
    assert.not.ok(names.includes("2020-01-01T00-00-00-000Z"), names.join(", "));
    assert.ok(names.includes("2999-01-01T00-00-00-000Z"));
    assert.ok(names.includes("my notes"));
    assert.is(names.filter((n) => STAMP.test(n)).length, 2, "this run's versions are kept");
  } finally {
    t.cleanup();
  }
});

test("a backup dir inside the source is rejected with exit 2 and one line", () => {
  const t = sandbox();
  try {
    start(t);
    change(t);
    // Directly, and through a symlink that points into the source.
    symlinkSync(t.src, join(t.root, "src-link"));
    for (const dir of [join(t.src, "versions"), join(t.root, "src-link", "versions")]) {
      const r = runCli(syncArgs(t, "--backup-dir", dir));
      assert.is(r.code, 2, r.stderr);
      assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /--backup-dir must not be inside the source/);
    }
    assert.not.ok(existsSync(join(t.src, "versions")));
    assert.is(readFileSync(join(t.dst, "a.txt"), "utf8"), "a v1");
  } finally {
    t.cleanup();
  }
});

test("a backup dir inside the replica is excluded from the mirror: kept, never copied over or deleted", () => {
  const t = sandbox();
  const backups = join(t.dst, ".versions");
  try {
    start(t);
    change(t);
    const first = runCli(syncArgs(t, "--backup-dir", backups));
    assert.is(first.code, 0, first.stderr);
    // More changes: the next run must neither delete .versions (absent from the source) nor back it up.
    writeFileSync(join(t.src, "a.txt"), "a v3");
    rmSync(join(t.src, "same.txt"));
    for (const args of [["--backup-dir", backups], ["--backup-dir", backups, "--full"]]) {
      const r = runCli(syncArgs(t, ...args));
      assert.is(r.code, 0, r.stderr);
    }
    const replica = describeTree(t.dst);
    const versions = Object.keys(replica).filter((p) => p === ".versions" || p.startsWith(".versions/"));
    for (const p of versions) delete replica[p];
    assert.equal(replica, describeTree(t.src));
    const stamps = readdirSync(backups).filter((n) => STAMP.test(n));
    assert.is(stamps.length, 2);
    const kept = stamps.flatMap((s) => Object.keys(describeTree(join(backups, s))).map((p) => `${p}`)).sort();
    assert.equal(kept, ["a.txt", "a.txt", "d", "d/b.txt", "e", "e/inner.txt", "same.txt"]);
    assert.not.ok(kept.some((p) => p.includes(".versions")), "a backup is never backed up");
  } finally {
    t.cleanup();
  }
});

test("a backup dir on another file system gets copies (rename cannot cross devices), then the replica entries go", () => {
  const t = sandbox();
  const disk = join(t.root, "disk");
  mkdirSync(disk);
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", disk]).status !== 0) {
    skip("a backup dir on another file system: this sandbox does not allow mounting a tmpfs");
    t.cleanup();
    return;
  }
  const backups = join(t.root, "versions");
  const dst = join(disk, "replica");
  try {
    writeTree(t.src, { "a.txt": "a v1", "b.txt": "b", sub: { "s.txt": "s", l: { link: "../a.txt" } } });
    assert.is(runCli(["sync", t.src, dst, "--state", t.state]).code, 0);
    const before = describeTree(join(dst, "sub"));
    writeFileSync(join(t.src, "a.txt"), "a v2");
    rmSync(join(t.src, "sub"), { recursive: true });
    const r = runCli(["sync", t.src, dst, "--state", t.state, "--backup-dir", backups, "--force"]);
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, dst), "");
    const run = join(backups, readdirSync(backups)[0]!);
    assert.is(readFileSync(join(run, "a.txt"), "utf8"), "a v1");
    assert.equal(describeTree(join(run, "sub")), before, "content, modes, mtimes and links kept");
  } finally {
    spawnSync("umount", [disk]);
    t.cleanup();
  }
});

test.run();
