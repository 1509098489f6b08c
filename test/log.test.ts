import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, readFileSync } from "node:fs";
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

test("a log that fills up during the run is one clear line and exit 2, after the replica is written", () => {
  if (!existsSync("/dev/full")) return skip("a log that fills up: no /dev/full here");
  const t = sandbox();
  try {
    writeTree(t.src, { a: { "1.txt": "1", "2.txt": "2" } });
    const r = runCli(syncArgs(t, "--log", "/dev/full"));
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /^synchro: cannot write the log file \/dev\/full: ENOSPC$/m);
    assert.not.ok(r.stderr.includes("    at "), r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test.run();
