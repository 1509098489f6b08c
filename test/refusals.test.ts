import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rmSync, mkdirSync } from "./fixtures/tree.ts";
import { spawn } from "node:child_process";
import { exited, isDeno, repoRoot, runCli, syncArgs, waitFor } from "./fixtures/cli.ts";

type Box = ReturnType<typeof sandbox>;

function lastRun(t: Box): { result: string; reason: string | null; trigger: string } {
  const r = runCli(["history", "--runs", "--json", "--state", t.state, "--limit", "1"]);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout)[0];
}

function synced(t: Box): void {
  writeTree(t.src, { d: { a: "a", b: "b", c: "c", e: "e" } });
  assert.is(runCli(syncArgs(t)).code, 0);
}

/** Each refusal: a run row with result "refused" and the reason the user read, and a line in the log file. */
function refusedWith(t: Box, pattern: RegExp, ...extra: string[]): void {
  const r = runCli(syncArgs(t, ...extra));
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, pattern);
  const run = lastRun(t);
  assert.is(run.result, "refused");
  assert.match(run.reason ?? "", pattern);
  const log = readFileSync(t.log, "utf8").trim().split("\n");
  assert.match(log[log.length - 1]!, pattern);
  assert.match(runCli(["history", "--runs", "--state", t.state, "--limit", "1"]).stdout, pattern);
}

test("a vanished source is a refused run in the history and the log", () => {
  const t = sandbox();
  try {
    synced(t);
    renameSync(t.src, `${t.src}.away`);
    refusedWith(t, /source .* is gone/);
  } finally {
    t.cleanup();
  }
});

test("an emptied source is a refused run in the history and the log", () => {
  const t = sandbox();
  try {
    synced(t);
    rmSync(join(t.src, "d"), { recursive: true });
    refusedWith(t, /source .* is empty/);
  } finally {
    t.cleanup();
  }
});

test("a vanished replica is a refused run in the history and the log", () => {
  const t = sandbox();
  try {
    synced(t);
    rmSync(t.dst, { recursive: true });
    refusedWith(t, /replica .* is gone/);
  } finally {
    t.cleanup();
  }
});

test("the delete limit is a refused run with its reason, decided before or after the walk", () => {
  const t = sandbox();
  try {
    synced(t);
    for (const n of ["a", "b", "c"]) rmSync(join(t.src, "d", n));
    refusedWith(t, /refusing to delete 3 (of \d+ replica )?entries/);
    // Decided before the first write: a first run into a folder of the user's own.
    const u = sandbox();
    try {
      writeTree(u.dst, { mine: { "1": "1", "2": "2" } });
      mkdirSync(u.src);
      writeTree(u.src, { x: "x" });
      refusedWith(u, /refusing to delete 3 (of \d+ replica )?entries/);
    } finally {
      u.cleanup();
    }
  } finally {
    t.cleanup();
  }
});

test("a replica held by another run is a refused run in the history and the log", async () => {
  const t = sandbox();
  try {
    synced(t);
    // Another process holds the replica's lock as a run does: SQLite's write lock on .synchro/lock.
    const file = JSON.stringify(join(t.dst, ".synchro", "lock"));
    const script = isDeno
      ? `import { DatabaseSync } from "node:sqlite"; const db = new DatabaseSync(${file}); db.exec("BEGIN IMMEDIATE"); console.log("held"); setInterval(() => {}, 1000);`
      : `const D = require("better-sqlite3"); const db = new D(${file}); db.exec("BEGIN IMMEDIATE"); console.log("held"); setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, isDeno ? ["eval", script] : ["-e", script], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    holder.stdout!.on("data", (d) => (out += d));
    try {
      await waitFor(() => out.includes("held"), "the lock holder");
      refusedWith(t, /already running/);
    } finally {
      holder.kill("SIGKILL");
      await exited(holder);
    }
  } finally {
    t.cleanup();
  }
});

test.run();
