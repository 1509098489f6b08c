import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff, writeFileSync, mkdirSync, MARKER } from "./fixtures/tree.ts";
import { runCli, startCli, exited, waitFor } from "./fixtures/cli.ts";
import { openDatabase } from "../src/store/db.ts";
import { sync } from "../src/index.ts";

type Box = ReturnType<typeof sandbox>;
const syncArgs = (t: Box, ...extra: string[]) => ["sync", t.src, t.dst, "--state", t.state, ...extra];

async function query(state: string, sql: string): Promise<Record<string, unknown>[]> {
  if (!existsSync(state)) return [];
  const db = await openDatabase(state);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

/** Runs `sql` on a SQLite file if it exists and holds `table`; a stand-in for what a later process finds there. */
async function rewrite(file: string, table: string, sql: string, ...params: number[]): Promise<void> {
  if (!existsSync(file)) return;
  const db = await openDatabase(file);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    if (db.prepare("SELECT name FROM sqlite_master WHERE name = ?").get(table)) db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

/** Through kill(1): Deno's ChildProcess.kill() does not send SIGSTOP or SIGCONT. */
function signal(child: ChildProcess, sig: "STOP" | "CONT"): void {
  assert.is(spawnSync("kill", [`-${sig}`, String(child.pid)]).status, 0, `kill -${sig}`);
}

/**
 * Starts a sync and returns once it is writing the replica (its first operation line), which it
 * does only while it holds the replica's lock, whatever the lock is made of; SIGSTOP then freezes it there.
 */
async function runningSync(t: Box, state = t.state) {
  const child = await writingSync(t.src, t.dst, state);
  signal(child, "STOP");
  return child;
}

/** Starts a sync and returns once it writes the replica. */
async function writingSync(src: string, dst: string, state: string) {
  const child = startCli(["sync", src, dst, "--state", state, "--verbose"]);
  await waitFor(() => /create/.test(child.err()) || child.exitCode !== null, "the sync to start writing");
  assert.is(child.exitCode, null, child.err());
  return child;
}

/** Ends a child a failed test left running, so that the sandbox can be removed. */
async function reap(...children: (ChildProcess | undefined)[]): Promise<void> {
  for (const child of children) {
    if (!child || child.exitCode !== null || child.signalCode !== null) continue;
    child.kill("SIGKILL");
    await exited(child);
  }
}

/** A second index for the same pair: another user's, or the same user's with another --state. */
const otherState = (t: Box) => join(t.root, "other-state", "index.db");

function bigTree(t: Box): void {
  mkdirSync(t.src, { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(join(t.src, `big${i}.bin`), Buffer.alloc(32 << 20, i));
  const spec: Record<string, string> = {};
  for (let i = 0; i < 300; i++) spec[`f${i}.txt`] = `small ${i}`;
  writeTree(t.src, { small: spec });
}

/**
 * Runs `body` while a sync of a big tree is frozen holding the replica's lock, then lets that sync
 * finish: it must still end well and leave an exact mirror.
 */
async function whileHeld(body: (t: Box, first: ChildProcess) => void): Promise<void> {
  const t = sandbox();
  let first: Awaited<ReturnType<typeof runningSync>> | undefined;
  try {
    bigTree(t);
    first = await runningSync(t);
    try {
      body(t, first);
    } finally {
      signal(first, "CONT");
    }
    assert.is(await exited(first), 0, first.err());
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    await reap(first);
    t.cleanup();
  }
}

test("a second sync on a replica that is being synced exits 3 with `already running (pid N)`", () =>
  whileHeld((t, first) => {
    const second = runCli(syncArgs(t));
    assert.is(second.code, 3, second.stderr);
    assert.is(second.stderr.trim().split("\n").length, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`already running \\(pid ${first.pid}\\) on ${t.dst}`));
    // The lock is held with nothing written under it: no journal file sits beside it meanwhile.
    assert.equal(readdirSync(join(t.dst, MARKER)).sort(), ["id", "lock"]);
  }));

test("a second sync of a replica that is being synced exits 3 also when it uses another index (--state)", () =>
  whileHeld((t, first) => {
    const second = runCli(["sync", t.src, t.dst, "--state", otherState(t)]);
    assert.is(second.code, 3, second.stderr);
    assert.is(second.stderr.trim().split("\n").length, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`already running \\(pid ${first.pid}\\)`));
  }));

test("--wait waits for the running sync to finish, then runs, also from another index", async () => {
  const t = sandbox();
  let first: Awaited<ReturnType<typeof runningSync>> | undefined;
  let second: ReturnType<typeof startCli> | undefined;
  try {
    bigTree(t);
    first = await runningSync(t);
    const waiting = startCli(["sync", t.src, t.dst, "--state", otherState(t), "--wait"]);
    second = waiting;
    try {
      // It is waiting, not refusing: it logs that it waits and does not exit while the first holds the lock.
      await waitFor(() => /waiting/.test(waiting.err()) || waiting.exitCode !== null, "the second sync to wait");
      assert.is(waiting.exitCode, null, waiting.err());
      assert.match(waiting.err(), new RegExp(`pid ${first.pid}`));
    } finally {
      signal(first, "CONT");
    }
    assert.is(await exited(first), 0, first.err());
    assert.is(await exited(waiting), 0, waiting.err());
    const [firstRun] = await query(t.state, "SELECT started_at, ended_at FROM runs ORDER BY id");
    const [secondRun] = await query(otherState(t), "SELECT started_at, ended_at FROM runs ORDER BY id");
    assert.ok(Number(secondRun!.started_at) >= Number(firstRun!.ended_at), "the waiting run started after the first ended");
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    await reap(first, second);
    t.cleanup();
  }
});

test("a sync killed with SIGKILL holds no lock: the next run starts at once, even when the dead run's PID now names a live process", async () => {
  const t = sandbox();
  const squatter = spawn("sleep", ["60"], { stdio: "ignore" });
  let first: Awaited<ReturnType<typeof runningSync>> | undefined;
  try {
    bigTree(t);
    first = await runningSync(t);
    first.kill("SIGKILL");
    await exited(first);
    // The system gives the dead run's PID to another process: whatever record names the holder now names a live one.
    await rewrite(t.state, "locks", "UPDATE locks SET pid = ?", squatter.pid!);
    await rewrite(join(t.dst, MARKER, "lock"), "holder", "UPDATE holder SET pid = ?", squatter.pid!);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    squatter.kill("SIGKILL");
    await reap(first);
    t.cleanup();
  }
});

test("two syncs of one replica in one process: the second is refused with LOCKED while the first runs", async () => {
  const t = sandbox();
  try {
    bigTree(t);
    const runs = await Promise.allSettled([
      sync({ source: t.src, replica: t.dst, state: t.state }),
      sync({ source: t.src, replica: t.dst, state: otherState(t) }),
    ]);
    const done = runs.filter((r) => r.status === "fulfilled");
    const refused = runs.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    assert.is(done.length, 1, String(refused));
    assert.is(refused.length, 1);
    assert.is(refused[0].code, "LOCKED", String(refused[0]));
    assert.ok(refused[0].message.includes(`already running (pid ${process.pid})`), refused[0].message);
    assert.is(rsyncDiff(t.src, t.dst), "");
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
    const first = await writingSync(a.src, a.dst, state);
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
