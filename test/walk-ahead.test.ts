import { test } from "uvu";
import * as assert from "uvu/assert";
import { skip } from "./fixtures/skip.ts";
import { renameSync } from "node:fs";
import { join } from "node:path";
import { sync } from "../src/index.ts";
import { startWalkAhead, warmWalkAhead } from "../src/walk-ahead.ts";
import { digestSalt, listingDigest } from "../src/digest.ts";
import { MARKER_EXCLUDE } from "../src/config.ts";
import { openStore } from "../src/store/store.ts";
import { dirIdOf, listDir } from "../src/walk.ts";
import { spawnSync } from "node:child_process";
import { sandbox, writeTree, rsyncDiff, writeFileSync, rmSync, mkdirSync } from "./fixtures/tree.ts";
import { digestLies } from "./fixtures/digests.ts";

const tree = {
  a: { "1.txt": "1", a2: { "x.txt": "x" } },
  b: { "2.txt": "2" },
  c: { "3.txt": "3", c2: { c3: { "deep.txt": "d" } }, skip: { "s.txt": "s" } },
  d: { "4.txt": "4" },
  // Eight forks at the root: fewer would be cut one level further (see the last test).
  e: {},
  f: {},
  g: {},
  h: {},
};

test("a worker left to itself claims every root from the last, lists each in the order asked, and tells unchanged directories by digest", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, tree);
    const salt = digestSalt(["skip/"]);
    // c2 is unchanged; c and c2/c3 have no digest or a stale one.
    const digests = new Map([["c/c2", listingDigest(salt, listDir(join(t.src, "c", "c2")).entries)], ["c/c2/c3", "stale"]]);
    const ahead = startWalkAhead({ source: t.src, salt, digests, excludes: ["skip/"], isExcluded: (p) => p.endsWith("skip"), indexed: 1e9, prints: () => new Map() });
    assert.ok(ahead, "a tree that forks at the root gets a worker");
    try {
      // The main thread enters no root before the worker is done: the worker takes them all.
      await ahead.finished;
      assert.match(ahead.summary(), /under 8 of 8 subtrees/);
      assert.ok(ahead.owns("a") && ahead.owns("c") && ahead.owns("c/c2/c3") && ahead.owns("d"));
      assert.not.ok(ahead.owns("") || ahead.owns("cc"));
      const c = await ahead.take("c");
      assert.ok(c && !c.clean);
      assert.equal("listing" in c ? c.listing.entries.map((e) => e.name) : [], ["3.txt", "c2", "skip"]);
      const c2 = await ahead.take("c/c2");
      assert.ok(c2?.clean, "a listing that hashes to its digest");
      assert.equal(c2.clean ? c2.subdirs.map((e) => e.name) : [], ["c3"]);
      const c3 = await ahead.take("c/c2/c3");
      assert.ok(c3 && !c3.clean);
      // The excluded "c/skip" is never listed.
      assert.is(await ahead.take("c/skip"), null, "a directory the worker did not list in a finished root is not waited for");
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

test("a root the main thread enters first is the main thread's, and the worker stops where they meet", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, tree);
    const ahead = startWalkAhead({ source: t.src, salt: "", digests: new Map(), excludes: [], isExcluded: () => false, indexed: 1e9, prints: () => new Map() });
    assert.ok(ahead);
    try {
      // The worker needs milliseconds to start; these claims take microseconds.
      for (const root of ["a", "b", "c", "d", "e", "f", "g", "h"]) assert.not.ok(ahead.owns(root), root);
      assert.not.ok(ahead.owns("c/c2/c3"), "beneath a root of the main thread's");
      await ahead.finished;
      assert.match(ahead.summary(), /listed 0 of the directories under 0 of 8 subtrees/);
      assert.is(await ahead.take("d"), null);
    } finally {
      ahead.close();
    }
  } finally {
    t.cleanup();
  }
});

test("few forks are cut one level further, so the two threads can meet between small pieces", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { one: { x: { "1": "1" }, y: { "2": "2" } }, two: { z: { "3": "3" }, "f.txt": "f" } });
    const ahead = startWalkAhead({ source: t.src, salt: "", digests: new Map(), excludes: [], isExcluded: () => false, indexed: 1e9, prints: () => new Map() });
    assert.ok(ahead);
    try {
      await ahead.finished;
      assert.match(ahead.summary(), /under 3 of 3 subtrees/);
      assert.not.ok(ahead.owns("one") || ahead.owns("two"), "the directories between the roots are the main thread's");
      assert.ok(ahead.owns("one/x") && ahead.owns("one/y") && ahead.owns("two/z"));
    } finally {
      ahead.close();
    }
  } finally {
    t.cleanup();
  }
});

test("a worker started before its run is handed the run's input, and one never taken stops when closed", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, tree);
    const warm = warmWalkAhead();
    assert.ok(warm);
    const ahead = startWalkAhead({ source: t.src, salt: "", digests: new Map(), excludes: [], isExcluded: () => false, indexed: 1e9, prints: () => new Map(), warm });
    assert.ok(ahead);
    try {
      await ahead.finished;
      assert.match(ahead.summary(), /under 8 of 8 subtrees/);
      const a = await ahead.take("a");
      assert.equal(a && "listing" in a ? a.listing.entries.map((e) => e.name) : [], ["1.txt", "a2"]);
      assert.is(warm.take(), null, "the run took it: a second run starts its own");
    } finally {
      ahead.close();
    }
    const unused = warmWalkAhead();
    assert.ok(unused);
    unused.close();
    assert.is(unused.take(), null, "a closed one is gone");
  } finally {
    t.cleanup();
  }
});

