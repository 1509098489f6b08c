import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, readFileSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { sync, type Logger } from "../src/index.ts";
import { sandbox, writeTree, rsyncDiff, writeFileSync, mkdirSync, forNobody, NOBODY } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";

// Every small copy goes through the stage worker: at 0 a run also waits for it to start.
const before = process.env.SYNCHRO_STAGE_MIN;
test.before(() => void (process.env.SYNCHRO_STAGE_MIN = "0"));
test.after(() => {
  if (before === undefined) delete process.env.SYNCHRO_STAGE_MIN;
  else process.env.SYNCHRO_STAGE_MIN = before;
});

function debugLines(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = { debug: (m) => lines.push(m), info: () => {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  return { logger, lines };
}

const files = (n: number, tag: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}.txt`, `${tag} ${i} `.repeat(i + 1)]));

function tempFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" }).filter((p) => /(^|\/)\.synchro-.*\.tmp$/.test(p));
}

test("a first copy through the stage worker mirrors the tree, and records every file's hash", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: files(40, "a"), b: { c: files(30, "c") }, link: { link: "a/f1.txt" }, ro: files(5, "ro") });
    writeFileSync(join(t.src, "big.bin"), Buffer.alloc(1.5 * 1024 * 1024, 7));
    chmodSync(join(t.src, "ro"), 0o555);
    const { logger, lines } = debugLines();
    const s = await sync({ source: t.src, replica: t.dst, state: t.state, logger });
    assert.is(s.result, "ok");
    assert.is(s.counts.create, 76);
    assert.is(rsyncDiff(t.src, t.dst), "");
    // The 1.5 MiB file is copied in chunks on the main thread; the 75 small ones went through the worker.
    assert.ok(lines.includes("stage worker staged 75 small copies"), lines.join("\n"));
    assert.equal(tempFiles(t.dst), []);
    const check = await sync({ source: t.src, replica: t.dst, state: t.state, checksum: true });
    assert.is(check.counts.update, 0, "the staged hashes are the files' hashes");
  } finally {
    t.cleanup();
  }
});

test("staged updates and rename detection: a rotated log and a refilled directory keep every version in place", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { logs: { "app.log": "old log lines\n", ...files(20, "l") }, data: files(20, "d") });
    const opts = { source: t.src, replica: t.dst, state: t.state };
    await sync(opts);
    // Rotated: the old file moves to app.log.1 and a new app.log takes its name.
    renameSync(join(t.src, "logs", "app.log"), join(t.src, "logs", "app.log.1"));
    writeFileSync(join(t.src, "logs", "app.log"), "the new log, longer than the old one\n");
    // Refilled: the directory moves away and a new one of the same name gets other content.
    renameSync(join(t.src, "data"), join(t.src, "data.old"));
    mkdirSync(join(t.src, "data"));
    for (let i = 0; i < 20; i++) writeFileSync(join(t.src, "data", `f${i}.txt`), `new ${i}`);
    const { logger, lines } = debugLines();
    const s = await sync({ ...opts, logger });
    assert.is(s.result, "ok", JSON.stringify(s.errors));
    assert.ok(s.counts.rename >= 2, `renames: ${s.counts.rename}`);
    assert.match(lines.join("\n"), /stage worker staged [1-9]\d* small copies/);
    assert.is(readFileSync(join(t.dst, "logs", "app.log.1"), "utf8"), "old log lines\n");
    assert.is(readFileSync(join(t.dst, "logs", "app.log"), "utf8"), "the new log, longer than the old one\n");
    assert.is(readFileSync(join(t.dst, "data", "f3.txt"), "utf8"), "new 3");
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a directory refilled while its old copy moves elsewhere: the refill's queued copies land before the move is detected", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { x: { A: files(20, "old") }, y: { keep: "k" } });
    const opts = { source: t.src, replica: t.dst, state: t.state };
    await sync(opts);
    // x/A moves to y/B, and a new x/A gets new files under the old names. The walk reaches x/A
    // first and queues its copies; y/B's rename detection must not move the replica's x/A while
    // they wait there as temporary files.
    renameSync(join(t.src, "x", "A"), join(t.src, "y", "B"));
    mkdirSync(join(t.src, "x", "A"));
    for (let i = 0; i < 20; i++) writeFileSync(join(t.src, "x", "A", `f${i}.txt`), `refilled ${i}`);
    const s = await sync(opts);
    assert.is(s.result, "ok", JSON.stringify(s.errors));
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.equal(tempFiles(t.dst), []);
    assert.is(readFileSync(join(t.dst, "x", "A", "f3.txt"), "utf8"), "refilled 3");
    assert.is(readFileSync(join(t.dst, "y", "B", "f3.txt"), "utf8"), "old 3 ".repeat(4));
  } finally {
    t.cleanup();
  }
});

test("a stop while copies are staged leaves no temporary file, and the next run completes the mirror", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: files(300, "a"), b: files(300, "b") });
    const stop = new AbortController();
    let ops = 0;
    const onEvent = (e: { type: string }) => {
      if (e.type === "op" && ++ops === 20) stop.abort();
    };
    const opts = { source: t.src, replica: t.dst, state: t.state };
    const err = await sync({ ...opts, onEvent, signal: stop.signal }).then(() => null, (e: unknown) => e);
    assert.ok(err, "the run stopped");
    assert.is((err as { code?: string }).code, "ABORTED");
    assert.equal(tempFiles(t.dst), []);
    assert.ok(readdirSync(join(t.dst, "a")).length < 300, "it stopped part-way");
    const s = await sync(opts);
    assert.is(s.result, "ok");
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.equal(tempFiles(t.dst), []);
  } finally {
    t.cleanup();
  }
});

test("staged copies that fail mid-batch are errors of their own paths, not the end of the run", () => {
  const t = sandbox();
  try {
    forNobody(t);
    // Enough copies that the run yields to the event loop while a failed one waits its turn:
    // a rejection nobody awaits yet once ended the process (unhandled rejection).
    writeTree(t.src, { a: files(600, "a") });
    // Root reads anything: as nobody these two fail in the worker, in the middle of its batches.
    chmodSync(join(t.src, "a", "f5.txt"), 0o000);
    chmodSync(join(t.src, "a", "f25.txt"), 0o000);
    const r = runCli(["sync", t.src, t.dst, "--state", t.state, "--verbose"], { uid: NOBODY, env: { SYNCHRO_STAGE_MIN: "0" } });
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /a\/f5\.txt: reading source: EACCES/);
    assert.match(r.stderr, /a\/f25\.txt: reading source: EACCES/);
    assert.match(r.stderr, /stage worker staged 598 small copies/);
    assert.not.ok(r.stderr.includes("    at "), r.stderr);
    assert.is(readdirSync(join(t.dst, "a")).length, 598);
    assert.equal(tempFiles(t.dst), []);
  } finally {
    t.cleanup();
  }
});

test.run();
