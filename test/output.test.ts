import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatBytes, formatDuration, formatPlanLine, formatSummary } from "../src/cli/output.ts";
import type { Counts, SyncSummary } from "../src/index.ts";

function summary(over: Partial<Omit<SyncSummary, "counts">> & { counts?: Partial<Counts> } = {}): SyncSummary {
  const zero: Counts = { create: 0, update: 0, delete: 0, mkdir: 0, rmdir: 0, symlink: 0, meta: 0, rename: 0, backup: 0, error: 0, adopt: 0 };
  const base: Omit<SyncSummary, "counts"> = {
    source: "/s", replica: "/r", run: 1, trigger: "sync", dryRun: false, full: false, result: "ok",
    startedAt: "2026-01-01T00:00:00.000Z", durationMs: 2000, bytes: 0, errors: [], skippedNames: [],
  };
  return { ...base, ...over, counts: { ...zero, ...over.counts } };
}

test("the summary names created, updated, deleted, bytes, duration, rate and errors", () => {
  const line = formatSummary(summary({ counts: { create: 3, update: 1, delete: 2 }, bytes: 4 * 1048576 }));
  assert.is(line, "synced in 2.00 s: 3 created, 1 updated, 2 deleted; 4.0 MiB copied at 2.0 MiB/s; 0 errors");
});

test("the summary adds other counts only when they happened, and says when a run had errors", () => {
  const line = formatSummary(summary({
    result: "partial", counts: { mkdir: 1, symlink: 2, rename: 1, adopt: 5 },
    errors: [{ path: "x", error: "EACCES" }],
  }));
  assert.is(line, "synced with errors in 2.00 s: 0 created, 0 updated, 0 deleted; 1 dir made, 2 links, 1 renamed, 5 already in place; 0 B copied; 1 error");
});

test("every count in the summary agrees with its noun and carries thousands separators", () => {
  const one = formatSummary(summary({ counts: { create: 1, mkdir: 1, rmdir: 1, symlink: 1, meta: 1 }, errors: [{ path: "x", error: "EIO" }], skippedNames: ["a"], result: "partial" }));
  assert.is(one, "synced with errors in 2.00 s: 1 created, 0 updated, 0 deleted; 1 dir made, 1 dir removed, 1 link, 1 attribute fixed; 0 B copied; 1 error; 1 name skipped (not UTF-8)");
  const many = formatSummary(summary({ counts: { create: 12345, update: 1000, delete: 2000, mkdir: 1200, meta: 3000, adopt: 1_000_000 } }));
  assert.is(many, "synced in 2.00 s: 12,345 created, 1,000 updated, 2,000 deleted; 1,200 dirs made, 3,000 attributes fixed, 1,000,000 already in place; 0 B copied; 0 errors");
});

test("a dry run's summary counts what would happen and the bytes it would copy", () => {
  const s = summary({
    dryRun: true, result: "refused", counts: { create: 1, update: 1, delete: 9 },
    plan: [{ action: "create", path: "a", size: 1024 }, { action: "update", path: "b", size: 1024 }, { action: "delete", path: "c", size: null }],
  });
  assert.is(formatSummary(s), "dry run, nothing changed; would be: 1 created, 1 updated, 9 deleted; 2.0 KiB to copy; over the delete limit, so a real run would refuse");
});

test("plan lines carry an rsync -i style marker, the action, and the path; directories end in /", () => {
  assert.is(formatPlanLine({ action: "create", path: "a b.txt" }), ">f+ create  a b.txt");
  assert.is(formatPlanLine({ action: "update", path: "x" }), ">f. update  x");
  assert.is(formatPlanLine({ action: "mkdir", path: "d" }), "cd+ mkdir   d/");
  assert.is(formatPlanLine({ action: "rmdir", path: "old" }), "*d- rmdir   old/");
  assert.is(formatPlanLine({ action: "delete", path: "gone" }), "*f- delete  gone");
  assert.is(formatPlanLine({ action: "rename", path: "new", from: "old" }), ">r. rename  new (from old)");
  assert.is(formatPlanLine({ action: "create", path: "line\nbreak" }), ">f+ create  line\\x0abreak");
});

test("durations and sizes read well at every scale", () => {
  assert.is(formatDuration(420), "0.42 s");
  assert.is(formatDuration(12_340), "12.3 s");
  assert.is(formatDuration(245_000), "4 min 05 s");
  assert.is(formatDuration(7_380_000), "2 h 03 min");
  assert.is(formatBytes(1023), "1023 B");
  assert.is(formatBytes(1536), "1.5 KiB");
});

test.run();
