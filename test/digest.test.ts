import { test } from "uvu";
import * as assert from "uvu/assert";
import { lstatSync, readFileSync, renameSync, symlinkSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { sync } from "../src/index.ts";
import { openStore } from "../src/store/store.ts";
import { openDatabase } from "../src/store/db.ts";
import { crossOff, diffPrints, digestSalt, listingDigest, listingPrints, matchesIndex } from "../src/digest.ts";
import type { IndexRow } from "../src/plan.ts";
import type { Entry } from "../src/walk.ts";
import type { RunState } from "../src/run.ts";
import { noteRow, storeSettled, track, untrack, walked } from "../src/redigest.ts";
import { sandbox, writeTree, rsyncDiff, writeFileSync, rmSync, utimesSync, chmodSync, forNobody, NOBODY } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";
import { digestLies } from "./fixtures/digests.ts";

const entry = (name: string, over: Partial<Entry> = {}): Entry => ({
  name, kind: "file", size: 10, mtime: 1_700_000_000_000_000, mode: 0o644, ino: 42, ctime: 1_700_000_000_000_000, target: null, ...over,
});
const rowOf = (e: Entry): IndexRow => ({ ...e, hash: "00", rIno: 7, rCtime: 8 });
const none = () => false;

test("a listing digest changes with every fact planning compares, and with the excludes", async () => {
  const salt = digestSalt([]);
  const base = [entry("a"), entry("b", { kind: "symlink", size: 0, target: "a" })];
  const d0 = listingDigest(salt, base);
  assert.is(listingDigest(salt, base.map((e) => ({ ...e }))), d0);
  const variants: Partial<Entry>[] = [{ name: "c" }, { kind: "dir" }, { size: 11 }, { mtime: 1_700_000_000_000_001 }, { mode: 0o600 }, { ino: 43 }, { ctime: 1_700_000_000_000_001 }];
  for (const v of variants) assert.is.not(listingDigest(salt, [entry("a", v), base[1]!]), d0, JSON.stringify(v));
  assert.is.not(listingDigest(salt, [base[0]!, { ...base[1]!, target: "b" }]), d0);
  assert.is.not(listingDigest(salt, [base[0]!]), d0);
  assert.is.not(listingDigest(digestSalt(["*.log"]), base), d0);
  // The name/target separators keep "a" + target "b/c" apart from other splits of the same text.
  assert.is.not(listingDigest(salt, [entry("ab", { target: "c" })]), listingDigest(salt, [entry("a", { target: "bc" })]));
});

test("prints tell which entries changed, by every fact planning compares; other excludes change them all", () => {
  const salt = digestSalt([]);
  const base = [entry("a"), entry("b", { ino: 43 }), entry("l", { kind: "symlink", size: 0, target: "a" })];
  const stored = listingPrints(salt, base);
  assert.is(stored.byteLength, 3 * 8);
  const same = diffPrints(salt, base.map((e) => ({ ...e })), stored)!;
  assert.equal([same.changed, same.unmatched.size], [[], 0]);
  const variants: Partial<Entry>[] = [{ kind: "dir" }, { size: 11 }, { mtime: base[0]!.mtime + 1 }, { mode: 0o600 }, { ino: 44 }, { ctime: base[0]!.ctime + 1 }, { size: 2 ** 40 }];
  for (const v of variants) {
    const d = diffPrints(salt, [{ ...base[0]!, ...v }, base[1]!, base[2]!], stored)!;
    assert.equal(d.changed.map((e) => e.name), ["a"], JSON.stringify(v));
    assert.is(d.unmatched.size, 1, "a's old print is left for its row to cross off");
    assert.ok(crossOff(salt, d, base[0]!), "the old row accounts for it");
    assert.is(d.unmatched.size, 0);
  }
  const retargeted = diffPrints(salt, [base[0]!, base[1]!, { ...base[2]!, target: "b" }], stored)!;
  assert.equal(retargeted.changed.map((e) => e.name), ["l"]);
  const renamed = diffPrints(salt, [{ ...base[0]!, name: "z" }, base[1]!, base[2]!], stored)!;
  assert.equal(renamed.changed.map((e) => e.name), ["z"]);
  assert.not.ok(crossOff(salt, renamed, { ...base[0]!, name: "z" }), "a row of the new name does not account for the old");
  const gone = diffPrints(salt, [base[1]!], stored)!;
  assert.equal([gone.changed.length, gone.unmatched.size], [0, 2], "removed entries leave prints unmatched");
  assert.equal(diffPrints(digestSalt(["*.log"]), base, stored)!.changed.length, 3);
  assert.equal(diffPrints(salt, base, listingPrints(salt, base))!.prints, stored, "a diff gives the listing's own prints");
});

test("matchesIndex wants every field equal, every row listed, and ignores excluded names", () => {
  const list = [entry("a"), entry("b", { ino: 43 })];
  assert.ok(matchesIndex("d", list, list.map(rowOf), none));
  assert.not.ok(matchesIndex("d", list, [rowOf(list[0]!)], none), "a listed name without a row");
  assert.not.ok(matchesIndex("d", [list[0]!], list.map(rowOf), none), "a row the listing lacks");
  // Planning calls a mtime within a millisecond "same"; a digest may not.
  assert.not.ok(matchesIndex("d", list, [rowOf(list[0]!), rowOf({ ...list[1]!, mtime: list[1]!.mtime + 1 })], none));
  assert.not.ok(matchesIndex("d", list, [rowOf(list[0]!), rowOf({ ...list[1]!, ctime: 5 })], none));
  const logs = (path: string) => path.endsWith(".log");
  assert.ok(matchesIndex("d", [...list, entry("x.log")], [...list.map(rowOf), rowOf(entry("y.log"))], logs));
});

/** What src/redigest.ts needs of a run: its followed directories, and a real index to store digests in. */
async function followed(t: ReturnType<typeof sandbox>) {
  const store = await openStore(t.state, { now: Date.now });
  const pair = store.pair(t.src, t.dst, true)!;
  const s = { tracked: new Map(), pair: pair.id, salt: "", cfg: { isExcluded: none }, deps: { store } } as unknown as RunState;
  return { s, digests: () => [...store.entries.digests(pair.id)], close: () => store.close() };
}

test("a followed directory gets its digest back only once every row holds its listing exactly", async () => {
  const t = sandbox();
  const { s, digests, close } = await followed(t);
  try {
    const [a, b, x] = [entry("a"), entry("b", { ino: 43 }), entry("x", { ino: 44 })];
    track(s, "d", "D1", listingPrints("", [a, b]), [b], ["x"]);
    noteRow(s, "d", "b", { ...b, mtime: b.mtime + 1 });
    walked(s, "d", false);
    assert.equal(digests(), [], "b's row holds other facts than the listing (its source changed during the copy)");
    noteRow(s, "d", "b", b);
    noteRow(s, "d", "x", null);
    storeSettled(s);
    assert.equal(digests(), [["d", "D1"]], "settled after the walk: b rewritten, x's delete ran at the end");
    track(s, "e", "E1", listingPrints("", [a]), [a], []);
    walked(s, "e", true);
    storeSettled(s);
    assert.equal(digests(), [["d", "D1"]], "a's copy never landed");
    track(s, "f", "F1", listingPrints("", [a]), [a], []);
    noteRow(s, "f", "a", a);
    noteRow(s, "f", "zz", entry("zz"));
    walked(s, "f", false);
    assert.equal(digests(), [["d", "D1"]], "a row the listing does not name gives up");
    track(s, "g", "G1", listingPrints("", [a, b]), [a, b], []);
    noteRow(s, "g", "a", a);
    noteRow(s, "g", "b", b);
    untrack(s, "");
    walked(s, "g", false);
    assert.equal(digests(), [["d", "D1"]], "rows moved away wholesale give up");
  } finally {
    close();
    t.cleanup();
  }
});

async function digestsOf(t: ReturnType<typeof sandbox>): Promise<string[]> {
  const store = await openStore(t.state, { now: Date.now });
  try {
    const pair = store.pair(t.src, t.dst, false)!;
    return [...store.entries.digests(pair.id).keys()].sort();
  } finally {
    store.close();
  }
}

test("every directory has a digest after the first copy, and a directory a re-sync changed has it back by the run's end", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "top.txt": "t", a: { "1.txt": "1", b: { "2.txt": "2" } }, c: { "3.txt": "3" } });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.equal(await digestsOf(t), ["", "a", "a/b", "c"], "the first copy wrote rows that hold each listing");
    assert.equal(await digestLies(t), []);
    writeFileSync(join(t.src, "a", "b", "2.txt"), "two");
    writeFileSync(join(t.src, "a", "b", "new.txt"), "n");
    rmSync(join(t.src, "c", "3.txt"));
    const s = await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.equal([s.counts.update, s.counts.create, s.counts.delete], [1, 1, 1]);
    assert.equal(await digestsOf(t), ["", "a", "a/b", "c"], "updated, created and deleted, each directory is back");
    assert.equal(await digestLies(t), []);
    const again = await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.equal(again.counts, { ...again.counts, create: 0, update: 0, delete: 0, meta: 0 });
    writeFileSync(join(t.src, "a", "b", "2.txt"), "2 again");
    const later = await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.is(later.counts.update, 1, "a restored digest still misses the next change");
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a re-sync reads only what changed in a directory that still has its prints, and falls back to all of it when entries are gone", async () => {
  const t = sandbox();
  try {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`f${i}.txt`] = `file ${i}`;
    const some = Object.fromEntries(Object.entries(files).slice(0, 8));
    writeTree(t.src, { big: { ...files, sub: { ...some, "s.txt": "s" }, other: { "o.txt": "o" } } });
    const run = () => runCli(["sync", t.src, t.dst, "--state", t.state, "--verbose"]);
    assert.is(run().code, 0);
    writeFileSync(join(t.src, "big", "f3.txt"), "three, rewritten");
    writeFileSync(join(t.src, "big", "new.txt"), "new");
    writeFileSync(join(t.src, "big", "sub", "s.txt"), "s, rewritten");
    const r = run();
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /2 changed directories were planned from their changed entries alone/);
    assert.match(r.stderr, /synced in .*: 1 created, 2 updated, 0 deleted/);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.equal(await digestLies(t), []);
    rmSync(join(t.src, "big", "f7.txt"));
    writeFileSync(join(t.src, "big", "f8.txt"), "eight, rewritten");
    const gone = run();
    assert.is(gone.code, 0, gone.stderr);
    assert.not.match(gone.stderr, /planned from their changed entries alone/, "a gone entry's row must be found: all of big is read");
    assert.match(gone.stderr, /synced in .*: 0 created, 1 updated, 1 deleted/);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.equal(await digestLies(t), []);
  } finally {
    t.cleanup();
  }
});

