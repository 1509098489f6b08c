import { test } from "uvu";
import * as assert from "uvu/assert";
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { listDir } from "../src/walk.ts";
import { sandbox, writeTree, rmSync } from "./fixtures/tree.ts";

const tree = { "a.txt": "a", "b.bin": "bbbb", sub: { "c.txt": "c" }, link: { link: "a.txt" }, dangling: { link: "nowhere" } };

test("listing from inside a directory gives what listing by full paths gives, and returns to the directory it was given", () => {
  const t = sandbox();
  const home = process.cwd();
  try {
    writeTree(t.src, tree);
    const byPath = listDir(t.src);
    assert.equal(byPath.entries.map((e) => e.name), ["a.txt", "b.bin", "dangling", "link", "sub"]);
    assert.equal(byPath.entries.find((e) => e.name === "link")?.target, "a.txt");
    const inside = listDir(t.src, undefined, home);
    assert.equal(inside, byPath);
    assert.is(process.cwd(), home);
    // Another directory to come back to: the one given is where the call ends, whatever it began in.
    const other = realpathSync(t.root);
    assert.equal(listDir(join(t.src, "sub"), undefined, other), listDir(join(t.src, "sub")));
    assert.is(process.cwd(), other);
  } finally {
    process.chdir(home);
    t.cleanup();
  }
});

test("a directory to return to that is gone changes no listing, and a directory gone is an error as before", () => {
  const t = sandbox();
  const home = process.cwd();
  try {
    writeTree(t.src, tree);
    // A directory to come back to that is gone: the listing is still right, from wherever it ends.
    const gone = join(t.root, "gone");
    writeTree(gone, {});
    rmSync(gone, { recursive: true });
    assert.equal(listDir(t.src, undefined, gone), listDir(t.src));
    // Not inside the source, which the process would then hold busy.
    assert.is(process.cwd(), "/");
    process.chdir(home);
    const missing = listDir(join(t.src, "missing"), undefined, home);
    assert.is(missing.error?.code, "ENOENT");
    assert.is(process.cwd(), home);
  } finally {
    process.chdir(home);
    t.cleanup();
  }
});

test.run();
