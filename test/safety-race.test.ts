import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox } from "./fixtures/tree.ts";
import { exited, runCli, syncArgs } from "./fixtures/cli.ts";

/**
 * A hostile process keeps swapping a replica directory for a symlink to an outside folder while a
 * run writes or deletes below it. Every replica operation is resolved from a directory opened
 * without following links, so whatever the timing, nothing may land in (or vanish from) the
 * outside folder. The swapper runs as a real process, as an attacker would.
 */
const SWAPPER = `
const fs = require("node:fs");
const [dir, outside] = process.argv.slice(1);
const real = dir + ".real";
const nap = new Int32Array(new SharedArrayBuffer(4));
// Each state is held for a random 0-2 ms: long enough for a check and a use to fall on either side.
const hold = () => Atomics.wait(nap, 0, 0, Math.random() * 2);
let stop = false;
process.on("SIGTERM", () => (stop = true));
process.stdout.write("ready\\n");
(function loop() {
  for (let i = 0; i < 50 && !stop; i++) {
    try { fs.renameSync(dir, real); fs.symlinkSync(outside, dir); } catch {}
    hold();
    try { fs.unlinkSync(dir); fs.renameSync(real, dir); } catch {}
    hold();
  }
  if (!stop) return setImmediate(loop);
  // Leave the replica as the run last saw it: the real directory back in place.
  try { if (fs.lstatSync(dir).isSymbolicLink()) fs.unlinkSync(dir); } catch {}
  try { fs.renameSync(real, dir); } catch {}
  process.exit(0);
})();
`;

const FILES = 3000;

function names(): string[] {
  return Array.from({ length: FILES }, (_, i) => `f${i}.txt`);
}

async function raced(dir: string, outside: string, run: () => ReturnType<typeof runCli>) {
  const swapper = spawn(process.execPath, ["-e", SWAPPER, dir, outside], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => swapper.stdout!.once("data", () => resolve()));
  // The run is synchronous here (spawnSync) while the swapper runs on its own.
  const r = run();
  swapper.kill("SIGTERM");
  await exited(swapper);
  return r;
}

test("a directory swapped for a symlink while a run writes 3,000 files below it: nothing lands outside", async () => {
  const t = sandbox();
  try {
    const outside = join(t.root, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "keep.txt"), "mine");
    mkdirSync(join(t.src, "a"), { recursive: true });
    assert.is(runCli(syncArgs(t)).code, 0);
    for (const n of names()) writeFileSync(join(t.src, "a", n), `content of ${n}\n`);
    const r = await raced(join(t.dst, "a"), outside, () => runCli(syncArgs(t)));
    assert.ok(r.code !== null, "the run ended");
    const landed = readdirSync(outside).filter((n) => n !== "keep.txt");
    assert.is(landed.length, 0, `${landed.length} files written outside the replica (exit ${r.code}), such as ${landed.slice(0, 3).join(", ")}`);
  } finally {
    t.cleanup();
  }
});

test("a directory swapped for a symlink while a run deletes 3,000 files below it: nothing outside is deleted", async () => {
  const t = sandbox();
  try {
    const outside = join(t.root, "outside");
    mkdirSync(outside);
    mkdirSync(join(t.src, "a"), { recursive: true });
    for (const n of names()) {
      writeFileSync(join(t.src, "a", n), `content of ${n}\n`);
      writeFileSync(join(outside, n), "the user's own file\n");
    }
    writeFileSync(join(t.src, "keep.txt"), "k");
    assert.is(runCli(syncArgs(t)).code, 0);
    // Every file of a/ goes from the source, a/ itself stays: 3,000 deletes below the swapped directory.
    rmSync(join(t.src, "a"), { recursive: true });
    mkdirSync(join(t.src, "a"));
    const r = await raced(join(t.dst, "a"), outside, () => runCli(syncArgs(t, "--force")));
    assert.ok(r.code !== null, "the run ended");
    assert.is(readdirSync(outside).length, FILES, `outside files deleted (exit ${r.code})`);
  } finally {
    t.cleanup();
  }
});

test.run();
