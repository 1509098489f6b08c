import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, describeTree, rsyncDiff, rmSync, writeFileSync, type Spec } from "./fixtures/tree.ts";
import { runCli, syncArgs, syncJson } from "./fixtures/cli.ts";

/** `n` files named f0.. with distinct contents. */
const files = (n: number, prefix = "f"): Spec => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, `${prefix}${i} content`]));

test("over the limit, a directory replacement and plain deletes are refused together: nothing is deleted or replaced", () => {
  const t = sandbox();
  try {
    // 108 replica entries: big/ and its 61 files, 40 files at the top, and keep/ with 5.
    writeTree(t.src, { big: files(61), ...files(40, "top"), keep: files(5) });
    assert.is(runCli(syncArgs(t)).code, 0);
    const before = describeTree(t.dst);
    rmSync(join(t.src, "big"), { recursive: true });
    writeFileSync(join(t.src, "big"), "a file where a folder of 61 files stood");
    for (let i = 0; i < 5; i++) rmSync(join(t.src, `top${i}`));

    const dry = syncJson(t, "--dry-run", "--max-delete", "30");
    const planned = dry.summary.plan.filter((p: { action: string }) => p.action === "delete" || p.action === "rmdir");
    assert.is(planned.length, 62 + 5, "the dry run lists every deletion, the replaced folder's too");
    assert.match(dry.stderr, /refusing to delete 67/, "the dry run predicts the refusal");

    const r = runCli(syncArgs(t, "--max-delete", "30"));
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /refusing to delete 67 of \d+ replica entries/);
    const after = describeTree(t.dst);
    for (const [path, what] of Object.entries(before)) assert.is(after[path], what, `${path} was kept as it was`);
  } finally {
    t.cleanup();
  }
});

test("three directories replaced by files, over the limit together: none of them is emptied", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: files(20), b: files(20), c: files(20), rest: files(40) });
    assert.is(runCli(syncArgs(t)).code, 0);
    for (const d of ["a", "b", "c"]) {
      rmSync(join(t.src, d), { recursive: true });
      writeFileSync(join(t.src, d), `${d} is a file now`);
    }
    const r = runCli(syncArgs(t, "--max-delete", "30"));
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /refusing to delete 63 of \d+ replica entries/);
    for (const d of ["a", "b", "c"]) assert.ok(statSync(join(t.dst, d)).isDirectory(), `${d}/ is still a folder`);
    const forced = runCli(syncArgs(t, "--max-delete", "63"));
    assert.is(forced.code, 0, forced.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("--max-delete 100% never refuses, also a directory replacement on a first run", () => {
  const t = sandbox();
  try {
    writeTree(t.dst, { d: files(10) });
    writeTree(t.src, { d: "a file where the replica has a folder" });
    const r = runCli(syncArgs(t, "--max-delete", "100%"));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a refused first run into a folder synchro never saw overwrites nothing: the decision comes before the first write", () => {
  const t = sandbox();
  try {
    writeTree(t.dst, { precious: files(100), f1: "the user's own f1", f2: "the user's own f2", f3: "the user's own f3" });
    writeTree(t.src, files(10));
    const before = describeTree(t.dst);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /refusing to delete 101 of \d+ replica entries/);
    assert.is(readFileSync(join(t.dst, "f1"), "utf8"), "the user's own f1");
    assert.equal(describeTree(t.dst), before, "the refused run changed nothing in the replica");
  } finally {
    t.cleanup();
  }
});

test.run();
