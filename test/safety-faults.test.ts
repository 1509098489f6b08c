import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff, rmSync, writeFileSync, mkdirSync } from "./fixtures/tree.ts";
import { runCli, startCli, exited, waitFor, isDeno } from "./fixtures/cli.ts";
import { openDatabase } from "../src/store/db.ts";
import { digestLies } from "./fixtures/digests.ts";
import { skip } from "./fixtures/skip.ts";

type Box = ReturnType<typeof sandbox>;
const syncArgs = (t: Box, dst = t.dst) => ["sync", t.src, dst, "--state", t.state, "--log", t.log];
const temps = (dir: string): string[] =>
  readdirSync(dir, { recursive: true }).map(String).filter((p) => /(^|\/)\.synchro-[^/]*\.tmp$/.test(p));

/** Index rows for files whose replica copy is missing or of another size: none, if the index is consistent. */
async function indexLies(t: Box, dst: string): Promise<string[]> {
  const db = await openDatabase(t.state);
  try {
    const rows = db.prepare("SELECT dir, name, size FROM entries WHERE kind = 0").all();
    return rows
      .map((r) => ({ path: r.dir ? `${r.dir}/${r.name}` : String(r.name), size: Number(r.size) }))
      .filter(({ path, size }) => !existsSync(join(dst, path)) || lstatSync(join(dst, path)).size !== size)
      .map((r) => r.path);
  } finally {
    db.close();
  }
}

