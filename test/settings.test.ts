import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, writeFileSync } from "./fixtures/tree.ts";
import { runCli, syncArgs } from "./fixtures/cli.ts";

const status = (t: ReturnType<typeof sandbox>, ...extra: string[]) => runCli(["status", t.src, t.dst, "--state", t.state, ...extra]);

test("a version store inside the replica survives a --full run that does not name --backup-dir", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "v1", "b.txt": "b" });
    const versions = join(t.dst, ".versions");
    assert.is(runCli(syncArgs(t, "--backup-dir", versions)).code, 0);
    writeFileSync(join(t.src, "a.txt"), "v2, longer");
    assert.is(runCli(syncArgs(t, "--backup-dir", versions)).code, 0);
    assert.is(readdirSync(versions).length, 1, "one run's versions");
    const full = runCli(syncArgs(t, "--full"));
    assert.is(full.code, 0, full.stderr);
    assert.ok(existsSync(versions), "the versions are kept");
    assert.is(readdirSync(versions).length, 1);
    writeFileSync(join(t.src, "a.txt"), "v3");
    assert.is(runCli(syncArgs(t)).code, 0);
    assert.is(readdirSync(versions).length, 2, "a run without the flag still keeps versions");
  } finally {
    t.cleanup();
  }
});

test("status plans with the excludes the pair is synced with, and says which settings it used", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", "x.log": "log" });
    assert.is(runCli(syncArgs(t, "--exclude", "*.log")).code, 0);
    const s = status(t);
    assert.is(s.code, 0, s.stdout);
    assert.match(s.stdout, /^in sync\n/);
    assert.match(s.stdout, /settings: --exclude '\*\.log'/);
    const json = JSON.parse(status(t, "--json").stdout);
    assert.equal(json.settings, { exclude: ["*.log"] });
    // A sync without the flag keeps it too.
    assert.is(runCli(syncArgs(t)).code, 0);
    assert.ok(!existsSync(join(t.dst, "x.log")));
  } finally {
    t.cleanup();
  }
});

test("a changed setting is logged, and --reset forgets the stored ones", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", "x.log": "log", "y.tmp": "tmp" });
    assert.is(runCli(syncArgs(t, "--exclude", "*.log")).code, 0);
    const changed = runCli(syncArgs(t, "--exclude", "*.tmp"));
    assert.is(changed.code, 0, changed.stderr);
    assert.match(readFileSync(t.log, "utf8"), /setting changed: --exclude '\*\.log' -> '\*\.tmp'/);
    assert.ok(existsSync(join(t.dst, "x.log")), "x.log is no longer excluded");
    writeFileSync(join(t.src, "z.tmp"), "new");
    assert.is(runCli(syncArgs(t)).code, 0);
    assert.ok(!existsSync(join(t.dst, "z.tmp")), "*.tmp is excluded now");
    const reset = runCli(syncArgs(t, "--reset"));
    assert.is(reset.code, 0, reset.stderr);
    assert.ok(existsSync(join(t.dst, "z.tmp")), "no exclude after --reset");
    assert.match(status(t).stdout, /settings: defaults/);
  } finally {
    t.cleanup();
  }
});

test.run();
