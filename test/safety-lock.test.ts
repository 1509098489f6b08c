import { test } from "uvu";
import * as assert from "uvu/assert";
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
    return db.prepare(sql).all();
  } catch (err) {
    // The sync under test has not created its schema yet.
    if (/no such table/.test(String(err))) return [];
    throw err;
  } finally {
    db.close();
  }
}

/** Starts a sync and returns once it holds the replica's lock; SIGSTOP then freezes it there. */
async function runningSync(t: Box) {
  const child = startCli(syncArgs(t));
  let held = false;
  const end = Date.now() + 20_000;
  while (!held && child.exitCode === null && Date.now() < end) {
    held = (await query(t.state, "SELECT pid FROM locks")).some((r) => Number(r.pid) === child.pid);
    if (!held) await new Promise((r) => setTimeout(r, 2));
  }
  assert.ok(held, `the first sync took the lock (exit ${child.exitCode}: ${child.err()})`);
  child.kill("SIGSTOP");
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
      first.kill("SIGCONT");
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
      first.kill("SIGCONT");
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
    for (const t of [a, b]) {
      const spec: Record<string, string> = {};
      for (let i = 0; i < 1000; i++) spec[`d${i % 20}/f${i}.txt`] = `file ${i}`;
      writeTree(t.src, spec);
    }
    const state = a.state;
    const runs = [a, b].map((t) => startCli(["sync", t.src, t.dst, "--state", state]));
    const codes = await Promise.all(runs.map(exited));
    assert.equal(codes, [0, 0], runs.map((r) => r.err()).join("\n"));
    assert.is(rsyncDiff(a.src, a.dst), "");
    assert.is(rsyncDiff(b.src, b.dst), "");
    const rows = await query(state, "SELECT pair, started_at, ended_at FROM runs ORDER BY id");
    assert.is(rows.length, 2);
    assert.ok(Number(rows[1]!.started_at) < Number(rows[0]!.ended_at), "the two runs overlapped in time");
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

test.run();
