import { test } from "uvu";
import * as assert from "uvu/assert";
import { planDir, type IndexRow, type PlanInput } from "../src/plan.ts";
import type { Entry } from "../src/walk.ts";

const file = (name: string, over: Partial<Entry> = {}): Entry => ({
  name, kind: "file", size: 10, mtime: 1_000_000_000, mode: 0o644, ino: 100, ctime: 1_000_000_000, target: null, ...over,
});
const dir = (name: string, over: Partial<Entry> = {}): Entry => file(name, { kind: "dir", size: 0, mode: 0o755, ...over });
const link = (name: string, target: string, over: Partial<Entry> = {}): Entry => file(name, { kind: "symlink", size: 0, target, ...over });
const row = (e: Entry, over: Partial<IndexRow> = {}): IndexRow => ({ ...e, hash: "h", rIno: 1, rCtime: 1, ...over });

const plan = (over: Partial<PlanInput>) =>
  planDir({ dir: "", source: [], index: [], replica: null, checksum: false, isExcluded: () => false, ...over }).map((a) => `${a.op} ${a.path}`);

test("a file the index does not know is created", () => {
  assert.equal(plan({ source: [file("a")] }), ["create a"]);
});

test("an unchanged file costs nothing", () => {
  assert.equal(plan({ source: [file("a")], index: [row(file("a"))] }), []);
});

test("a size or mtime change is an update", () => {
  assert.equal(plan({ source: [file("a", { size: 11 })], index: [row(file("a"))] }), ["update a"]);
  assert.equal(plan({ source: [file("a", { mtime: 2_000_000_000 })], index: [row(file("a"))] }), ["update a"]);
});

test("on a scan, a replica file of the same size and mtime is adopted, unless the index saw another inode or ctime on either side: then hashes decide", () => {
  const theirs = file("a", { ino: 900, ctime: 5 });
  const ours = row(file("a"), { rIno: 900, rCtime: 5 });
  assert.equal(plan({ source: [file("a")], replica: [theirs] }), ["adopt a"], "no row: a first run");
  assert.equal(plan({ source: [file("a")], replica: [theirs], index: [ours] }), ["adopt a"]);
  assert.equal(plan({ source: [file("a", { ctime: 2_000_000_000 })], replica: [theirs], index: [ours] }), ["check a"]);
  assert.equal(plan({ source: [file("a", { ino: 101 })], replica: [theirs], index: [ours] }), ["check a"]);
  // The replica's file is not the one synchro wrote: rewritten in place, its mtime put back.
  assert.equal(plan({ source: [file("a")], replica: [file("a", { ino: 900, ctime: 6 })], index: [ours] }), ["check a"]);
  assert.equal(plan({ source: [file("a")], replica: [file("a", { ino: 901, ctime: 5 })], index: [ours] }), ["check a"]);
});

test("mtimes within a millisecond are the same: Deno reads milliseconds, Node microseconds", () => {
  assert.equal(plan({ source: [file("a", { mtime: 1_000_000_999 })], index: [row(file("a"))] }), []);
});

test("a changed ctime with the same size and mtime is confirmed by hash, not copied", () => {
  assert.equal(plan({ source: [file("a", { ctime: 5 })], index: [row(file("a"))] }), ["check a"]);
  assert.equal(plan({ source: [file("a", { ino: 7 })], index: [row(file("a"))] }), ["check a"]);
});

test("--checksum checks every file", () => {
  assert.equal(plan({ source: [file("a")], index: [row(file("a"))], checksum: true }), ["check a"]);
});

test("a mode-only change is a meta fix", () => {
  assert.equal(plan({ source: [file("a", { mode: 0o600 })], index: [row(file("a"))] }), ["meta a"]);
});

test("a path gone from the source is deleted", () => {
  assert.equal(plan({ index: [row(file("a")), row(dir("d"))] }), ["delete a", "delete d"]);
});

test("excluded paths are neither copied nor deleted", () => {
  const isExcluded = (p: string) => p.endsWith(".tmp");
  assert.equal(plan({ source: [file("x.tmp"), file("b")], index: [row(file("y.tmp"))], isExcluded }), ["create b"]);
});

test("type changes replace in every direction", () => {
  assert.equal(plan({ source: [dir("a")], index: [row(file("a"))] }), ["mkdir a"]);
  assert.equal(plan({ source: [file("a")], index: [row(dir("a"))] }), ["create a"]);
  assert.equal(plan({ source: [link("a", "x")], index: [row(file("a"))] }), ["symlink a"]);
  assert.equal(plan({ source: [dir("a")], index: [row(link("a", "x"))] }), ["mkdir a"]);
  const [a] = planDir({ dir: "", source: [file("a")], index: [row(dir("a"))], replica: null, checksum: false, isExcluded: () => false });
  assert.equal(a, { op: "create", path: "a", entry: file("a"), replaces: "dir" });
});

test("a symlink whose target text changed is rewritten; its target is never followed", () => {
  assert.equal(plan({ source: [link("l", "new")], index: [row(link("l", "old"))] }), ["symlink l"]);
  assert.equal(plan({ source: [link("l", "old")], index: [row(link("l", "old"))] }), []);
});

test("existing directories are descended into", () => {
  assert.equal(plan({ source: [dir("d")], index: [row(dir("d"))] }), ["descend d"]);
});

test("paths are joined below the directory", () => {
  assert.equal(plan({ dir: "x/y", source: [file("a")] }), ["create x/y/a"]);
});

test("on a replica scan, a file already identical there is adopted, not copied", () => {
  assert.equal(plan({ source: [file("a")], replica: [file("a", { ino: 9, ctime: 9 })] }), ["adopt a"]);
  assert.equal(plan({ source: [file("a")], replica: [file("a", { size: 3 })] }), ["update a"]);
  assert.equal(plan({ source: [file("a")], replica: [file("a")], checksum: true }), ["check a"]);
});

test("on a replica scan, extras in the replica are deleted and stale index rows forgotten", () => {
  assert.equal(plan({ source: [], replica: [file("x")], index: [row(file("y"))] }), ["delete x", "forget y"]);
});

test("on a replica scan, a replica entry of another type is replaced", () => {
  assert.equal(plan({ source: [file("a")], replica: [dir("a")] }), ["create a"]);
});

test.run();
