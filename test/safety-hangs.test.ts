import { test } from "uvu";
import * as assert from "uvu/assert";
import { skip } from "./fixtures/skip.ts";
import { appendFileSync, existsSync, readFileSync, readdirSync, truncateSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { sandbox, rsyncDiff, mkdirSync } from "./fixtures/tree.ts";
import { runCli, startCli, exited, waitFor, type CliResult } from "./fixtures/cli.ts";

type Box = ReturnType<typeof sandbox>;
const syncArgs = (t: Box) => ["sync", t.src, t.dst, "--state", t.state, "--log", t.log];
const MiB = 1 << 20;
const temps = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((n) => /^\.synchro-.*\.tmp$/.test(n)) : []);

/**
 * Runs the CLI and, as soon as a copy's temporary file shows in the replica, does `meanwhile`.
 * A run that hangs is killed after `limitMs` and reported as such (code null), not left to hang the suite.
 */
async function runWhileCopying(t: Box, meanwhile: () => void, limitMs = 60_000): Promise<CliResult & { hung: boolean }> {
  const child = startCli(syncArgs(t));
  try {
    await waitFor(() => temps(t.dst).length > 0 || child.exitCode !== null, "the copy to start", limitMs, 1);
    meanwhile();
    const timer = new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), limitMs).unref());
    const code = await Promise.race([exited(child), timer]);
    return { code: code === "hung" ? null : code, stdout: child.out(), stderr: child.err(), hung: code === "hung" };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

/**
 * ext4 sets a truncated file's size at once but its mtime only once the blocks are freed (tens
 * of ms for 200 MiB): a copy in between is of the new content with the old mtime. The next run
 * sees the new mtime; every copier meets this window, so the run after is the exact mirror.
 */
function assertMirroredNext(t: Box): void {
  const again = runCli(syncArgs(t));
  assert.is(again.code, 0, again.stderr);
  assert.is(rsyncDiff(t.src, t.dst), "");
}

test("a source file truncated while it is copied (logrotate's copytruncate) is copied again as it is now: no hang", async () => {
  const t = sandbox();
  try {
    mkdirSync(t.src, { recursive: true });
    const log = join(t.src, "app.log");
    // Within the size Node copies with the kernel's copy_file_range (1-256 MiB).
    writeFileSync(log, Buffer.alloc(200 * MiB, 0x61));
    const r = await runWhileCopying(t, () => truncateSync(log, 0));
    assert.not.ok(r.hung, `the run hung after the truncation; stderr: ${r.stderr}`);
    assert.is(r.code, 0, r.stderr);
    assert.is(readFileSync(join(t.dst, "app.log")).length, 0);
    assert.equal(temps(t.dst), []);
    assertMirroredNext(t);
  } finally {
    t.cleanup();
  }
});

test("a source file shrunk mid-copy to a size the copy has not reached, then written on, is copied again: no hang", async () => {
  const t = sandbox();
  try {
    mkdirSync(t.src, { recursive: true });
    const log = join(t.src, "app.log");
    writeFileSync(log, Buffer.alloc(200 * MiB, 0x61));
    const r = await runWhileCopying(t, () => {
      truncateSync(log, 3 * MiB);
      appendFileSync(log, "one more line\n");
    });
    assert.not.ok(r.hung, `the run hung after the truncation; stderr: ${r.stderr}`);
    assert.is(r.code, 0, r.stderr);
    // Copied after the truncation, and before or after the line was added: both are the source.
    assert.ok([3 * MiB, 3 * MiB + 14].includes(readFileSync(join(t.dst, "app.log")).length));
    assertMirroredNext(t);
  } finally {
    t.cleanup();
  }
});

test("a source file that grows while it is copied is copied again as it is now", async () => {
  const t = sandbox();
  try {
    mkdirSync(t.src, { recursive: true });
    const log = join(t.src, "app.log");
    writeFileSync(log, Buffer.alloc(200 * MiB, 0x61));
    const r = await runWhileCopying(t, () => appendFileSync(log, Buffer.alloc(MiB, 0x62)));
    assert.not.ok(r.hung, `the run hung; stderr: ${r.stderr}`);
    assert.is(r.code, 0, r.stderr);
    assert.is(readFileSync(join(t.dst, "app.log")).length, 201 * MiB);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

/** `dirs` directories of `files` small files each: enough op lines to fill a 64 KiB log, and enough copies for the stage worker. */
function manyFiles(root: string, dirs: number, files: number, text = "v1"): void {
  for (let d = 0; d < dirs; d++) {
    mkdirSync(join(root, `d${d}`), { recursive: true });
    for (let f = 0; f < files; f++) writeFileSync(join(root, `d${d}`, `file-${f}.txt`), `${text} ${d}/${f}`);
  }
}

/** The runs the index recorded for the pair, newest first. */
function runsOf(t: Box): { id: number; result: string; counts: Record<string, number> }[] {
  const r = runCli(["history", t.src, t.dst, "--state", t.state, "--runs", "--json"]);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const LOG_WARNING = /cannot write the log file/g;

test("a log file system that fills up mid-run is one warning: the run finishes and exits 0, and the index records every operation", () => {
  const t = sandbox();
  const logDir = join(t.root, "logdisk");
  mkdirSync(logDir);
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", logDir]).status !== 0) {
    skip("this sandbox does not allow mounting a tmpfs");
    t.cleanup();
    return;
  }
  try {
    manyFiles(t.src, 20, 100);
    // At 0, every small copy goes through the stage worker, whose port kept the process alive.
    const r = runCli(["sync", t.src, t.dst, "--state", t.state, "--log", join(logDir, "synchro.log")], { env: { SYNCHRO_STAGE_MIN: "0" }, timeoutMs: 60_000 });
    assert.is(r.code, 0, `exit ${r.code} (null: hung and killed); stderr: ${r.stderr}`);
    assert.is(r.stderr.match(LOG_WARNING)?.length, 1, r.stderr);
    assert.match(r.stderr, /ENOSPC/);
    assert.is(rsyncDiff(t.src, t.dst), "");
    const [run] = runsOf(t);
    assert.is(run!.result, "ok");
    assert.is(run!.counts.create, 2000);
    assert.is(run!.counts.mkdir, 20);
  } finally {
    spawnSync("umount", [logDir]);
    t.cleanup();
  }
});

test("a log that cannot be written from the start (/dev/full) is one warning on a re-sync with the walk-ahead worker: exit 0", () => {
  const t = sandbox();
  try {
    manyFiles(t.src, 20, 50);
    assert.is(runCli(["sync", t.src, t.dst, "--state", t.state, "--log", t.log]).code, 0);
    manyFiles(t.src, 20, 50, "v2, longer");
    // At 0 the walk-ahead worker lists part of this small tree, as it does beyond 20,000 entries.
    const r = runCli(["sync", t.src, t.dst, "--state", t.state, "--log", "/dev/full"], { env: { SYNCHRO_WALK_AHEAD_MIN: "0", SYNCHRO_STAGE_MIN: "0" }, timeoutMs: 60_000 });
    assert.is(r.code, 0, `exit ${r.code} (null: hung and killed); stderr: ${r.stderr}`);
    assert.is(r.stderr.match(LOG_WARNING)?.length, 1, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    const [run] = runsOf(t);
    assert.is(run!.result, "ok");
    assert.is(run!.counts.update, 1000);
  } finally {
    t.cleanup();
  }
});

test.run();
