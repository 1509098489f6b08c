import { test } from "uvu";
import * as assert from "uvu/assert";
import { displayWidth, estimateMs, formatEta, formatProgress, progressWanted } from "../src/cli/progress-line.ts";
import type { ProgressEvent } from "../src/index.ts";

const MiB = 1 << 20;
const event = (over: Partial<ProgressEvent> = {}): ProgressEvent => ({
  type: "progress", files: 12, bytes: 3 * MiB, plannedFiles: 40, plannedBytes: 6 * MiB, scanned: 500, expected: 1000, elapsedMs: 2000, path: "photos/2024/img.jpg", ...over,
});

test("the line shows files and bytes done of planned, rate, scan share, ETA and the path", () => {
  assert.is(formatProgress(event(), 200), "12/40 files · 3.0/6.0 MiB · 1.5 MiB/s · 50% scanned · ETA 0:02 · photos/2024/img.jpg");
});

test("a first run has no index to estimate from: it counts what it scanned and shows no ETA", () => {
  const line = formatProgress(event({ expected: null }), 200);
  assert.match(line, "· 500 scanned · photos");
  assert.not.match(line, "ETA");
});

test("the ETA follows the slower of walking and copying", () => {
  assert.is(estimateMs(event({ bytes: 1 * MiB, plannedBytes: 10 * MiB, scanned: 999 })), 18_000);
  assert.is(estimateMs(event({ bytes: 0, scanned: 250 })), 6000);
  assert.is(formatEta(3_723_000), "1:02:03");
  assert.is(formatEta(65_000), "1:05");
});

test("the line never reaches the last column, and a long path keeps its file name", () => {
  const path = "a/very/long/directory/name/that/goes/on/and/on/until/the/file.txt";
  for (const columns of [20, 60, 80, 100]) {
    const line = formatProgress(event({ path }), columns);
    assert.ok(displayWidth(line) < columns, `${columns}: ${line}`);
  }
  assert.match(formatProgress(event({ path }), 90), /…[^ ]*\/file\.txt$/);
});

test("wide characters count as two columns, and control characters in names are escaped", () => {
  assert.is(displayWidth("日本語"), 6);
  const line = formatProgress(event({ path: "写真/新しい\nファイル.jpg" }), 100);
  assert.not.match(line, "\n");
  assert.ok(displayWidth(line) < 100);
});

test("progress shows only on a terminal, and never with --quiet, --json or --dry-run", () => {
  assert.ok(progressWanted({}, true, true));
  assert.not.ok(progressWanted({}, false, true), "stdout piped");
  assert.not.ok(progressWanted({}, true, false), "stderr piped");
  for (const flag of ["quiet", "json", "dryRun"]) assert.not.ok(progressWanted({ [flag]: true }, true, true), flag);
});

test.run();
