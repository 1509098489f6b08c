import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createLog } from "../src/log.ts";
import { existsSync } from "node:fs";
import { sandbox, writeTree, rsyncDiff } from "./fixtures/tree.ts";
import { runCli, syncArgs } from "./fixtures/cli.ts";
import { skip } from "./fixtures/skip.ts";

const read = (file: string) => readFileSync(file, "utf8");
const levels = (file: string) => read(file).trimEnd().split("\n").map((l) => l.split(" ").slice(1).join(" "));

test("op lines are buffered, then written in order with the lines around them", () => {
  const t = sandbox();
  try {
    mkdirSync(t.root + "/state");
    const log = createLog({ file: t.log, verbosity: "quiet", color: false });
    log.op("create a");
    log.op("create b");
    // A warning writes what is buffered first, so the file reads in the order things happened.
    log.logger.warn("something odd");
    log.op("delete c");
    log.close();
    assert.equal(levels(t.log), ["INFO create a", "INFO create b", "WARN something odd", "INFO delete c"]);
  } finally {
    t.cleanup();
  }
});

test("buffered op lines reach the file on their own, with no later line or close", async () => {
  const t = sandbox();
  try {
    mkdirSync(t.root + "/state");
    const log = createLog({ file: t.log, verbosity: "quiet", color: false });
    log.op("create late");
    const deadline = Date.now() + 5000;
    while (!read(t.log).includes("create late") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.match(read(t.log), / INFO create late\n$/);
    log.close();
  } finally {
    t.cleanup();
  }
});

test("a run's lines name it after their level, under its start line; a lazy run that logs nothing leaves no line", () => {
  const t = sandbox();
  try {
    mkdirSync(t.root + "/state");
    const log = createLog({ file: t.log, verbosity: "quiet", color: false });
    const start = { type: "start", source: "/s", replica: "/r", trigger: "watch", dryRun: false } as const;
    log.logger.info("before");
    log.beginRun({ ...start, run: 7 }, { lazy: true });
    log.endRun();
    log.beginRun({ ...start, run: 8 }, { lazy: true });
    log.op("create a");
    log.summary("synced");
    log.endRun();
    log.beginRun({ ...start, run: 9, trigger: "sync" });
    log.endRun();
    log.logger.info("after");
    log.close();
    assert.equal(levels(t.log), [
      "INFO before",
      "INFO run 8 started: /s -> /r, trigger watch",
      "INFO [run 8] create a",
      "INFO [run 8] synced",
      "INFO run 9 started: /s -> /r, trigger sync",
      "INFO after",
    ]);
  } finally {
    t.cleanup();
  }
});

test("a log that cannot be written during the run is one warning, and the run finishes with exit 0", () => {
  if (!existsSync("/dev/full")) return skip("a log that cannot be written: no /dev/full here");
  const t = sandbox();
  try {
    writeTree(t.src, { a: { "1.txt": "1", "2.txt": "2" } });
    const r = runCli(syncArgs(t, "--log", "/dev/full"));
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr.match(/cannot write the log file \/dev\/full: ENOSPC/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /the index keeps every operation/);
    assert.not.ok(r.stderr.includes("    at "), r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

/** Runs `body` with what it writes to stderr captured instead of shown. */
function capturingStderr(body: () => void): string {
  let text = "";
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    text += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    body();
  } finally {
    process.stderr.write = write;
  }
  return text;
}

test("lines lost while the log's disk is full are counted in the log once it has room again", () => {
  const t = sandbox();
  const disk = join(t.root, "logdisk");
  mkdirSync(disk);
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", disk]).status !== 0) {
    skip("this sandbox does not allow mounting a tmpfs");
    t.cleanup();
    return;
  }
  try {
    const file = join(disk, "synchro.log");
    // Longer than a page, so each line needs a page the full disk does not have.
    const long = "x".repeat(5000);
    const stderr = capturingStderr(() => {
      const log = createLog({ file, verbosity: "quiet", color: false });
      log.logger.info("before");
      try {
        writeFileSync(join(disk, "filler"), Buffer.alloc(64 << 10));
      } catch {
        // ENOSPC: the disk is full, which is the point.
      }
      log.logger.info(`lost one ${long}`);
      log.logger.warn(`lost two ${long}`);
      rmSync(join(disk, "filler"));
      log.logger.info("after");
      log.close();
    });
    assert.is(stderr.match(/cannot write the log file/g)?.length, 1, stderr);
    const lines = read(file).split("\n");
    assert.match(lines[0]!, / INFO before$/);
    assert.ok(lines.some((l) => / WARN 2 log lines were lost: the log could not be written$/.test(l)), read(file).slice(-300));
    assert.match(read(file), / INFO after\n$/);
  } finally {
    spawnSync("umount", [disk]);
    t.cleanup();
  }
});

test.run();
