import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff, writeFileSync, mkdirSync } from "./fixtures/tree.ts";
import { startWatch, stopWatch, converged, contentOf } from "./fixtures/watch.ts";
import { runCli, startCli, waitFor, exited } from "./fixtures/cli.ts";

test("the source root removed leaves the replica untouched; watch resumes when it is back", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" } });
  const away = join(t.root, "src-away");
  const w = await startWatch(t);
  try {
    renameSync(t.src, away);
    await waitFor(() => /is gone; the replica is untouched/.test(w.err()), "the source-gone warning");
    assert.is(rsyncDiff(away, t.dst), "", "the replica still holds everything");
    assert.is(w.exitCode, null, "still running, waiting");
    renameSync(away, t.src);
    await waitFor(() => /is back; resuming/.test(w.err()), "the resume line");
    writeFileSync(join(t.src, "d", "c.txt"), "after the return");
    await waitFor(() => contentOf(join(t.dst, "d", "c.txt")) === "after the return", "a change after the return");
    await converged(t, "an exact mirror");
    assert.is(await stopWatch(w), 0, w.err());
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("a change made while the initial sync is still running is mirrored", async () => {
  const t = sandbox();
  const spec: Record<string, Record<string, string>> = {};
  for (let d = 0; d < 50; d++) {
    const files: Record<string, string> = {};
    for (let f = 0; f < 100; f++) files[`f${String(f).padStart(3, "0")}`] = "x".repeat(2048);
    spec[`d${String(d).padStart(2, "0")}`] = files;
  }
  writeTree(t.src, spec);
  const w = startCli(["watch", t.src, t.dst, "--state", t.state]);
  try {
    await waitFor(() => existsSync(join(t.dst, "d00", "f000")), "the initial sync to start copying", 60_000, 5);
    const during = !/synced in /.test(w.err());
    writeFileSync(join(t.src, "d00", "f000"), "changed during the initial sync");
    writeFileSync(join(t.src, "d00", "new.txt"), "created during the initial sync");
    assert.ok(during, "the change landed before the initial sync finished");
    await waitFor(() => contentOf(join(t.dst, "d00", "f000")) === "changed during the initial sync", "the changed file", 60_000);
    await converged(t, "an exact mirror", 60_000);
    assert.is(await stopWatch(w), 0, w.err());
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("SIGINT during a burst stops cleanly with exit 0, and the next sync converges", async () => {
  const t = sandbox();
  writeTree(t.src, { seed: "s" });
  const w = await startWatch(t);
  try {
    mkdirSync(join(t.src, "burst"));
    for (let i = 0; i < 400; i++) writeFileSync(join(t.src, "burst", `a${i}`), `first ${i}`);
    await waitFor(() => existsSync(join(t.dst, "burst", "a0")), "the burst to start arriving");
    for (let i = 0; i < 1500; i++) writeFileSync(join(t.src, "burst", `b${i}`), `second ${i}`);
    assert.is(await stopWatch(w), 0, w.err());
    assert.match(w.err(), /stopped; \d+ operations/);
    const r = runCli(["sync", t.src, t.dst, "--state", t.state]);
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("watch holds the replica's lock: a sync meanwhile is refused; runs are recorded with trigger watch", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const w = await startWatch(t, "--json");
  try {
    const r = runCli(["sync", t.src, t.dst, "--state", t.state]);
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /already running/);
    writeFileSync(join(t.src, "b.txt"), "b");
    await waitFor(() => w.out().trim().split("\n").length >= 2, "a second JSON summary");
    const runs = w.out().trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(runs.every((s) => s.trigger === "watch"));
    assert.is(await stopWatch(w), 0, w.err());
    assert.is(runCli(["sync", t.src, t.dst, "--state", t.state]).code, 0, "the lock is released on stop");
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("a second watch on a watched replica is refused with exit 3 and one line, no stack trace", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const w = await startWatch(t);
  try {
    const r = runCli(["watch", t.src, t.dst, "--state", t.state], { timeoutMs: 60_000 });
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /^synchro: already running .*\n$/m);
    assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
    assert.is(await stopWatch(w), 0, w.err());
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("a bad --debounce is one clear line and exit 2", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    const r = runCli(["watch", t.src, t.dst, "--state", t.state, "--debounce", "soon"]);
    assert.is(r.code, 2);
    assert.match(r.stderr, /--debounce must be/);
    assert.is(r.stderr.trim().split("\n").length, 1);
    assert.not.ok(existsSync(t.dst));
  } finally {
    t.cleanup();
  }
});

test.run();
