import { test } from "uvu";
import * as assert from "uvu/assert";
import { renameSync } from "node:fs";
import { join } from "node:path";
import { sync } from "../src/index.ts";
import { startWalkAhead } from "../src/walk-ahead.ts";
import { loadHasher } from "../src/hash.ts";
import { digestSalt, listingDigest } from "../src/digest.ts";
import { listDir } from "../src/walk.ts";
import { sandbox, writeTree, rsyncDiff, writeFileSync, rmSync, mkdirSync } from "./fixtures/tree.ts";

const tree = {
  a: { "1.txt": "1", a2: { "x.txt": "x" } },
  b: { "2.txt": "2" },
  c: { "3.txt": "3", c2: { c3: { "deep.txt": "d" } }, skip: { "s.txt": "s" } },
  d: { "4.txt": "4" },
};

test("the worker lists its half of the tree in the order asked, and tells unchanged directories by digest", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, tree);
    await loadHasher();
    const salt = digestSalt(["skip/"]);
    // c2 is unchanged; c and c2/c3 have no digest or a stale one.
    const digests = new Map([["c/c2", listingDigest(salt, listDir(join(t.src, "c", "c2")).entries)], ["c/c2/c3", "stale"]]);
    const ahead = startWalkAhead({ source: t.src, salt, digests, excludes: ["skip/"], isExcluded: (p) => p.endsWith("skip"), indexed: 1e9 });
    assert.ok(ahead, "a tree that forks at the root gets a worker");
    try {
      assert.ok(ahead.owns("c") && ahead.owns("c/c2/c3") && ahead.owns("d"));
      assert.not.ok(ahead.owns("a") || ahead.owns("b") || ahead.owns("") || ahead.owns("cc"));
      const c = await ahead.take("c");
      assert.ok(c && !c.clean);
      assert.equal(c.clean ? [] : c.listing.entries.map((e) => e.name), ["3.txt", "c2", "skip"]);
      const c2 = await ahead.take("c/c2");
      assert.ok(c2?.clean, "a listing that hashes to its digest");
      assert.equal(c2.clean ? c2.subdirs.map((e) => e.name) : [], ["c3"]);
      const c3 = await ahead.take("c/c2/c3");
      assert.ok(c3 && !c3.clean);
      // The excluded "c/skip" is never listed; d comes next.
      const d = await ahead.take("d");
      assert.ok(d && !d.clean);
      assert.is(await ahead.take("d"), null, "each result is given once");
    } finally {
      ahead.close();
    }
  } finally {
    t.cleanup();
  }
});

test("small trees get no worker: its start-up would cost more than it saves", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, tree);
    assert.is(startWalkAhead({ source: t.src, salt: "", digests: new Map(), excludes: [], isExcluded: () => false, indexed: 10 }), null);
  } finally {
    t.cleanup();
  }
});

test("re-syncs through the worker converge on every kind of change, in both halves of the tree", async () => {
  const t = sandbox();
  const before = process.env.SYNCHRO_WALK_AHEAD_MIN;
  process.env.SYNCHRO_WALK_AHEAD_MIN = "0";
  try {
    writeTree(t.src, tree);
    const opts = { source: t.src, replica: t.dst, state: t.state };
    await sync(opts);
    await sync(opts);
    writeFileSync(join(t.src, "a", "1.txt"), "one");
    writeFileSync(join(t.src, "d", "4.txt"), "four");
    mkdirSync(join(t.src, "c", "c2", "new", "deeper"), { recursive: true });
    writeFileSync(join(t.src, "c", "c2", "new", "deeper", "n.txt"), "n");
    rmSync(join(t.src, "b"), { recursive: true });
    renameSync(join(t.src, "c", "c2", "c3"), join(t.src, "d", "moved"));
    const s = await sync(opts);
    assert.is(s.result, "ok");
    assert.is(s.counts.update, 2);
    assert.is(s.counts.rename, 1);
    assert.is(rsyncDiff(t.src, t.dst), "");
    const again = await sync(opts);
    assert.equal(again.counts, { ...again.counts, create: 0, update: 0, delete: 0, mkdir: 0, rmdir: 0, rename: 0, meta: 0 });
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    if (before === undefined) delete process.env.SYNCHRO_WALK_AHEAD_MIN;
    else process.env.SYNCHRO_WALK_AHEAD_MIN = before;
    t.cleanup();
  }
});

test.run();
