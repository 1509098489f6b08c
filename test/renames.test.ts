import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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

test.run();
