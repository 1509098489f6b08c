import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff, writeFileSync } from "./fixtures/tree.ts";
import { waitFor } from "./fixtures/cli.ts";
import { contentOf } from "./fixtures/watch.ts";
import { watch, type WatchBatch } from "../src/index.ts";

test("the library's watch() reports each run as a batch and close() returns the session's totals", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" } });
  const batches: WatchBatch[] = [];
  const handle = await watch({ source: t.src, replica: t.dst, state: t.state, debounce: 20, onBatch: (b) => batches.push(b) });
  try {
    await waitFor(() => batches.length === 1, "the initial run");
    assert.is(batches[0]!.reason, "initial");
    assert.is(batches[0]!.summary!.trigger, "watch");
    writeFileSync(join(t.src, "d", "c.txt"), "c");
    await waitFor(() => contentOf(join(t.dst, "d", "c.txt")) === "c", "the new file");
    await waitFor(() => batches.length >= 2, "a batch for the change");
    const change = batches[1]!;
    assert.is(change.reason, "changes");
    assert.is(change.summary!.full, false, "a batch rescans only the dirty directory");
    assert.is(change.summary!.counts.create, 1);
    const totals = await handle.close();
    assert.is(totals.runs, batches.length);
    assert.is(totals.operations, 4, "2 files + 1 dir at start, then 1 file");
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    await handle.close();
    t.cleanup();
  }
});

const rejection = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "resolved",
    (err: Error) => err.message,
  );

test("watch() rejects bad options before anything is opened", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    assert.match(await rejection(watch({ source: t.src, replica: t.dst, state: t.state, debounce: -1 })), /--debounce must be/);
    assert.match(await rejection(watch({ source: t.src, replica: t.dst, state: t.state, interval: 0 })), /--interval must be/);
  } finally {
    t.cleanup();
  }
});

test.run();
