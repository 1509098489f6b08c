import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rmSync } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";
import { assertShape } from "./fixtures/shape.ts";

const syncArgs = (t: ReturnType<typeof sandbox>, ...extra: string[]) => ["sync", t.src, t.dst, "--state", t.state, ...extra];
const ACTIONS = ["create", "update", "delete", "mkdir", "rmdir", "symlink", "meta", "rename", "backup", "error"];

/** The --json summary of a sync run: the same object the library's sync() returns. */
const SUMMARY = {
  source: "string", replica: "string", run: "number|null", trigger: "string", dryRun: "boolean", full: "boolean",
  result: "string", startedAt: "string", durationMs: "number", counts: "object", bytes: "number", errors: "array",
};

test("--dry-run itemizes one line per path with a marker, ends with the totals, and changes nothing", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "12345", d: { "b.txt": "123" }, l: { link: "a.txt" } });
    const r = runCli(syncArgs(t, "--dry-run"));
    assert.is(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split("\n"), [
      ">f+ create  a.txt",
      "cd+ mkdir   d/",
      "cL+ symlink l",
      ">f+ create  d/b.txt",
      "dry run, nothing changed; would be: 2 created, 0 updated, 0 deleted; 1 dir made, 1 link; 8 B to copy",
    ]);
    assert.not.ok(existsSync(t.dst), "the replica was not created");
  } finally {
    t.cleanup();
  }
});

test("a dry run shows deletions with their own marker", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { keep: "k", k2: "k", k3: "k", gone: "g", old: { x: "x" } });
    assert.is(runCli(syncArgs(t)).code, 0);
    rmSync(join(t.src, "gone"));
    const r = runCli(syncArgs(t, "--dry-run"));
    assert.match(r.stdout, /^\*f- delete +gone$/m);
    assert.match(r.stdout, /would be: 0 created, 0 updated, 1 deleted/);
    assert.ok(existsSync(join(t.dst, "gone")));
  } finally {
    t.cleanup();
  }
});

test("each run ends with a human summary on the console and the same line in the log file", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "hello", d: { "b.txt": "world" } });
    const r = runCli(syncArgs(t, "--log", t.log));
    assert.is(r.code, 0, r.stderr);
    const line = /synced in [\d.]+ s: 2 created, 0 updated, 0 deleted; 1 dir made; 10 B copied at .+\/s; 0 errors/;
    assert.match(r.stderr, line);
    assert.is(r.stdout, "", "stdout stays free for results");
    const logged = readFileSync(t.log, "utf8").trimEnd().split("\n").at(-1)!;
    assert.match(logged, /^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d INFO \[run 1\] synced in /);
    assert.match(logged, line);
  } finally {
    t.cleanup();
  }
});

test("a run refused at the delete limit still ends with its summary, and says why once, exit 3", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: "1", b: "2", c: "3", d: "4" });
    assert.is(runCli(syncArgs(t)).code, 0);
    for (const f of ["a", "b", "c"]) rmSync(join(t.src, f));
    writeTree(t.src, { "new.txt": "new" });
    const r = runCli(syncArgs(t, "--log", t.log));
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /refused in [\d.]+ s: 1 created, 0 updated, 0 deleted; 3 B copied/);
    assert.is(r.stderr.split("refusing to delete").length, 2, r.stderr);
    assert.match(readFileSync(t.log, "utf8"), / WARN \[run \d+\] refused in /);
    const json = runCli(syncArgs(t, "--json"));
    assert.is(json.code, 3);
    assert.is(JSON.parse(json.stdout).result, "refused");
  } finally {
    t.cleanup();
  }
});

test("--json prints exactly one summary object per run, with a stable schema", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "hello", d: { "b.txt": "world" } });
    const r = runCli(syncArgs(t, "--json"));
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.is(lines.length, 1);
    const s = JSON.parse(lines[0]!);
    assertShape(s, SUMMARY, "summary");
    for (const a of [...ACTIONS, "adopt"]) assert.is(typeof s.counts[a], "number", `counts.${a}`);
    assert.is(s.counts.create, 2);
    assert.is(s.bytes, 10);
    assert.is(s.result, "ok");
    assert.ok(!Number.isNaN(Date.parse(s.startedAt)));
    assert.not.ok("plan" in s, "only a dry run carries a plan");
    assert.not.match(r.stderr, /synced/, "--json keeps the console quiet");
  } finally {
    t.cleanup();
  }
});

test("--dry-run --json carries the plan: action, path and size per entry, and nothing else on stdout", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "hello", d: {} });
    const r = runCli(syncArgs(t, "--dry-run", "--json"));
    assert.is(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assertShape(s, { ...SUMMARY, plan: "array" });
    assert.is(s.dryRun, true);
    assert.is(s.run, null);
    for (const p of s.plan) {
      assertShape(p, { action: "string", path: "string", size: "number|null" }, "plan item");
      assert.ok(ACTIONS.includes(p.action), p.action);
    }
    assert.equal(s.plan.map((p: { path: string }) => p.path).sort(), ["a.txt", "d"]);
  } finally {
    t.cleanup();
  }
});

test("bad input with --json prints no JSON, one line on stderr, and exits 2", () => {
  const t = sandbox();
  try {
    const r = runCli(syncArgs(t, "--json"));
    assert.is(r.code, 2);
    assert.is(r.stdout, "");
    assert.is(r.stderr.trim().split("\n").length, 1);
  } finally {
    t.cleanup();
  }
});

test.run();
