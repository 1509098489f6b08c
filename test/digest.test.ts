import { test } from "uvu";
import * as assert from "uvu/assert";
import { lstatSync, readFileSync, renameSync, symlinkSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { sync } from "../src/index.ts";
import { openStore } from "../src/store/store.ts";
import { digestSalt, listingDigest, matchesIndex } from "../src/digest.ts";
import type { IndexRow } from "../src/plan.ts";
import type { Entry } from "../src/walk.ts";
import { sandbox, writeTree, rsyncDiff, writeFileSync, rmSync, utimesSync } from "./fixtures/tree.ts";

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

async function digestsOf(t: ReturnType<typeof sandbox>): Promise<string[]> {
  const store = await openStore(t.state, { now: Date.now });
  try {
    const pair = store.pair(t.src, t.dst, false)!;
    return [...store.entries.digests(pair.id).keys()].sort();
  } finally {
    store.close();
  }
}

test("a re-sync keeps a digest only for directories whose rows match, and a change drops it until the next run", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "top.txt": "t", a: { "1.txt": "1", b: { "2.txt": "2" } }, c: { "3.txt": "3" } });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.equal(await digestsOf(t), ["", "a", "a/b", "c"]);
    writeFileSync(join(t.src, "a", "b", "2.txt"), "two");
    const s = await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.is(s.counts.update, 1);
    // Only a/b's rows changed: rewriting a file leaves its directory's mtime, so a still lists the same.
    assert.equal(await digestsOf(t), ["", "a", "c"]);
    writeFileSync(join(t.src, "a", "b", "new.txt"), "n");
    await sync({ source: t.src, replica: t.dst, state: t.state });
    // A new name moves a/b's mtime, which is in a's listing.
    assert.equal(await digestsOf(t), ["", "c"]);
    await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.equal(await digestsOf(t), ["", "a", "a/b", "c"]);
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
    const s = await sync({ source: t.src, replica: t.dst, state: t.state });
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
