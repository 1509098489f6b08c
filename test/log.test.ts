import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, readFileSync } from "node:fs";
import { createLog } from "../src/log.ts";
import { sandbox } from "./fixtures/tree.ts";

const read = (file: string) => readFileSync(file, "utf8");
const levels = (file: string) => read(file).trimEnd().split("\n").map((l) => l.split(" ").slice(1).join(" "));

test("op lines are buffered, then written in order with the lines around them", () => {
  const t = sandbox();
  try {
    mkdirSync(t.root + "/state");
    const log = createLog({ file: t.log, verbosity: "quiet" });
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
    const log = createLog({ file: t.log, verbosity: "quiet" });
    log.op("create late");
    const deadline = Date.now() + 5000;
    while (!read(t.log).includes("create late") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.match(read(t.log), / INFO create late\n$/);
    log.close();
  } finally {
    t.cleanup();
  }
});

test.run();
