import { test } from "uvu";
import * as assert from "uvu/assert";
import { compareDir, type CompareInput } from "../src/drift.ts";
import type { IndexRow } from "../src/plan.ts";
import type { Entry } from "../src/walk.ts";

const file = (name: string, over: Partial<Entry> = {}): Entry => ({
  name, kind: "file", size: 10, mtime: 1_000_000_000, mode: 0o644, ino: 100, ctime: 1_000_000_000, target: null, ...over,
});
const dir = (name: string, over: Partial<Entry> = {}): Entry => file(name, { kind: "dir", size: 0, mode: 0o755, ...over });
const link = (name: string, target: string, over: Partial<Entry> = {}): Entry => file(name, { kind: "symlink", size: 0, target, ...over });
/** What the index holds for a replica entry that is still exactly as written: its inode and ctime match. */
const row = (e: Entry, over: Partial<IndexRow> = {}): IndexRow => ({ ...e, ino: 9, ctime: 9, hash: "h", rIno: e.ino, rCtime: e.ctime, ...over });

const compare = (over: Partial<CompareInput>) => {
  const r = compareDir({ dir: "d", replica: [], index: [], isExcluded: () => false, verify: false, ...over });
  return {
    drift: r.drift.map((d) => `${d.kind} ${d.path}`),
    suspects: r.suspects.map((s) => `${s.path}${s.modeDiffers ? " +mode" : ""}`),
    descend: r.descend,
  };
};

test("a replica exactly as written has no drift and costs no hashing", () => {
  const r = compare({ replica: [file("a"), link("l", "a"), dir("sub")], index: [row(file("a")), row(link("l", "a")), row(dir("sub"))] });
  assert.equal(r, { drift: [], suspects: [], descend: ["d/sub"] });
});

test("an indexed entry gone from the replica is missing; a missing directory is reported once and not walked", () => {
  const r = compare({ replica: [], index: [row(file("a")), row(dir("sub"))] });
  assert.equal(r.drift, ["missing d/a", "missing d/sub"]);
  assert.equal(r.descend, []);
});

test("a replica entry the index never wrote is extra, and an extra directory is not walked", () => {
  const r = compare({ replica: [file("stray"), dir("junk")], index: [] });
  assert.equal(r.drift, ["extra d/stray", "extra d/junk"]);
  assert.equal(r.descend, []);
});

test("a different size or mtime is modified", () => {
  assert.equal(compare({ replica: [file("a", { size: 11 })], index: [row(file("a"))] }).drift, ["modified d/a"]);
  assert.equal(compare({ replica: [file("a", { mtime: 5_000_000_000 })], index: [row(file("a"))] }).drift, ["modified d/a"]);
});

test("mtimes within a millisecond are the same, as in the planner", () => {
  assert.equal(compare({ replica: [file("a", { mtime: 1_000_000_999 })], index: [row(file("a"))] }).drift, []);
});

test("a symlink pointing elsewhere is modified", () => {
  assert.equal(compare({ replica: [link("l", "b")], index: [row(link("l", "a"))] }).drift, ["modified d/l"]);
});

test("every change of type is type drift, and a retyped directory is not walked", () => {
  const r = compare({
    replica: [dir("f"), file("d"), link("l2d", "x"), file("l")],
    index: [row(file("f")), row(dir("d")), row(dir("l2d")), row(link("l", "x"))],
  });
  assert.equal(r.drift.sort(), ["type d/d", "type d/f", "type d/l", "type d/l2d"]);
  assert.equal(r.descend, []);
});

test("a changed mode on a file or a directory is mode drift; the directory is still walked", () => {
  const r = compare({ replica: [file("a", { mode: 0o600 }), dir("sub", { mode: 0o700 })], index: [row(file("a")), row(dir("sub"))] });
  assert.equal(r.drift, ["mode d/a", "mode d/sub"]);
  assert.equal(r.descend, ["d/sub"]);
});

test("same size and mtime but a new inode or ctime is suspect: the hash decides", () => {
  assert.equal(compare({ replica: [file("a", { ctime: 2_000_000_000 })], index: [row(file("a"))] }).suspects, ["d/a"]);
  assert.equal(compare({ replica: [file("a", { ino: 7 })], index: [row(file("a"))] }).suspects, ["d/a"]);
  const chmodded = compare({ replica: [file("a", { ctime: 2_000_000_000, mode: 0o600 })], index: [row(file("a"))] });
  assert.equal(chmodded, { drift: [], suspects: ["d/a +mode"], descend: [] });
});

test("--verify makes every same-size same-mtime file suspect", () => {
  assert.equal(compare({ replica: [file("a")], index: [row(file("a"))], verify: true }).suspects, ["d/a"]);
});

test("a row without the replica's inode and ctime is trusted on size and mtime", () => {
  assert.equal(compare({ replica: [file("a", { ctime: 2 })], index: [row(file("a"), { rIno: null, rCtime: null })] }).suspects, []);
});

test("excluded paths are never drift, on either side", () => {
  const isExcluded = (p: string) => p.endsWith(".tmp");
  const r = compare({ replica: [file("x.tmp"), file("a", { size: 3 })], index: [row(file("a")), row(file("gone.tmp"))], isExcluded });
  assert.equal(r.drift, ["modified d/a"]);
});

test("paths at the root have no leading slash", () => {
  assert.equal(compareDir({ dir: "", replica: [file("a")], index: [], isExcluded: () => false, verify: false }).drift, [{ path: "a", kind: "extra" }]);
});

test.run();
