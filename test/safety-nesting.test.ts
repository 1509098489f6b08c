import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, describeTree, rsyncDiff, mkdirSync } from "./fixtures/tree.ts";
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
    console.log("  (skipped: this sandbox does not allow bind mounts)");
    return;
  }
  try {
    body();
  } finally {
    unmount();
  }
}

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
    withBind(t, t.dst, join(t.src, "zz-replica"), () => {
      const before = describeTree(t.src);
      const r = runCli(syncArgs(t, "--log", t.log), { env });
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stderr, /zz-replica: is the replica itself \(a mount inside the source\); skipped/);
      assert.equal(describeTree(t.src), before, "nothing is written into the source through the mount");
      assert.not.ok(existsSync(join(t.dst, "zz-replica")), "the replica is not copied into itself");
      assert.is(readFileSync(join(t.dst, "h", "x.txt"), "utf8"), "h");
      const again = runCli(syncArgs(t, "--full"), { env });
      assert.is(again.code, 0, again.stderr);
      assert.equal(describeTree(t.src), before);
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

test.run();
