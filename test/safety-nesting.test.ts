import { test } from "uvu";
import * as assert from "uvu/assert";
import { skip } from "./fixtures/skip.ts";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, describeTree, rsyncDiff, mkdirSync, symlinkSync, MARKER } from "./fixtures/tree.ts";
import { runCli, syncArgs } from "./fixtures/cli.ts";

type Box = ReturnType<typeof sandbox>;

/**
 * Bind-mounts `from` at `at` (made here), or says why not: a bind mount shows one directory at
 * two paths, with one device and inode, which resolved strings cannot see.
 */
function bind(from: string, at: string): (() => void) | null {
  mkdirSync(at, { recursive: true });
  if (spawnSync("mount", ["--bind", from, at]).status !== 0) return null;
  return () => void spawnSync("umount", ["-l", at]);
}

/** Runs `body` with a bind mount in place, unmounting it after; prints a `skipped` line where mounts are not allowed. */
function withBind(t: Box, from: string, at: string, body: () => void): void {
  const unmount = bind(from, at);
  if (!unmount) {
    skip("this sandbox does not allow bind mounts");
    return;
  }
  try {
    body();
  } finally {
    unmount();
  }
}

const oneLine = (stderr: string): string => {
  const lines = stderr.split("\n").filter((l) => l !== "");
  assert.is(lines.length, 1, stderr);
  return lines[0]!;
};

test("a replica under a bind mount of the source is refused with exit 2 before anything is written", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", d: { "f.txt": "f" } });
    withBind(t, t.src, join(t.root, "b"), () => {
      const before = describeTree(t.src);
      const r = runCli(["sync", t.src, join(t.root, "b", "mirror"), "--state", t.state]);
      assert.is(r.code, 2, r.stderr);
      assert.match(oneLine(r.stderr), /nested/);
      assert.equal(describeTree(t.src), before, "nothing is written into the source");
      assert.not.ok(existsSync(t.state), "no index is made");
    });
  } finally {
    t.cleanup();
  }
});

test("a source under a bind mount of the replica is refused with exit 2 before anything is written", () => {
  const t = sandbox();
  try {
    writeTree(t.dst, { inner: { "a.txt": "a" }, "keep.txt": "k" });
    withBind(t, t.dst, join(t.root, "b"), () => {
      const before = describeTree(t.dst);
      const r = runCli(["sync", join(t.root, "b", "inner"), t.dst, "--state", t.state]);
      assert.is(r.code, 2, r.stderr);
      assert.match(oneLine(r.stderr), /nested/);
      assert.equal(describeTree(t.dst), before);
    });
  } finally {
    t.cleanup();
  }
});

test("an index under a bind mount of the replica is refused with exit 2", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    mkdirSync(t.dst);
    withBind(t, t.dst, join(t.root, "b"), () => {
      const r = runCli(["sync", t.src, t.dst, "--state", join(t.root, "b", "index.db")]);
      assert.is(r.code, 2, r.stderr);
      assert.match(oneLine(r.stderr), /the index .* must not live inside the source or the replica/);
      assert.equal(describeTree(t.dst), {});
    });
  } finally {
    t.cleanup();
  }
});

test("a log file under a bind mount of the source is refused with exit 2", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    withBind(t, t.src, join(t.root, "b"), () => {
      const r = runCli(syncArgs(t, "--log", join(t.root, "b", "synchro.log")));
      assert.is(r.code, 2, r.stderr);
      assert.match(oneLine(r.stderr), /the log file .* must not live inside the source or the replica/);
      assert.not.ok(existsSync(join(t.src, "synchro.log")));
    });
  } finally {
    t.cleanup();
  }
});

/**
 * No start-up check can see this one: neither path lies under the other, yet walking the source
 * reaches the replica. The walk must step over it, or each run copies the replica into itself.
 */
function replicaMountedInSource(env: Record<string, string>): void {
  const t = sandbox();
  try {
    const tree: Record<string, Record<string, string>> = {};
    // Eight forks at the root and the mount last in name order: the walk-ahead worker, when on, claims it first.
    for (const d of ["a", "b", "c", "d", "e", "f", "g", "h"]) tree[d] = { "x.txt": d };
    writeTree(t.src, tree);
    assert.is(runCli(syncArgs(t), { env }).code, 0);
    // The source, but for the replica's own marker seen through the mount: each run takes its lock.
    const sourceTree = () => Object.fromEntries(Object.entries(describeTree(t.src)).filter(([p]) => !p.startsWith(`zz-replica/${MARKER}`)));
    withBind(t, t.dst, join(t.src, "zz-replica"), () => {
      const before = sourceTree();
      const r = runCli(syncArgs(t, "--log", t.log), { env });
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stderr, /zz-replica: is the replica itself \(a mount inside the source\); skipped/);
      assert.equal(sourceTree(), before, "nothing is written into the source through the mount");
      assert.not.ok(existsSync(join(t.dst, "zz-replica")), "the replica is not copied into itself");
      assert.is(readFileSync(join(t.dst, "h", "x.txt"), "utf8"), "h");
      const again = runCli(syncArgs(t, "--full"), { env });
      assert.is(again.code, 0, again.stderr);
      assert.equal(sourceTree(), before);
    });
    // Unmounted, the mount point is an empty folder of the source like any other.
    assert.is(runCli(syncArgs(t), { env }).code, 0);
    assert.is(rsyncDiff(t.src, t.dst), "", "the replica is the source's mirror once the mount is gone");
  } finally {
    t.cleanup();
  }
}

test("the walk steps over a bind mount of the replica inside the source, with a warning naming it", () => {
  replicaMountedInSource({});
});

test("the walk-ahead worker steps over a bind mount of the replica inside the source too", () => {
  replicaMountedInSource({ SYNCHRO_WALK_AHEAD_MIN: "0" });
});

test("a --full run never deletes an index reached through a symlink into the replica: it is refused first", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    mkdirSync(t.dst);
    symlinkSync(t.dst, join(t.root, "link"));
    const r = runCli(["sync", t.src, t.dst, "--state", join(t.root, "link", "index.db"), "--full"]);
    assert.is(r.code, 2, r.stderr);
    assert.match(oneLine(r.stderr), /the index .* must not live inside the source or the replica/);
    assert.equal(describeTree(t.dst), {});
  } finally {
    t.cleanup();
  }
});

test.run();
