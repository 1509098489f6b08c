import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, describeTree, rsyncDiff, rmSync, mkdirSync, writeFileSync, replicaNames } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";

type Box = ReturnType<typeof sandbox>;
const syncArgs = (t: Box, ...extra: string[]) => ["sync", t.src, t.dst, "--state", t.state, ...extra];
const lines = (text: string) => text.trim().split("\n").filter((l) => l.trim() !== "");

/** Ten files in one folder, synced once: the index knows 11 replica entries. */
function synced(t: Box): void {
  const spec: Record<string, string> = {};
  for (let i = 0; i < 10; i++) spec[`f${i}`] = `content ${i}`;
  writeTree(t.src, { d: spec });
  const r = runCli(syncArgs(t));
  assert.is(r.code, 0, r.stderr);
}

function removeSourceFiles(t: Box, n: number): void {
  for (let i = 0; i < n; i++) rmSync(join(t.src, "d", `f${i}`));
}

test("a directory replaced by a file counts against the delete limit like any delete", () => {
  const t = sandbox();
  try {
    synced(t);
    rmSync(join(t.src, "d"), { recursive: true });
    writeFileSync(join(t.src, "d"), "a file where a full folder stood");
    const r = runCli(syncArgs(t));
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /--force/);
    assert.is(readdirSync(join(t.dst, "d")).length, 10, "the replica's folder is kept whole");
    const forced = runCli(syncArgs(t, "--force"));
    assert.is(forced.code, 0, forced.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a vanished replica root (an unmounted disk) refuses with exit 3 and writes nothing; --force copies it all again", () => {
  const t = sandbox();
  try {
    synced(t);
    renameSync(t.dst, t.dst + ".unmounted");
    const r = runCli(syncArgs(t));
    assert.is(r.code, 3, r.stderr);
    assert.is(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /replica .* is gone/);
    assert.match(r.stderr, /--force/);
    assert.not.ok(existsSync(t.dst), "the replica root is not recreated on the parent file system");
    const forced = runCli(syncArgs(t, "--force"));
    assert.is(forced.code, 0, forced.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a vanished source root refuses with exit 3, one line naming it and --force, and leaves the replica alone", () => {
  const t = sandbox();
  try {
    synced(t);
    const before = describeTree(t.dst);
    renameSync(t.src, t.src + ".unmounted");
    for (const extra of [[], ["--force"]]) {
      const r = runCli(syncArgs(t, ...extra));
      assert.is(r.code, 3, r.stderr);
      assert.is(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /source .* is gone/);
      assert.match(r.stderr, /--force/);
      assert.equal(describeTree(t.dst), before);
    }
  } finally {
    t.cleanup();
  }
});

test("an emptied source root refuses with exit 3 and one line, and --force mirrors the empty source", () => {
  const t = sandbox();
  try {
    synced(t);
    const before = describeTree(t.dst);
    rmSync(t.src, { recursive: true });
    mkdirSync(t.src);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 3, r.stderr);
    assert.is(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /source .* is empty/);
    assert.match(r.stderr, /--force/);
    assert.equal(describeTree(t.dst), before);
    const forced = runCli(syncArgs(t, "--force"));
    assert.is(forced.code, 0, forced.stderr);
    assert.equal(replicaNames(t.dst), []);
  } finally {
    t.cleanup();
  }
});

test("by default a run deleting more than half the replica refuses with exit 3 and deletes nothing", () => {
  const t = sandbox();
  try {
    synced(t);
    removeSourceFiles(t, 6);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /refusing to delete 6 of \d+ replica entries \(limit 5\).*--force/);
    assert.is(readdirSync(join(t.dst, "d")).length, 10);
    const forced = runCli(syncArgs(t, "--force"));
    assert.is(forced.code, 0, forced.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a deleted directory counts with everything inside it against the limit", () => {
  const t = sandbox();
  try {
    synced(t);
    writeTree(t.src, { keep: { a: "a", b: "b" } });
    assert.is(runCli(syncArgs(t)).code, 0);
    rmSync(join(t.src, "d"), { recursive: true });
    const r = runCli(syncArgs(t));
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /refusing to delete 11 of \d+ replica entries \(limit 7\)/);
    assert.is(readdirSync(join(t.dst, "d")).length, 10);
  } finally {
    t.cleanup();
  }
});

test("a run at the default limit deletes", () => {
  const t = sandbox();
  try {
    synced(t);
    removeSourceFiles(t, 5);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("--max-delete takes a count and a percentage of the replica's entries", () => {
  const t = sandbox();
  try {
    synced(t);
    removeSourceFiles(t, 3);
    assert.is(runCli(syncArgs(t, "--max-delete", "2")).code, 3);
    assert.is(runCli(syncArgs(t, "--max-delete", "20%")).code, 3);
    assert.is(readdirSync(join(t.dst, "d")).length, 10);
    const r = runCli(syncArgs(t, "--max-delete", "30%"));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    removeSourceFiles(t, 0);
    rmSync(join(t.src, "d", "f3"));
    assert.is(runCli(syncArgs(t, "--max-delete", "0")).code, 3);
    assert.is(runCli(syncArgs(t, "--max-delete", "1")).code, 0);
    assert.not.ok(existsSync(join(t.dst, "d", "f3")));
  } finally {
    t.cleanup();
  }
});

test("a bad --max-delete is one line and exit 2", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: "a" });
    for (const bad of ["lots", "-3", "150%", "2.5"]) {
      const r = runCli(syncArgs(t, `--max-delete=${bad}`));
      assert.is(r.code, 2, `${bad}: ${r.stderr}`);
      assert.is(lines(r.stderr).length, 1, r.stderr);
    }
  } finally {
    t.cleanup();
  }
});

test("a first run into a non-empty folder synchro never saw keeps that folder's files (sync ~/docs ~)", () => {
  const t = sandbox();
  try {
    writeTree(t.dst, { ".bashrc": "mine", photos: { "a.jpg": "jpg", "b.jpg": "jpg" }, notes: "n" });
    writeTree(t.src, { "report.txt": "r" });
    const r = runCli(syncArgs(t));
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /refusing to delete 5 of \d+ replica entries/);
    for (const p of [".bashrc", "photos/a.jpg", "photos/b.jpg", "notes"]) assert.ok(existsSync(join(t.dst, p)), p);
    const again = runCli(syncArgs(t));
    assert.is(again.code, 3, "the second run still knows those files are not synchro's: " + again.stderr);
    assert.ok(existsSync(join(t.dst, "photos", "a.jpg")));
    const forced = runCli(syncArgs(t, "--force"));
    assert.is(forced.code, 0, forced.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "", "--force after a refused first run mirrors exactly");
  } finally {
    t.cleanup();
  }
});

test("--dry-run shows what would be deleted, also above the limit, and changes nothing", () => {
  const t = sandbox();
  try {
    synced(t);
    removeSourceFiles(t, 7);
    const before = describeTree(t.dst);
    const r = runCli(syncArgs(t, "--dry-run"));
    assert.is(r.code, 0, r.stderr);
    const deletes = lines(r.stdout).filter((l) => /^\S+\s+delete\s/.test(l));
    assert.equal(deletes.map((l) => l.split(/\s+/).pop()), [0, 1, 2, 3, 4, 5, 6].map((i) => `d/f${i}`));
    assert.match(r.stderr, /refusing to delete 7/);
    assert.equal(describeTree(t.dst), before);
  } finally {
    t.cleanup();
  }
});

test.run();
