import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";

const syncArgs = (t: ReturnType<typeof sandbox>, ...extra: string[]) => ["sync", t.src, t.dst, "--state", t.state, "--json", ...extra];
const counts = (stdout: string) => JSON.parse(stdout).counts as Record<string, number>;

test("a directory renamed in the source is renamed in the replica, not copied again", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { photos: { "1.jpg": "one", "2.jpg": "two", raw: { "3.raw": "three" } }, "other.txt": "x" });
    assert.is(runCli(syncArgs(t)).code, 0);
    renameSync(join(t.src, "photos"), join(t.src, "pictures"));
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    const c = counts(r.stdout);
    assert.equal({ rename: c.rename, create: c.create, delete: c.delete, mkdir: c.mkdir }, { rename: 1, create: 0, delete: 0, mkdir: 0 });
    assert.is(rsyncDiff(t.src, t.dst), "");
    const again = runCli(syncArgs(t));
    assert.is(Object.values(counts(again.stdout)).reduce((a, b) => a + b, 0), 0, "the next run has nothing to do");
  } finally {
    t.cleanup();
  }
});

test("a directory moved aside and refilled under its old name: the old one is renamed, the new one copied, no errors", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { data: { "a.txt": "old a", "b.txt": "old b" } });
    assert.is(runCli(syncArgs(t)).code, 0);
    // "data" sorts before "data.old": the rename that empties the replica's "data" comes after
    // that directory was already checked, and the walk into it must make it again.
    renameSync(join(t.src, "data"), join(t.src, "data.old"));
    mkdirSync(join(t.src, "data"));
    writeFileSync(join(t.src, "data", "a.txt"), "new a");
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    const c = counts(r.stdout);
    assert.equal({ rename: c.rename, create: c.create, error: c.error }, { rename: 1, create: 1, error: 0 });
    assert.is(readFileSync(join(t.dst, "data.old", "a.txt"), "utf8"), "old a");
    assert.is(readFileSync(join(t.dst, "data", "a.txt"), "utf8"), "new a");
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a directory moved into a new directory of its old name is copied there, not renamed into itself", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: { "1.txt": "one", "2.txt": "two" } });
    assert.is(runCli(syncArgs(t)).code, 0);
    renameSync(join(t.src, "a"), join(t.root, "a-moving"));
    mkdirSync(join(t.src, "a"));
    renameSync(join(t.root, "a-moving"), join(t.src, "a", "inner"));
    const r = runCli(syncArgs(t, "--force"));
    assert.is(r.code, 0, r.stderr);
    assert.is(counts(r.stdout).error, 0);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("deletes still apply under a path that one rename emptied and another filled", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: { "a.txt": "a" }, z: { n: { "n1.txt": "n1" } }, d0: { e0: { "k1.txt": "k1", "k2.txt": "k2" } } });
    assert.is(runCli(syncArgs(t)).code, 0);
    // z/n moves away (into a, walked first), then d0 moves into its place...
    renameSync(join(t.src, "z", "n"), join(t.src, "a", "m"));
    renameSync(join(t.src, "d0"), join(t.src, "z", "n"));
    // ...and its e0 is refilled: the old files are gone from the source, so they go from the replica too.
    rmSync(join(t.src, "z", "n", "e0"), { recursive: true });
    mkdirSync(join(t.src, "z", "n", "e0"));
    writeFileSync(join(t.src, "z", "n", "e0", "f0.txt"), "new");
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(counts(r.stdout).rename, 2);
    assert.not.ok(existsSync(join(t.dst, "z", "n", "e0", "k1.txt")), "a file the source no longer has was left in the replica");
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test.run();