test("a file appended to through every try is copied as last read, with a warning that names it, and copied again by the next run", async () => {
  const t = sandbox();
  const growing = join(t.src, "growing.log");
  try {
    writeTree(t.src, { "calm.txt": "calm" });
    // Large enough that each try's copy outlasts a scheduling hiccup of the writer on a busy machine.
    writeFileSync(growing, Buffer.alloc(64 << 20, 1));
    // A writer appending 16 KiB every millisecond or so, like a download or a log being written.
    const writer = spawn(process.execPath, [...(isDeno ? ["eval"] : ["-e"]),
      `const fs = require("node:fs"); const b = Buffer.alloc(16384, 2); setInterval(() => fs.appendFileSync(${JSON.stringify(growing)}, b), 1);`]);
    try {
      await waitFor(() => statSync(growing).size > (64 << 20) + (64 << 10), "the writer to start appending");
      // -v: each retry is a debug line, in the log only when asked for.
      const r = runCli([...syncArgs(t), "-v"]);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stderr, /growing\.log: kept changing while being copied \(3 tries\); copied as last read, and again by the next run/);
      const log = readFileSync(t.log, "utf8");
      assert.is(log.match(/growing\.log: changed while being copied \(attempt \d of 3\)/g)?.length, 2);
      // As last read: a prefix of the file as it grows, never bytes it did not hold.
      const copy = readFileSync(join(t.dst, "growing.log"));
      assert.ok(copy.length >= 64 << 20, `${copy.length} bytes copied`);
      assert.ok(copy.equals(readFileSync(growing).subarray(0, copy.length)), "the copy is what the source held");
      assert.equal(temps(t.dst), []);
      assert.equal(await indexLies(t, t.dst), []);
      assert.equal(await digestLies(t), [], "the directory of the file copied as read keeps no digest");
      assert.is(readFileSync(join(t.dst, "calm.txt"), "utf8"), "calm");
    } finally {
      writer.kill("SIGKILL");
      await exited(writer);
    }
    // The index does not claim the state the file grew to: the next run copies it again.
    const r = runCli([...syncArgs(t), "--json"]);
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).counts.update, 1, r.stdout);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("files and a directory vanishing from the source mid-run are info, not errors: exit 0", async () => {
  const t = sandbox();
  try {
    // Sorted order: the big files are copied first, four at once, and the run waits for the
    // first before it goes on; the rest is listed but not yet copied.
    mkdirSync(t.src, { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(join(t.src, `a-big-${i}.bin`), Buffer.alloc(64 << 20, 7));
    writeTree(t.src, { "z-1.txt": "1", "z-2.txt": "2", "zdir": { "inner.txt": "i" } });
    const child = startCli([...syncArgs(t), "--verbose"]);
    await waitFor(() => existsSync(t.dst) && temps(t.dst).length > 0, "the big copy to start", 60_000);
    rmSync(join(t.src, "z-1.txt"));
    rmSync(join(t.src, "z-2.txt"));
    rmSync(join(t.src, "zdir"), { recursive: true });
    const code = await exited(child);
    assert.is(code, 0, child.err());
    assert.match(child.err(), /z-1\.txt: vanished from the source during the run/);
    assert.match(child.err(), /zdir: vanished from the source during the run/);
    assert.not.match(child.err(), /^synchro: /m, "no error line");
    const again = runCli(syncArgs(t));
    assert.is(again.code, 0, again.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

/** A size-limited tmpfs for the replica, when the sandbox lets root mount one; null otherwise. */
function smallDisk(t: Box, size: string): { dir: string; remount(opts: string): void; unmount(): void } | null {
  const dir = join(t.root, "disk");
  mkdirSync(dir);
  if (spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]).status !== 0) return null;
  return {
    dir,
    remount: (opts) => assert.is(spawnSync("mount", ["-o", `remount,${opts}`, dir]).status, 0),
    unmount: () => void spawnSync("umount", [dir]),
  };
}

/**
 * The fallback where no tmpfs can be mounted: ENOSPC injected at apply.ts's boundary, its node:fs
 * calls on temp files, in an in-process sync(). Node only (Deno's node:fs exports are not patchable).
 */
async function fullDiskInjected(t: Box): Promise<void> {
  console.log("  (full disk: no tmpfs here, so ENOSPC is injected at the apply.ts boundary)");
  const fs = (await import("node:fs")).default;
  const { syncBuiltinESMExports } = await import("node:module");
  const { sync } = await import("../src/session.ts");
  const opts = { source: t.src, replica: t.dst, state: t.state };
  writeTree(t.src, { "old.txt": "to be deleted", keep: { "k.txt": "k" } });
  await sync(opts);
  rmSync(join(t.src, "old.txt"));
  writeFileSync(join(t.src, "a.bin"), Buffer.alloc(2 << 20, 1));
  const original = { write: fs.write };
  const enospc = () => Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: "ENOSPC" });
  // The first 1 MiB lands in the temp file, then the disk is full: what a real ENOSPC leaves. A
  // 2 MiB file is a large one, which is copied by chunks through fs.write.
  let written = 0;
  fs.write = ((fd: number, buf: Buffer, off: number, len: number, pos: number, done: (err: Error | null, n?: number) => void) => {
    if (written >= 1 << 20) return void setImmediate(() => done(enospc()));
    written += len;
    original.write(fd, buf, off, len, pos, done);
  }) as unknown as typeof fs.write;
  syncBuiltinESMExports();
  let summary;
  try {
    summary = await sync(opts);
  } finally {
    Object.assign(fs, original);
    syncBuiltinESMExports();
  }
  assert.equal(summary.errors, [{ path: "a.bin", error: "writing replica: ENOSPC: no space left on device, write" }]);
  assert.equal(temps(t.dst), []);
  assert.ok(existsSync(join(t.dst, "old.txt")), "a failing run deletes nothing");
  assert.equal(await indexLies(t, t.dst), []);
  await sync(opts);
  assert.is(rsyncDiff(t.src, t.dst), "");
}

test("a full disk (a real 1 MiB tmpfs): temp file removed, ENOSPC named, index consistent, exit 1, no deletions", async () => {
  const t = sandbox();
  const disk = process.env.SYNCHRO_TEST_NO_MOUNT ? null : smallDisk(t, "1m");
  if (!disk) {
    try {
      if (isDeno) skip("a full replica disk on Deno: no tmpfs here, and Deno's node:fs cannot be patched");
      else await fullDiskInjected(t);
    } finally {
      t.cleanup();
    }
    return;
  }
  try {
    const dst = join(disk.dir, "replica");
    writeTree(t.src, { "old.txt": "to be deleted", keep: { "k.txt": "k" } });
    assert.is(runCli(syncArgs(t, dst)).code, 0);
    rmSync(join(t.src, "old.txt"));
    for (const name of ["a", "b", "c", "d", "e"]) writeFileSync(join(t.src, `${name}.bin`), Buffer.alloc(300 << 10, name.charCodeAt(0)));
    const r = runCli(syncArgs(t, dst));
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /\.bin: writing replica: ENOSPC: no space left on device/);
    assert.match(r.stderr, /skipping 1 deletion because this run had \d+ errors?/);
    assert.equal(temps(dst), [], "no temp file is left behind");
    assert.ok(existsSync(join(dst, "old.txt")), "a failing run deletes nothing");
    assert.equal(await indexLies(t, dst), []);
    assert.equal(await digestLies({ ...t, dst }), [], "no digest for what failed or was not deleted");

    disk.remount("size=4m");
    const healed = runCli(syncArgs(t, dst));
    assert.is(healed.code, 0, healed.stderr);
    assert.is(rsyncDiff(t.src, dst), "");
  } finally {
    disk.unmount();
    t.cleanup();
  }
});

test("a large copy that fills the replica's disk is labelled as writing the replica, not reading the source", async () => {
  const t = sandbox();
  const disk = smallDisk(t, "1m");
  if (!disk) {
    skip("this sandbox does not allow mounting a tmpfs");
    t.cleanup();
    return;
  }
  try {
    const dst = join(disk.dir, "replica");
    // Over 1 MiB: a large file, which the kernel copies (fs.copyFile names the source as its path).
    mkdirSync(t.src, { recursive: true });
    writeFileSync(join(t.src, "big.bin"), Buffer.alloc(3 << 20, 1));
    const r = runCli(syncArgs(t, dst));
    assert.is(r.code, 1, r.stderr);
    // Deno words it as the OS does.
    assert.match(r.stderr, /big\.bin: writing replica: (ENOSPC|No space left on device)/);
    assert.not.match(r.stderr, /reading source/);
    assert.equal(temps(dst), []);
  } finally {
    disk.unmount();
    t.cleanup();
  }
});

test("a read-only replica file system is refused before any write: exit 2, read-only named, index consistent", async () => {
  const t = sandbox();
  const disk = smallDisk(t, "4m");
  if (!disk) {
    skip("a read-only replica file system: this sandbox does not allow mounting a tmpfs");
    t.cleanup();
    return;
  }
  try {
    const dst = join(disk.dir, "replica");
    writeTree(t.src, { "a.txt": "v1", "gone.txt": "g" });
    assert.is(runCli(syncArgs(t, dst)).code, 0);
    writeFileSync(join(t.src, "a.txt"), "v2, changed");
    rmSync(join(t.src, "gone.txt"));
    disk.remount("ro");
    // The replica's lock cannot be taken on it, so the run stops there, having changed nothing.
    const r = runCli(syncArgs(t, dst));
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /lock .* cannot be written .*read-only file system/);
    assert.is(readFileSync(join(dst, "a.txt"), "utf8"), "v1");
    assert.ok(existsSync(join(dst, "gone.txt")));
    assert.equal(await indexLies(t, dst), []);
    disk.remount("rw");
    const healed = runCli(syncArgs(t, dst));
    assert.is(healed.code, 0, healed.stderr);
    assert.is(rsyncDiff(t.src, dst), "");
  } finally {
    disk.unmount();
    t.cleanup();
  }
});

test.run();
