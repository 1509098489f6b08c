import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { replicaNames, rsyncDiff, sandbox } from "./fixtures/tree.ts";
import { exited, runCli, sendSignal, startCli, syncArgs, waitFor } from "./fixtures/cli.ts";
import { skip } from "./fixtures/skip.ts";

const DIRS = 12;
const FILES = 4;

/** 12 directories of 4 files of 4 MiB: large enough that a run can be stopped halfway. */
function makeTree(root: string): void {
  const block = Buffer.alloc(4 << 20, 7);
  for (let d = 0; d < DIRS; d++) {
    mkdirSync(join(root, `d${String(d).padStart(2, "0")}`), { recursive: true });
    for (let f = 0; f < FILES; f++) writeFileSync(join(root, `d${String(d).padStart(2, "0")}`, `f${f}.bin`), block);
  }
}

const touchAll = (root: string) => {
  for (const d of readdirSync(root).filter((d) => d.startsWith("d"))) for (const f of readdirSync(join(root, d))) appendFileSync(join(root, d, f), "x");
};

/** A real folder bind-mounted as the source, so that it can be unmounted under a run; null where mounting is not allowed. */
function mountedSource(t: ReturnType<typeof sandbox>): string | null {
  const real = join(t.root, "real");
  makeTree(real);
  mkdirSync(t.src);
  if (spawnSync("mount", ["--bind", real, t.src]).status !== 0) return null;
  return real;
}

test("a source unmounted in the middle of a run is refused like a vanished source: exit 3, nothing deleted", async () => {
  const t = sandbox();
  const real = mountedSource(t);
  if (!real) {
    skip("a source unmounted mid-run: this sandbox does not allow a bind mount");
    t.cleanup();
    return;
  }
  try {
    assert.is(runCli(syncArgs(t)).code, 0);
    touchAll(real);
    const run = startCli(syncArgs(t, "--verbose"));
    await waitFor(() => (run.err().match(/update/g) ?? []).length >= 10 || run.exitCode !== null, "10 updates");
    sendSignal(run, "SIGSTOP");
    // Lazily, as a desktop does when a disk is pulled: the run's open files stay readable.
    assert.is(spawnSync("umount", ["-l", t.src]).status, 0);
    sendSignal(run, "SIGCONT");
    const code = await exited(run);
    assert.is(code, 3, run.err());
    assert.match(run.err(), /source .* (is gone|changed|vanished)/);
    assert.is(replicaNames(t.dst).length, DIRS, "every directory is still in the replica");
    for (const d of replicaNames(t.dst)) assert.is(readdirSync(join(t.dst, d)).length, FILES, `${d} is whole`);
  } finally {
    spawnSync("umount", ["-l", t.src]);
    t.cleanup();
  }
});

test("a source directory deleted during a run puts the run's deletions off to the next run", async () => {
  const t = sandbox();
  try {
    makeTree(t.src);
    writeFileSync(join(t.src, "gone-before.txt"), "deleted before the run");
    assert.is(runCli(syncArgs(t)).code, 0);
    touchAll(t.src);
    rmSync(join(t.src, "gone-before.txt"));
    const run = startCli(syncArgs(t, "--verbose"));
    await waitFor(() => (run.err().match(/update/g) ?? []).length >= 4 || run.exitCode !== null, "4 updates");
    sendSignal(run, "SIGSTOP");
    rmSync(join(t.src, "d11"), { recursive: true });
    sendSignal(run, "SIGCONT");
    assert.is(await exited(run), 0, run.err());
    assert.match(run.err(), /skipping \d+ deletions? because 1 source directory vanished during the run/);
    assert.ok(existsSync(join(t.dst, "gone-before.txt")), "no deletion this run");
    const next = runCli(syncArgs(t));
    assert.is(next.code, 0, next.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test.run();
