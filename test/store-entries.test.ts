import { test } from "uvu";
import * as assert from "uvu/assert";
import { openStore } from "../src/store/store.ts";
import type { IndexRow } from "../src/plan.ts";
import { sandbox } from "./fixtures/tree.ts";

const row = (name: string, kind: IndexRow["kind"] = "file"): IndexRow => ({
  name, kind, size: 1, mtime: 1, mode: 0o644, ino: 1, ctime: 1, target: null, hash: null, rIno: null, rCtime: null,
});

/** A dir "d" with a child, a grandchild, and siblings whose names sort right around "d/". */
const PATHS: Record<string, IndexRow["kind"]> = {
  d: "dir", "d/a": "file", "d/sub": "dir", "d/sub/b": "file", "d-2": "dir", "d-2/x": "file", "d.x": "file", d0: "file", e: "dir",
};

async function withTree(fn: (store: Awaited<ReturnType<typeof openStore>>, pair: number) => void): Promise<void> {
  const t = sandbox();
  const store = await openStore(t.state, { now: Date.now });
  try {
    const pair = store.pair("/src", "/dst", true)!.id;
    for (const [p, kind] of Object.entries(PATHS)) store.write(() => store.entries.put(pair, p, row(p.split("/").pop()!, kind)));
    store.commit();
    fn(store, pair);
  } finally {
    store.close();
    t.cleanup();
  }
}

const all = (store: Awaited<ReturnType<typeof openStore>>, pair: number): string[] => {
  const out: string[] = [];
  store.entries.forEach(pair, (dir, r) => out.push(dir ? `${dir}/${r.name}` : r.name));
  return out.sort();
};

test("removing a dir's row removes its children and deeper rows, and no sibling that shares its prefix", () =>
  withTree((store, pair) => {
    store.write(() => store.entries.remove(pair, "d"));
    store.commit();
    assert.equal(all(store, pair), ["d-2", "d-2/x", "d.x", "d0", "e"]);
  }));

test("counting a subtree counts children and deeper rows only", () =>
  withTree((store, pair) => {
    assert.is(store.entries.countSubtree(pair, "d"), 3);
    assert.is(store.entries.countSubtree(pair, "d-2"), 1);
  }));

test("moving a dir moves its children and deeper rows with it", () =>
  withTree((store, pair) => {
    store.write(() => store.entries.move(pair, "d", "e/renamed"));
    store.commit();
    assert.equal(all(store, pair), ["d-2", "d-2/x", "d.x", "d0", "e", "e/renamed", "e/renamed/a", "e/renamed/sub", "e/renamed/sub/b"]);
  }));

test("a put stores the new facts over a row of the same inode, over one of another inode, and where there was no row", () =>
  withTree((store, pair) => {
    const sameIno = { ...row("a"), size: 7, mtime: 2, ctime: 3, hash: "ab", rIno: 9, rCtime: 4 };
    const newIno = { ...row("x"), ino: 42, size: 8 };
    const absent = { ...row("new"), ino: 43 };
    store.write(() => {
      store.entries.put(pair, "d/a", sameIno);
      store.entries.put(pair, "d-2/x", newIno);
      store.entries.put(pair, "d/new", absent);
    });
    store.commit();
    assert.equal(store.entries.get(pair, "d/a"), sameIno);
    assert.equal(store.entries.get(pair, "d-2/x"), newIno);
    assert.equal(store.entries.get(pair, "d/new"), absent);
    // The inode index follows: rename detection looks rows up by the source's inode.
    assert.equal(store.entries.byIno(pair, 42).map((r) => r.name), ["x"]);
    assert.equal(store.entries.byIno(pair, 43).map((r) => r.name), ["new"]);
    assert.equal(store.entries.byIno(pair, 1).map((r) => r.name).includes("x"), false);
    assert.is(store.entries.count(pair), Object.keys(PATHS).length + 1);
  }));

test.run();