test("the worker steps over the replica where a mount shows it inside the source: no root, no listing", async () => {
  const t = sandbox();
  const mounts: string[] = [];
  try {
    writeTree(t.src, { ...tree, c: { ...tree.c, m: {} }, i: {} });
    writeTree(t.dst, { "replica.txt": "r", deep: { "r2.txt": "r" } });
    for (const at of [join(t.src, "i"), join(t.src, "c", "m")]) {
      if (spawnSync("mount", ["--bind", t.dst, at]).status !== 0) break;
      mounts.push(at);
    }
    if (mounts.length < 2) {
      skip("this sandbox does not allow bind mounts");
      return;
    }
    const avoid = dirIdOf(t.dst);
    assert.ok(avoid);
    const ahead = startWalkAhead({ source: t.src, salt: "", digests: new Map(), excludes: [], isExcluded: () => false, indexed: 1e9, prints: () => new Map(), avoid });
    assert.ok(ahead);
    try {
      await ahead.finished;
      assert.match(ahead.summary(), /under 8 of 8 subtrees/, "the mount at the root is no root");
      assert.not.ok(ahead.owns("i"));
      const c = await ahead.take("c");
      assert.ok(c && "listing" in c);
      assert.equal(c.listing.entries.map((e) => e.name), ["3.txt", "c2", "skip"]);
      assert.equal(c.listing.skipped, [{ name: "m", reason: "replica" }]);
      assert.is(await ahead.take("c/m"), null, "nothing beneath the mount is listed");
      assert.is(await ahead.take("c/m/deep"), null);
    } finally {
      ahead.close();
    }
  } finally {
    for (const at of mounts) spawnSync("umount", ["-l", at]);
    t.cleanup();
  }
});

test("small trees get no worker: its start-up would cost more than it saves", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, tree);
    assert.is(startWalkAhead({ source: t.src, salt: "", digests: new Map(), excludes: [], isExcluded: () => false, indexed: 10, prints: () => new Map() }), null);
  } finally {
    t.cleanup();
  }
});

/** Runs `fn` with these environment variables set, and puts the old values back after. */
async function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void>): Promise<void> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const put = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  put(vars);
  try {
    await fn();
  } finally {
    put(before);
  }
}

// With a limit of 1 the worker holds back after its first listing: it must neither stall the run nor lose a change.
for (const limit of [undefined, "1"]) {
  test(`re-syncs through the worker converge on every kind of change, on both sides of the split (limit ${limit ?? "default"})`, () =>
    withEnv({ SYNCHRO_WALK_AHEAD_MIN: "0", SYNCHRO_WALK_AHEAD_LIMIT: limit }, async () => {
      const t = sandbox();
      try {
        writeTree(t.src, tree);
        const opts = { source: t.src, replica: t.dst, state: t.state };
        await sync(opts);
        await sync(opts);
        writeFileSync(join(t.src, "a", "1.txt"), "one");
        writeFileSync(join(t.src, "d", "4.txt"), "four");
        writeFileSync(join(t.src, "h", "late.txt"), "late");
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
        t.cleanup();
      }
    }));
}

test("for a directory that still has its prints the worker sends only what changed, and the run converges with gone entries among them", () =>
  withEnv({ SYNCHRO_WALK_AHEAD_MIN: "0" }, async () => {
    const t = sandbox();
    try {
      const files = (tag: string) => Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`${tag}${i}.txt`, `${tag} ${i}`]));
      const spec: Record<string, Record<string, string>> = {};
      for (const d of ["a", "b", "c", "d", "e", "f", "g", "h"]) spec[d] = files(d);
      writeTree(t.src, spec);
      await sync({ source: t.src, replica: t.dst, state: t.state });
      for (const d of ["a", "c", "f", "h"]) writeFileSync(join(t.src, d, `${d}3.txt`), "rewritten");
      rmSync(join(t.src, "g", "g5.txt"));
      const store = await openStore(t.state, { now: Date.now });
      const pair = store.pair(t.src, t.dst, false)!;
      const [digests, prints] = [store.entries.digests(pair.id), store.entries.prints(pair.id)];
      store.close();
      // The salt and excludes of the runs that stored these digests and prints.
      const ahead = startWalkAhead({ source: t.src, salt: digestSalt([MARKER_EXCLUDE]), digests, excludes: [MARKER_EXCLUDE], isExcluded: () => false, indexed: 1e9, prints: () => prints });
      assert.ok(ahead);
      try {
        await ahead.finished;
        const a = await ahead.take("a");
        assert.ok(a && "changes" in a, "a changed in part");
        assert.equal(a.changes.changed.map((e) => e.name), ["a3.txt"]);
        assert.equal([a.changes.count, a.changes.unmatched.size], [12, 1], "a3's old print waits for its row");
        const g = await ahead.take("g");
        assert.ok(g && "changes" in g);
        assert.equal([g.changes.changed.length, g.changes.unmatched.size], [0, 1], "g5 is gone: only its row can account for its print");
        assert.ok((await ahead.take("b"))?.clean);
      } finally {
        ahead.close();
      }
      const debug: string[] = [];
      const s = await sync({ source: t.src, replica: t.dst, state: t.state, logger: { debug: (m: string) => debug.push(m), info() {}, warn() {}, error() {} } });
      assert.equal([s.counts.update, s.counts.delete], [4, 1]);
      // a, c, f and h, and the root (only g's entry changed there); g, with a gone entry, is read in full.
      assert.ok(debug.includes("5 changed directories were planned from their changed entries alone"), debug.join("\n"));
      assert.is(rsyncDiff(t.src, t.dst), "");
      assert.equal(await digestLies(t), []);
    } finally {
      t.cleanup();
    }
  }));

test.run();