test("an index of schema 4 is migrated: its digests go, and the next run plans each directory once and stores them with prints", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: { "1.txt": "1" }, b: { "2.txt": "2" } });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    // Back to schema 4 as it stood: digests without prints, in a WITHOUT ROWID table.
    const db = await openDatabase(t.state);
    db.exec(`DROP TABLE digests;
      CREATE TABLE digests (pair INTEGER NOT NULL, dir TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (pair, dir)) WITHOUT ROWID;
      INSERT INTO digests VALUES (1, 'a', 'an old digest'), (1, 'b', 'another');
      PRAGMA user_version = 4;`);
    db.close();
    writeFileSync(join(t.src, "a", "1.txt"), "one");
    const s = await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.is(s.counts.update, 1);
    assert.equal(await digestsOf(t), ["", "a", "b"]);
    assert.equal(await digestLies(t), []);
    const store = await openStore(t.state, { now: Date.now });
    try {
      const pair = store.pair(t.src, t.dst, false)!;
      assert.equal([...store.entries.prints(pair.id).keys()].sort(), ["", "a", "b"]);
    } finally {
      store.close();
    }
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a run with an error leaves no digest where it could not copy or skipped a delete, and the next run finishes both", async () => {
  const t = sandbox();
  forNobody(t);
  const run = () => runCli(["sync", t.src, t.dst, "--state", t.state, "--log", t.log], { uid: NOBODY });
  try {
    writeTree(t.src, { a: { "gone.txt": "g", "stay.txt": "s" }, b: { "x.txt": "x" }, c: { "y.txt": "y" } });
    chmodSync(t.src, 0o755);
    assert.is(run().code, 0);
    rmSync(join(t.src, "a", "gone.txt"));
    writeFileSync(join(t.src, "b", "x.txt"), "changed, then unreadable to the run");
    chmodSync(join(t.src, "b", "x.txt"), 0o000);
    writeFileSync(join(t.src, "c", "y.txt"), "changed");
    const r = run();
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /skipping 1 deletion because this run had 1 error\b/);
    assert.equal(await digestLies(t), []);
    assert.equal(await digestsOf(t), ["", "c"], "a (delete skipped) and b (copy failed) wait for the next run");
    chmodSync(join(t.src, "b", "x.txt"), 0o644);
    assert.is(run().code, 0);
    assert.equal(await digestsOf(t), ["", "a", "b", "c"]);
    assert.equal(await digestLies(t), []);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a rewrite that keeps size and mtime still differs from the digest through its ctime", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { d: { e: { "f.txt": "aaaa" } } });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    const file = join(t.src, "d", "e", "f.txt");
    const { atime, mtime, ctimeMs } = lstatSync(file);
    // Deno reads ctime to the whole second: the rewrite must land in a later one to show there,
    // and the kernel's file clock runs a few ms behind Date.now(), hence the 50 ms margin.
    const nextSecond = (Math.floor(ctimeMs / 1000) + 1) * 1000 + 50;
    while (Date.now() < nextSecond) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(file, "bbbb");
    utimesSync(file, atime, mtime);
    utimesSync(join(t.src, "d", "e"), atime, lstatSync(join(t.src, "d", "e")).mtime);
    const s = await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.is(s.counts.update, 1);
    assert.is(readFileSync(join(t.dst, "d", "e", "f.txt"), "utf8"), "bbbb");
  } finally {
    t.cleanup();
  }
});

