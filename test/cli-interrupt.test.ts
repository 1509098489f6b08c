import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sandbox, mkdirSync, writeFileSync } from "./fixtures/tree.ts";
import { exited, runCli, sendSignal, startCli, waitFor } from "./fixtures/cli.ts";

type Box = ReturnType<typeof sandbox>;
const read = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : "");
const temps = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((n) => /^\.synchro-.*\.tmp$/.test(n)) : []);

/**
 * Hundreds of small files, then a large one last in the walk's order: Ctrl+C while the large
 * copy is on comes after many operations of the same run.
 */
function bigTree(t: Box): void {
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(t.src, `d${d}`), { recursive: true });
    for (let f = 0; f < 60; f++) writeFileSync(join(t.src, `d${d}`, `f${f}.txt`), `${d}/${f}`);
  }
  mkdirSync(join(t.src, "zz"));
  writeFileSync(join(t.src, "zz", "big.bin"), Buffer.alloc(256 << 20, 0x62));
}

/** The operations the index recorded for the pair, over all its runs: what a session's total must say. */
function recordedOps(t: Box): number {
  const r = runCli(["history", t.src, t.dst, "--state", t.state, "--limit", "100000", "--json"]);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).length;
}

async function interruptDuringBigCopy(t: Box, args: string[], signal: "SIGINT" | "SIGTERM"): Promise<{ code: number | null; log: string; err: string }> {
  const child = startCli([...args, "--state", t.state, "--log", t.log]);
  try {
    await waitFor(() => temps(join(t.dst, "zz")).length > 0, "the large copy to start after the others", 60_000, 5);
    sendSignal(child, signal);
    const code = await exited(child);
    return { code, log: read(t.log), err: child.err() };
  } finally {
    child.kill("SIGKILL");
  }
}

test("Ctrl+C during a one-shot run logs the operations that run made", async () => {
  const t = sandbox();
  try {
    bigTree(t);
    const r = await interruptDuringBigCopy(t, ["sync", t.src, t.dst], "SIGINT");
    assert.is(r.code, 130, r.err);
    const ops = recordedOps(t);
    assert.ok(ops >= 100, `${ops} operations recorded before the stop`);
    assert.match(r.log, new RegExp(` WARN interrupted; ${ops.toLocaleString("en")} operations? in this session \\(`));
  } finally {
    t.cleanup();
  }
});

test("Ctrl+C during the first tick of an --interval loop logs the operations of that tick", async () => {
  const t = sandbox();
  try {
    bigTree(t);
    const r = await interruptDuringBigCopy(t, ["sync", t.src, t.dst, "--interval", "600"], "SIGINT");
    assert.is(r.code, 0, r.err);
    const ops = recordedOps(t);
    assert.ok(ops >= 100, `${ops} operations recorded before the stop`);
    assert.match(r.log, new RegExp(` WARN interrupted; ${ops.toLocaleString("en")} operations? in this session \\(`));
  } finally {
    t.cleanup();
  }
});

test("SIGTERM during watch's initial sync counts that run's operations in the session's total", async () => {
  const t = sandbox();
  try {
    bigTree(t);
    const r = await interruptDuringBigCopy(t, ["watch", t.src, t.dst], "SIGTERM");
    assert.is(r.code, 0, r.err);
    const ops = recordedOps(t);
    assert.ok(ops >= 100, `${ops} operations recorded before the stop`);
    assert.match(r.log, new RegExp(` INFO stopped; ${ops.toLocaleString("en")} operations? in 1 run this session \\(`));
  } finally {
    t.cleanup();
  }
});

test.run();
