import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff, rmSync, writeFileSync } from "./fixtures/tree.ts";
import { exited, sendSignal, startCli, syncArgs, waitFor } from "./fixtures/cli.ts";

const read = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : "");
const summaries = (log: string) => log.split("\n").filter((l) => / INFO \[run \d+\] synced in /.test(l)).length;
const OP_LINE = / INFO \[run \d+\] (create|update|delete|mkdir|rmdir|symlink|meta|rename) /;

function tempFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => /(^|\/)\.synchro-[0-9a-f]+\.tmp$/.test(p));
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  test(`--interval repeats, carries a change made between ticks, and ${signal} stops it with exit 0 and a total`, async () => {
    const t = sandbox();
    // The source must exist before the process starts: a missing source is bad input (exit 2).
    writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" } });
    const child = startCli(syncArgs(t, "--interval", "0.2", "--log", t.log));
    try {
      await waitFor(() => summaries(read(t.log)) >= 2, "two interval runs in the log");
      writeFileSync(join(t.src, "between ticks.txt"), "arrived");
      await waitFor(() => read(join(t.dst, "between ticks.txt")) === "arrived", "the change to reach the replica");
      await waitFor(() => rsyncDiff(t.src, t.dst) === "", "the replica to settle");
      sendSignal(child, signal);
      assert.is(await exited(child), 0, child.err());
      const log = read(t.log);
      const ops = log.split("\n").filter((l) => OP_LINE.test(l)).length;
      assert.ok(ops >= 3, log);
      assert.match(log, new RegExp(`stopped; ${ops} operations in this session \\(`));
    } finally {
      child.kill("SIGKILL");
      t.cleanup();
    }
  });
}

test("--interval with --json prints one JSON summary per run", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const child = startCli(syncArgs(t, "--interval", "0.1", "--json", "--log", t.log));
  try {
    await waitFor(() => child.out().split("\n").filter(Boolean).length >= 3, "three JSON lines");
    sendSignal(child, "SIGINT");
    assert.is(await exited(child), 0, child.err());
    const lines = child.out().split("\n").filter(Boolean);
    assert.is(lines.length, summaries(read(t.log)));
    const [first, second] = lines.map((l) => JSON.parse(l));
    assert.is(first.counts.create, 1);
    assert.is(second.counts.create, 0);
    assert.is(second.trigger, "interval");
  } finally {
    child.kill("SIGKILL");
    t.cleanup();
  }
});

test("a log file deleted while an interval run goes on is recreated on a later line", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const child = startCli(syncArgs(t, "--interval", "0.1", "--log", t.log));
  try {
    await waitFor(() => summaries(read(t.log)) >= 1, "the first run in the log");
    rmSync(t.log);
    writeFileSync(join(t.src, "after the delete.txt"), "x");
    await waitFor(() => / INFO \[run \d+\] create after the delete\.txt$/m.test(read(t.log)), "the log to come back with the new operation");
    sendSignal(child, "SIGINT");
    assert.is(await exited(child), 0, child.err());
  } finally {
    child.kill("SIGKILL");
    t.cleanup();
  }
});

test("the log has plain 'local-time LEVEL [run N] message' lines, every operation with its path, and a summary", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a", "odd\nname": "n", d: { "b.txt": "b" }, l: { link: "a.txt" } });
  const child = startCli(syncArgs(t, "--log", t.log));
  try {
    assert.is(await exited(child), 0, child.err());
    const lines = read(t.log).split("\n").filter(Boolean);
    assert.match(lines[0]!, /^\S+ INFO run 1 started: .* -> .*, trigger sync$/);
    for (const line of lines.slice(1)) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARN|ERROR) \[run 1\] \S/);
    for (const op of ["create a.txt", "create odd\\x0aname", "mkdir d", "create d/b.txt", "symlink l"]) {
      assert.ok(lines.some((l) => l.endsWith(` INFO [run 1] ${op}`)), `${op} in\n${lines.join("\n")}`);
    }
    assert.match(lines[lines.length - 1]!, / INFO \[run 1\] synced in [\d.]+ s: 3 created, 0 updated, 0 deleted; 1 dir made, 1 link; .*; 0 errors$/);
  } finally {
    t.cleanup();
  }
});

test("Ctrl+C during a one-shot run exits 130 and leaves no temporary file", async () => {
  const t = sandbox();
  // Two large, fully written files keep the copy going long enough to be interrupted.
  const big = Buffer.alloc(192 << 20, 0x61);
  writeTree(t.src, { "small.txt": "s" });
  writeFileSync(join(t.src, "big-1.bin"), big);
  writeFileSync(join(t.src, "big-2.bin"), big);
  const child = startCli(syncArgs(t, "--log", t.log));
  try {
    await waitFor(() => tempFiles(t.dst).length > 0, "a temporary file being written", 60_000);
    sendSignal(child, "SIGINT");
    assert.is(await exited(child), 130, child.err());
    assert.equal(tempFiles(t.dst), []);
    assert.match(read(t.log), / WARN interrupted; [\d,]+ operations? in this session \(/);
    // The next run completes the mirror.
    const again = startCli(syncArgs(t, "--log", t.log));
    assert.is(await exited(again), 0, again.err());
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    child.kill("SIGKILL");
    t.cleanup();
  }
});

test("a temporary file left by a killed run is removed by the next run", async () => {
  const t = sandbox();
  writeTree(t.src, { "small.txt": "s", d: { "x.txt": "x" } });
  writeFileSync(join(t.src, "big.bin"), Buffer.alloc(256 << 20, 0x62));
  const child = startCli(syncArgs(t, "--log", t.log));
  try {
    await waitFor(() => tempFiles(t.dst).length > 0, "a temporary file being written", 60_000);
    sendSignal(child, "SIGKILL");
    await exited(child);
    writeTree(t.dst, { d: { ".synchro-0123456789ab.tmp": "stale" } });
    const again = startCli(syncArgs(t, "--log", t.log));
    assert.is(await exited(again), 0, again.err());
    assert.equal(tempFiles(t.dst), []);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    child.kill("SIGKILL");
    t.cleanup();
  }
});

test.run();
