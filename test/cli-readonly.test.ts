import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, lstatSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { sandbox, writeTree, rsyncDiff, chmodSync, rmSync, writeFileSync } from "./fixtures/tree.ts";
import { runCli, syncArgs } from "./fixtures/cli.ts";

/**
 * Root writes into a 0555 directory regardless, so these runs drop to `nobody` when the suite
 * runs as root; otherwise the suite's own user is already bound by the permission bits.
 */
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const user = asRoot ? { uid: NOBODY } : {};
function handOver(root: string): void {
  if (asRoot) assert.is(spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, root]).status, 0);
}

function readOnlyTree(src: string): void {
  writeTree(src, {
    ro: { "a.txt": "a", "move-me.txt": "m", sub: { "b.txt": "b" }, sub2: { "c.txt": "c" }, deeper: { ro2: { "d.txt": "d" } } },
    open: { "e.txt": "e" },
    pad: { "1": "1", "2": "2", "3": "3", "4": "4", "5": "5", "6": "6", "7": "7", "8": "8", "9": "9" },
  });
  for (const d of ["ro/sub", "ro/sub2", "ro/deeper/ro2", "ro/deeper", "ro"]) chmodSync(join(src, d), 0o555);
}

/** Changes inside read-only source dirs, made with the modes opened and then put back. */
function changeInsideReadOnly(src: string): void {
  const ro = join(src, "ro");
  for (const d of ["ro", "ro/sub", "ro/sub2", "ro/deeper", "ro/deeper/ro2"]) chmodSync(join(src, d), 0o755);
  writeFileSync(join(ro, "a.txt"), "a, changed");
  writeFileSync(join(ro, "new.txt"), "new");
  rmSync(join(ro, "sub"), { recursive: true });
  renameSync(join(ro, "sub2"), join(ro, "sub2-renamed"));
  renameSync(join(ro, "move-me.txt"), join(src, "open", "moved.txt"));
  rmSync(join(ro, "deeper", "ro2", "d.txt"));
  for (const d of ["ro/deeper/ro2", "ro/deeper", "ro/sub2-renamed", "ro"]) chmodSync(join(src, d), 0o555);
}

test("read-only directories sync for a non-root user, and again after changes, deletes and renames inside them", () => {
  const t = sandbox();
  try {
    readOnlyTree(t.src);
    handOver(t.root);
    const first = runCli(syncArgs(t), user);
    assert.is(first.code, 0, first.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(lstatSync(join(t.dst, "ro")).mode & 0o777, 0o555);

    changeInsideReadOnly(t.src);
    handOver(t.src);
    const second = runCli(syncArgs(t, "--force"), user);
    assert.is(second.code, 0, second.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(lstatSync(join(t.dst, "ro", "sub2-renamed")).mode & 0o777, 0o555);
  } finally {
    t.cleanup();
  }
});

test("a read-only replica made by cp -a is adopted and takes new files for a non-root user", () => {
  const t = sandbox();
  try {
    readOnlyTree(t.src);
    assert.is(spawnSync("cp", ["-a", t.src, t.dst]).status, 0);
    chmodSync(join(t.src, "ro"), 0o755);
    writeFileSync(join(t.src, "ro", "only-in-source.txt"), "new");
    chmodSync(join(t.src, "ro"), 0o555);
    handOver(t.root);
    const r = runCli(syncArgs(t), user);
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a read-only directory can be replaced by a file and deleted by a non-root user", () => {
  const t = sandbox();
  try {
    readOnlyTree(t.src);
    handOver(t.root);
    assert.is(runCli(syncArgs(t), user).code, 0);
    spawnSync("chmod", ["-R", "u+w", join(t.src, "ro")]);
    rmSync(join(t.src, "ro"), { recursive: true });
    writeFileSync(join(t.src, "ro"), "now a file");
    handOver(t.src);
    const r = runCli(syncArgs(t, "--force"), user);
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("an unreadable file fails alone: exit 1, one error naming it, the rest synced, deletes held back", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "ok.txt": "fine", "secret.txt": "no", "gone.txt": "g", pad: { "1": "1", "2": "2", "3": "3", "4": "4" } });
    handOver(t.root);
    assert.is(runCli(syncArgs(t), user).code, 0);
    rmSync(join(t.src, "gone.txt"));
    writeFileSync(join(t.src, "ok.txt"), "fine, changed");
    writeFileSync(join(t.src, "secret.txt"), "now unreadable");
    chmodSync(join(t.src, "secret.txt"), 0o000);
    if (asRoot) spawnSync("chown", ["0:0", join(t.src, "secret.txt")]);
    const r = runCli(syncArgs(t, "--json"), user);
    assert.is(r.code, 1, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.is(summary.result, "partial");
    assert.equal(summary.errors.map((e: { path: string }) => e.path), ["secret.txt"]);
    assert.match(r.stderr, /secret\.txt: reading source: EACCES/);
    assert.is(readFileSync(join(t.dst, "ok.txt"), "utf8"), "fine, changed");
    assert.ok(existsSync(join(t.dst, "gone.txt")), "deletes wait for a run without errors");
  } finally {
    t.cleanup();
  }
});

test.run();
