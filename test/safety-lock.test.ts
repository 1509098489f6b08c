import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff, writeFileSync, mkdirSync } from "./fixtures/tree.ts";
import { runCli, startCli, exited, waitFor } from "./fixtures/cli.ts";
import { openDatabase } from "../src/store/db.ts";

type Box = ReturnType<typeof sandbox>;
const syncArgs = (t: Box, ...extra: string[]) => ["sync", t.src, t.dst, "--state", t.state, ...extra];

async function query(state: string, sql: string): Promise<Record<string, unknown>[]> {
  if (!existsSync(state)) return [];
  const db = await openDatabase(state);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    return db.prepare(sql).all();
  } catch (err) {
    // The sync under test has not created its schema yet, or is switching the new file to WAL.
    if (/no such table|database is locked|unable to open/.test(String(err))) return [];
    throw err;
  } finally {
    db.close();
  }
}

/** Resolves once `child` holds the lock of `replica`. */
async function lockHeld(state: string, child: ChildProcess & { err: () => string }): Promise<void> {
  let held = false;
  const end = Date.now() + 20_000;
  while (!held && child.exitCode === null && Date.now() < end) {
    held = (await query(state, "SELECT pid FROM locks")).some((r) => Number(r.pid) === child.pid);
    if (!held) await new Promise((r) => setTimeout(r, 2));
  }
  assert.ok(held, `the sync took the lock (exit ${child.exitCode}: ${child.err()})`);
}

/** Through kill(1): Deno's ChildProcess.kill() does not send SIGSTOP or SIGCONT. */
function signal(child: ChildProcess, sig: "STOP" | "CONT"): void {
  assert.is(spawnSync("kill", [`-${sig}`, String(child.pid)]).status, 0, `kill -${sig}`);
}

/** Starts a sync and returns once it holds the replica's lock; SIGSTOP then freezes it there. */
async function runningSync(t: Box) {
  const child = startCli(syncArgs(t));
  await lockHeld(t.state, child);
  signal(child, "STOP");
  return child;
}

function bigTree(t: Box): void {
  mkdirSync(t.src, { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(join(t.src, `big${i}.bin`), Buffer.alloc(32 << 20, i));
  const spec: Record<string, string> = {};
  for (let i = 0; i < 300; i++) spec[`f${i}.txt`] = `small ${i}`;
  writeTree(t.src, { small: spec });
}

test("a second sync on a replica that is being synced exits 3 with `already running (pid N)`", async () => {
  const t = sandbox();
  try {
    bigTree(t);
    const first = await runningSync(t);
    try {
      const second = runCli(syncArgs(t));
      assert.is(second.code, 3, second.stderr);
      assert.is(second.stderr.trim().split("\n").length, 1, second.stderr);
      assert.match(second.stderr, new RegExp(`already running \\(pid ${first.pid}\\)`));
    } finally {
      signal(first, "CONT");
    }
    assert.is(await exited(first), 0, first.err());
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("--wait waits for the running sync to finish, then runs", async () => {
  const t = sandbox();
  try {
    bigTree(t);
    const first = await runningSync(t);
    const second = startCli(syncArgs(t, "--wait"));
    try {
      // It is waiting, not refusing: it logs that it waits and does not exit while the first holds the lock.
      await waitFor(() => /waiting/.test(second.err()) || second.exitCode !== null, "the second sync to wait");
      assert.is(second.exitCode, null, second.err());
    } finally {
      signal(first, "CONT");
    }
    assert.is(await exited(first), 0, first.err());
    assert.is(await exited(second), 0, second.err());
    const runs = await query(t.state, "SELECT started_at, ended_at FROM runs ORDER BY id");
    assert.is(runs.length, 2);
    assert.ok(Number(runs[1]!.started_at) >= Number(runs[0]!.ended_at), "the waiting run started after the first ended");
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a stale lock left by a killed sync is taken over", async () => {
  const t = sandbox();
  try {
    bigTree(t);
    const first = await runningSync(t);
    first.kill("SIGKILL");
    await exited(first);
    assert.is((await query(t.state, "SELECT pid FROM locks")).length, 1, "the dead run's lock is still there");
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.equal(await query(t.state, "SELECT pid FROM locks"), []);
  } finally {
    t.cleanup();
  }
});

test("two different pairs sync at the same time on one index file", async () => {
  const a = sandbox();
  const b = sandbox();
  try {
    // A is the long run: big files and many small ones, so B's whole run fits inside it.
    bigTree(a);
    const many: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) many[`m${i % 30}/f${i}.txt`] = `file ${i}`;
    writeTree(a.src, many);
    const spec: Record<string, string> = {};
    for (let i = 0; i < 300; i++) spec[`d${i % 10}/f${i}.txt`] = `file ${i}`;
    writeTree(b.src, spec);
    const state = a.state;
    // B starts once A is inside its run, so the two runs share the index file for real.
    const first = startCli(["sync", a.src, a.dst, "--state", state]);
    await lockHeld(state, first);
    const bStarted = Date.now();
    const runs = [first, startCli(["sync", b.src, b.dst, "--state", state])];
    const codes = await Promise.all(runs.map(exited));
    assert.equal(codes, [0, 0], runs.map((r) => r.err()).join("\n"));
    assert.is(rsyncDiff(a.src, a.dst), "");
    assert.is(rsyncDiff(b.src, b.dst), "");
    const rows = await query(state, "SELECT pair, started_at, ended_at FROM runs ORDER BY id");
    assert.is(rows.length, 2);
    // B may queue behind A's batched write transactions for a while, but it was out there, using the
    // same index file, while A's run was still going.
    assert.ok(bStarted < Number(rows[0]!.ended_at), "B started while A was still running");
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

test.run();
