import { test } from "uvu";
import * as assert from "uvu/assert";
import { lstatSync, statSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, describeTree, rsyncDiff, chmodSync, rmSync, writeFileSync, symlinkSync, utimesSync } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";

type Box = ReturnType<typeof sandbox>;
const syncArgs = (t: Box, ...extra: string[]) => ["sync", t.src, t.dst, "--state", t.state, ...extra];

/** Everything about the outside folder that a write, chmod or delete through a link would change. */
function snapshot(dir: string) {
  const st = statSync(dir);
  return { tree: describeTree(dir), mode: st.mode, mtime: st.mtimeMs };
}

function setup(t: Box) {
  const outside = join(t.root, "outside");
  writeTree(outside, { "victim.txt": "outside content", "other.txt": "keep me", sub: { "deep.txt": "deep" } });
  chmodSync(join(outside, "victim.txt"), 0o600);
  utimesSync(join(outside, "victim.txt"), 1_000_000, 1_000_000);
  writeTree(t.src, {
    d: { "x.txt": "x", "other.txt": "replica's other", "gone.txt": "g", sub: { "deep.txt": "replica deep" } },
    "changed.txt": "v1",
    "chmodded.txt": "c",
    "deleted.txt": "d",
    "still.txt": "s",
  });
  const r = runCli(syncArgs(t));
  assert.is(r.code, 0, r.stderr);
  return outside;
}

test("a replica dir replaced by a symlink to an outside dir is never written through, and is repaired", () => {
  const t = sandbox();
  try {
    const outside = setup(t);
    rmSync(join(t.dst, "d"), { recursive: true });
    symlinkSync(outside, join(t.dst, "d"));
    const before = snapshot(outside);
    // Changes below d: a new file, a changed file of a name the outside dir also has, a delete, a mode change.
    writeFileSync(join(t.src, "d", "new.txt"), "new");
    writeFileSync(join(t.src, "d", "other.txt"), "replica's other, changed");
    rmSync(join(t.src, "d", "gone.txt"));
    chmodSync(join(t.src, "d", "sub"), 0o700);
    chmodSync(join(t.src, "d"), 0o750);
    const r = runCli(syncArgs(t));
    assert.ok(r.code === 0, r.stderr);
    assert.equal(snapshot(outside), before);
    assert.ok(lstatSync(join(t.dst, "d")).isDirectory());
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a replica dir replaced by a symlink is not followed when the source deletes that dir", () => {
  const t = sandbox();
  try {
    const outside = setup(t);
    rmSync(join(t.dst, "d"), { recursive: true });
    symlinkSync(outside, join(t.dst, "d"));
    const before = snapshot(outside);
    rmSync(join(t.src, "d"), { recursive: true });
    const r = runCli(syncArgs(t, "--force"));
    assert.is(r.code, 0, r.stderr);
    assert.equal(snapshot(outside), before);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("replica files replaced by symlinks to an outside file are never written, chmod'ed or deleted through", () => {
  const t = sandbox();
  try {
    const outside = setup(t);
    const victim = join(outside, "victim.txt");
    for (const name of ["changed.txt", "chmodded.txt", "deleted.txt", "still.txt"]) {
      rmSync(join(t.dst, name));
      symlinkSync(victim, join(t.dst, name));
    }
    const before = snapshot(outside);
    writeFileSync(join(t.src, "changed.txt"), "v2, longer");
    chmodSync(join(t.src, "chmodded.txt"), 0o604);
    rmSync(join(t.src, "deleted.txt"));
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.equal(snapshot(outside), before);
    assert.is(readFileSync(join(t.dst, "changed.txt"), "utf8"), "v2, longer");
    assert.ok(lstatSync(join(t.dst, "chmodded.txt")).isFile());
    assert.is(lstatSync(join(t.dst, "chmodded.txt")).mode & 0o777, 0o604);
    // An untouched file is not looked at by a normal run (it trusts the index); --full repairs it.
    const full = runCli(syncArgs(t, "--full"));
    assert.is(full.code, 0, full.stderr);
    assert.equal(snapshot(outside), before);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test.run();
