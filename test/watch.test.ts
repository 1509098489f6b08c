import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, lstatSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff, rmSync, writeFileSync, mkdirSync } from "./fixtures/tree.ts";
import { startWatch, stopWatch, converged, contentOf } from "./fixtures/watch.ts";
import { waitFor } from "./fixtures/cli.ts";

test("watch mirrors files created, modified and deleted while it runs", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "one", keep: { "k.txt": "k" } });
  const w = await startWatch(t);
  try {
    assert.is(rsyncDiff(t.src, t.dst), "");
    writeFileSync(join(t.src, "b.txt"), "created");
    await waitFor(() => contentOf(join(t.dst, "b.txt")) === "created", "a created file");
    writeFileSync(join(t.src, "a.txt"), "modified, and longer");
    await waitFor(() => contentOf(join(t.dst, "a.txt")) === "modified, and longer", "a modified file");
    rmSync(join(t.src, "b.txt"));
    await waitFor(() => !existsSync(join(t.dst, "b.txt")), "a deleted file");
    await converged(t, "an exact mirror");
    assert.is(await stopWatch(w), 0, w.err());
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("a renamed file and a renamed directory are moved in the replica, not copied again", async () => {
  const t = sandbox();
  writeTree(t.src, { "f.txt": "file body", d: { "inner.txt": "in", sub: { "deep.txt": "deep" } }, other: { "o.txt": "o" } });
  const w = await startWatch(t);
  try {
    const fileIno = statSync(join(t.dst, "f.txt")).ino;
    const dirIno = statSync(join(t.dst, "d")).ino;
    renameSync(join(t.src, "f.txt"), join(t.src, "other", "g.txt"));
    renameSync(join(t.src, "d"), join(t.src, "d2"));
    await converged(t, "both renames");
    assert.is(statSync(join(t.dst, "other", "g.txt")).ino, fileIno);
    assert.is(statSync(join(t.dst, "d2")).ino, dirIno);
    assert.is(contentOf(join(t.dst, "d2", "sub", "deep.txt")), "deep");
    // The moved directory is still watched under its new name.
    writeFileSync(join(t.src, "d2", "sub", "later.txt"), "later");
    await waitFor(() => contentOf(join(t.dst, "d2", "sub", "later.txt")) === "later", "a file in the renamed directory");
    await converged(t, "an exact mirror");
    assert.is(await stopWatch(w), 0, w.err());
    assert.not.match(w.err(), /^synchro: /m, "no error line");
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("a file written right after mkdir -p is mirrored, and so is one written there later", async () => {
  const t = sandbox();
  writeTree(t.src, { "top.txt": "t" });
  const w = await startWatch(t);
  try {
    mkdirSync(join(t.src, "a", "b", "c"), { recursive: true });
    writeFileSync(join(t.src, "a", "b", "c", "f.txt"), "nested");
    await waitFor(() => contentOf(join(t.dst, "a", "b", "c", "f.txt")) === "nested", "the nested file");
    writeFileSync(join(t.src, "a", "b", "c", "g.txt"), "later");
    await waitFor(() => contentOf(join(t.dst, "a", "b", "c", "g.txt")) === "later", "a later file in the new directory");
    await converged(t, "an exact mirror");
    assert.is(await stopWatch(w), 0, w.err());
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("a file replaced by a directory becomes a directory in the replica", async () => {
  const t = sandbox();
  writeTree(t.src, { x: "was a file", y: "stays" });
  const w = await startWatch(t);
  try {
    rmSync(join(t.src, "x"));
    mkdirSync(join(t.src, "x"));
    writeFileSync(join(t.src, "x", "inside.txt"), "now a dir");
    await waitFor(() => contentOf(join(t.dst, "x", "inside.txt")) === "now a dir", "the file inside the new directory");
    assert.ok(lstatSync(join(t.dst, "x")).isDirectory());
    await converged(t, "an exact mirror");
    assert.is(await stopWatch(w), 0, w.err());
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("a burst of 1,000 files all arrive", async () => {
  const t = sandbox();
  writeTree(t.src, { seed: "s" });
  const w = await startWatch(t);
  try {
    for (let i = 0; i < 1000; i++) {
      const dir = join(t.src, `d${i % 10}`);
      if (i < 10) mkdirSync(dir);
      writeFileSync(join(dir, `f${i}.txt`), `content ${i}`);
    }
    await converged(t, "all 1,000 files", 60_000);
    assert.is(await stopWatch(w), 0, w.err());
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("rapid rewrites of one file end with its last content in the replica", async () => {
  const t = sandbox();
  writeTree(t.src, { "hot.txt": "start", "cold.txt": "c" });
  const w = await startWatch(t);
  try {
    for (let i = 0; i < 200; i++) writeFileSync(join(t.src, "hot.txt"), `version ${i} `.repeat((i % 7) + 1));
    const last = `version 199 `.repeat((199 % 7) + 1);
    await waitFor(() => contentOf(join(t.dst, "hot.txt")) === last, "the last version");
    await converged(t, "an exact mirror");
    assert.is(await stopWatch(w), 0, w.err());
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test.run();
