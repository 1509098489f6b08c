import { test } from "uvu";
import * as assert from "uvu/assert";
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { sandbox, writeTree, rsyncDiff, writeFileSync, chmodSync, utimesSync } from "./fixtures/tree.ts";
import { opsDone, syncJson } from "./fixtures/cli.ts";

const TREE = {
  "a.txt": "alpha",
  docs: { "b.md": "bravo", deep: { "c.bin": "c".repeat(200_000) }, empty: {} },
  link: { link: "docs/b.md" },
  dangling: { link: "gone" },
  "big.bin": "z".repeat(2 << 20),
};

test("a second run with no changes does zero operations", () => {
  const t = sandbox();
  try {
    writeTree(t.src, TREE);
    const first = syncJson(t);
    assert.is(first.code, 0, first.stderr);
    assert.ok(first.summary.full, "the first run scans the replica");
    const second = syncJson(t);
    assert.is(second.code, 0, second.stderr);
    assert.not.ok(second.summary.full, "a later run trusts the index");
    assert.is(opsDone(second.summary), 0, JSON.stringify(second.summary.counts));
    assert.is(second.summary.bytes, 0);
  } finally {
    t.cleanup();
  }
});

test("a run after one file changed copies exactly that file", () => {
  const t = sandbox();
  try {
    writeTree(t.src, TREE);
    assert.is(syncJson(t).code, 0);
    writeFileSync(join(t.src, "docs", "deep", "c.bin"), "now different and shorter");
    const r = syncJson(t);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.summary.counts.update, 1);
    assert.is(opsDone(r.summary), 1, JSON.stringify(r.summary.counts));
    assert.is(r.summary.bytes, "now different and shorter".length);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a chmod alone is a meta operation, not a copy", () => {
  const t = sandbox();
  try {
    writeTree(t.src, TREE);
    assert.is(syncJson(t).code, 0);
    chmodSync(join(t.src, "a.txt"), 0o600);
    const r = syncJson(t);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.summary.counts.meta, 1);
    assert.is(opsDone(r.summary), 1, JSON.stringify(r.summary.counts));
    assert.is(r.summary.bytes, 0);
    assert.is(lstatSync(join(t.dst, "a.txt")).mode & 0o777, 0o600);
  } finally {
    t.cleanup();
  }
});

const copiers: [string, (src: string, dst: string) => string[]][] = [
  ["cp -a", (src, dst) => ["cp", "-a", src, dst]],
  ["rsync -a", (src, dst) => ["rsync", "-a", `${src}/`, `${dst}/`]],
];
for (const [tool, args] of copiers) {
  test(`a replica made earlier by ${tool} is adopted without copying anything`, () => {
    const t = sandbox();
    try {
      writeTree(t.src, TREE);
      utimesSync(join(t.src, "docs"), 1_500_000_000, 1_500_000_000);
      const [cmd, ...argv] = args(t.src, t.dst);
      assert.is(spawnSync(cmd!, argv).status, 0);
      const r = syncJson(t);
      assert.is(r.code, 0, r.stderr);
      assert.is(r.summary.bytes, 0);
      const { create, update, symlink, mkdir, delete: del } = r.summary.counts;
      assert.equal([create, update, symlink, mkdir, del], [0, 0, 0, 0, 0], JSON.stringify(r.summary.counts));
      // rsync built without symlink times leaves link mtimes at "now": fixing them is meta, not a copy.
      assert.ok(r.summary.counts.meta <= 2, JSON.stringify(r.summary.counts));
      assert.ok(r.summary.counts.adopt >= 4);
      assert.is(rsyncDiff(t.src, t.dst), "");
      const again = syncJson(t);
      assert.is(opsDone(again.summary), 0, JSON.stringify(again.summary.counts));
    } finally {
      t.cleanup();
    }
  });
}

test.run();