test("dropping an exclude misses every digest once, so what it hid is copied", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { d: { "keep.txt": "k", "x.log": "log" } });
    await sync({ source: t.src, replica: t.dst, state: t.state, exclude: "*.log" });
    await sync({ source: t.src, replica: t.dst, state: t.state, exclude: "*.log" });
    // An empty list, not an absent one: the pair remembers its excludes (src/settings.ts).
    const s = await sync({ source: t.src, replica: t.dst, state: t.state, exclude: [] });
    assert.is(s.counts.create, 1);
    assert.is(readFileSync(join(t.dst, "d", "x.log"), "utf8"), "log");
  } finally {
    t.cleanup();
  }
});

test("under a parent that matches its digest, a replica dir replaced by a link is repaired, not written through", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { p: { q: { "f.txt": "f" } } });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    const outside = join(t.root, "outside");
    mkdirSync(outside);
    rmSync(join(t.dst, "p", "q"), { recursive: true });
    symlinkSync(outside, join(t.dst, "p", "q"));
    await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.ok(lstatSync(join(t.dst, "p", "q")).isDirectory());
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.equal(readFileSync(join(t.src, "p", "q", "f.txt"), "utf8"), "f");
    assert.is(lstatSync(outside).isDirectory(), true);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a renamed directory carries its subtree's digests; the next run needs no new ones", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { old: { "a.txt": "a", sub: { "b.txt": "b" } }, other: { "c.txt": "c" } });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    renameSync(join(t.src, "old"), join(t.src, "new"));
    const s = await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.is(s.counts.rename, 1);
    assert.is(s.counts.create, 0);
    assert.ok((await digestsOf(t)).includes("new/sub"));
    assert.not.ok((await digestsOf(t)).some((d) => d.startsWith("old")));
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test.run();
