import { test } from "uvu";
import * as assert from "uvu/assert";
import { closeSync, openSync, statSync, utimesSync, writeSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff, rmSync } from "./fixtures/tree.ts";
import { runCli, syncArgs } from "./fixtures/cli.ts";

const status = (t: ReturnType<typeof sandbox>, ...extra: string[]) => runCli(["status", t.src, t.dst, "--state", t.state, ...extra]);

test("an edit in place that kept size and mtime: status reports it, --full repairs it, status is then in sync", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.bin": "0123456789abcdef".repeat(64), "b.txt": "b" });
    assert.is(runCli(syncArgs(t)).code, 0);
    const file = join(t.dst, "a.bin");
    // Deno reads ctimes to the whole second: an edit in the second of the sync would look untouched
    // there. The kernel stamps ctimes from a coarse clock a few ms behind Date.now(): a margin.
    const next = (Math.floor(Date.now() / 1000) + 1) * 1000 + 100;
    while (Date.now() < next) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    const { atime, mtime } = statSync(file);
    const fd = openSync(file, "r+");
    writeSync(fd, "XXXX", 100);
    closeSync(fd);
    utimesSync(file, atime, mtime);
    const before = status(t);
    assert.is(before.code, 1, before.stdout);
    assert.match(before.stdout, /modified\s+a\.bin/);
    const full = runCli(syncArgs(t, "--full"));
    assert.is(full.code, 0, full.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "", "rsync --checksum finds no difference");
    const after = status(t);
    assert.is(after.code, 0, after.stdout);
    assert.is(status(t, "--verify").code, 0);
  } finally {
    t.cleanup();
  }
});

test("--checksum after a --full run copies a file removed from the replica instead of failing on it", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", "b.txt": "b" });
    assert.is(runCli(syncArgs(t)).code, 0);
    assert.is(runCli(syncArgs(t, "--full")).code, 0);
    rmSync(join(t.dst, "a.txt"));
    const r = runCli(syncArgs(t, "--checksum"));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(runCli(syncArgs(t, "--checksum")).code, 0);
  } finally {
    t.cleanup();
  }
});

test.run();
