import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree } from "./fixtures/tree.ts";
import { exited, runCli, sendSignal, startCli, syncArgs, waitFor } from "./fixtures/cli.ts";
import { startWatch, stopWatch } from "./fixtures/watch.ts";

const MANY = 1234;

/** MANY one-byte files under many/: enough for a thousands separator, cheap to copy. */
function writeMany(dir: string): void {
  mkdirSync(join(dir, "many"), { recursive: true });
  for (let i = 0; i < MANY; i++) writeFileSync(join(dir, "many", `f${i}`), "x");
}

test("a run that did one of each says each in the singular", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", "b.txt": "b" });
    assert.is(runCli(syncArgs(t)).code, 0);
    chmodSync(join(t.src, "a.txt"), 0o600);
    writeTree(t.src, { d: { "c.txt": "c" }, l: { link: "a.txt" } });
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /synced in [\d.]+ s: 1 created, 0 updated, 0 deleted; 1 dir made, 1 link, 1 attribute fixed; 1 B copied( at [^;]+)?; 0 errors$/m);
  } finally {
    t.cleanup();
  }
});

test("large counts carry thousands separators in the summary, the dry run, status and history, as in the live line", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { seed: "s" });
    assert.is(runCli(syncArgs(t)).code, 0);
    writeMany(t.src);
    const dry = runCli(syncArgs(t, "--dry-run"));
    assert.match(dry.stdout, /^dry run, nothing changed; would be: 1,234 created, 0 updated, 0 deleted; 1 dir made; 1\.2 KiB to copy$/m);
    const status = runCli(["status", t.src, t.dst, "--state", t.state]);
    assert.is(status.code, 1, status.stderr);
    assert.match(status.stdout, /^not in sync: 1,235 pending, 0 drifted in the replica$/m);
    assert.match(status.stdout, /^ {2}\.\.\. and 1,215 more$/m);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /synced in [\d.]+ s: 1,234 created, 0 updated, 0 deleted; 1 dir made; 1\.2 KiB copied/m);
    const runs = runCli(["history", "--runs", "--state", t.state, "--limit", "1"]);
    assert.match(runs.stdout, /1,234 create, 1 mkdir/);
  } finally {
    t.cleanup();
  }
});

test("an --interval loop stopped after one operation says `1 operation`", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const child = startCli(syncArgs(t, "--interval", "0.2"));
  try {
    await waitFor(() => /synced in /.test(child.err()), "the first run");
    sendSignal(child, "SIGTERM");
    assert.is(await exited(child), 0, child.err());
    assert.match(child.err(), /stopped; 1 operation in this session \(.* -> .*\)$/m);
  } finally {
    child.kill("SIGKILL");
    t.cleanup();
  }
});

test("a watch stopped after one run of one operation says `1 operation in 1 run`", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const w = await startWatch(t);
  try {
    assert.is(await stopWatch(w), 0, w.err());
    assert.match(w.err(), /stopped; 1 operation in 1 run this session \(.* -> .*\)$/m);
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test.run();
