import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { status, sync } from "../src/index.ts";
import { openStore } from "../src/store/store.ts";
import { hashFile, loadHasher } from "../src/hash.ts";
import { isTempName } from "../src/apply.ts";
import { sandbox, rsyncDiff, mkdirSync } from "./fixtures/tree.ts";

const MiB = 1 << 20;

/** Watches the replica root while a run goes on: the most temporary files seen there at once. */
function countTemps(dir: string): { max: () => number; stop: () => void } {
  let max = 0;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, readdirSync(dir).filter(isTempName).length);
    } catch {
      // Not made yet.
    }
  }, 1);
  return { max: () => max, stop: () => clearInterval(timer) };
}

function bigFiles(dir: string, count: number, mib: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `big-${i}.bin`), Buffer.alloc(mib * MiB, 0x41 + i));
}

test("large files in one directory are copied several at once, at most four, and each lands whole with its own hash", async () => {
  const t = sandbox();
  const temps = countTemps(t.dst);
  try {
    bigFiles(t.src, 6, 24);
    writeFileSync(join(t.src, "small.txt"), "s");
    const s = await sync({ source: t.src, replica: t.dst, state: t.state });
    temps.stop();
    assert.is(s.result, "ok");
    assert.is(s.counts.create, 7);
    assert.is(s.bytes, 6 * 24 * MiB + 1);
    assert.ok(temps.max() >= 2, `copies overlapped (${temps.max()} temporary files at most)`);
    assert.ok(temps.max() <= 4, `at most four at once (${temps.max()} seen)`);
    assert.is(rsyncDiff(t.src, t.dst), "");
    await loadHasher();
    const store = await openStore(t.state, { now: Date.now });
    try {
      const pair = store.pair(t.src, t.dst, false)!;
      for (let i = 0; i < 6; i++) assert.is(store.entries.get(pair.id, `big-${i}.bin`)?.hash, hashFile(join(t.src, `big-${i}.bin`)), `big-${i}.bin`);
    } finally {
      store.close();
    }
    const st = await status({ source: t.src, replica: t.dst, state: t.state, verify: true });
    assert.ok(st.inSync, JSON.stringify(st.drift));
  } finally {
    temps.stop();
    t.cleanup();
  }
});

test("a stop while several large copies are in flight leaves no temporary file, and the next run completes the mirror", async () => {
  const t = sandbox();
  const temps = countTemps(t.dst);
  try {
    bigFiles(t.src, 4, 48);
    const stop = new AbortController();
    const watching = setInterval(() => temps.max() > 0 && stop.abort(), 1);
    let code: string | undefined;
    try {
      await sync({ source: t.src, replica: t.dst, state: t.state, signal: stop.signal });
    } catch (err) {
      code = (err as { code?: string }).code;
    } finally {
      clearInterval(watching);
      temps.stop();
    }
    assert.is(code, "ABORTED");
    assert.equal(readdirSync(t.dst).filter(isTempName), []);
    const again = await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.is(again.result, "ok");
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    temps.stop();
    t.cleanup();
  }
});

test.run();
