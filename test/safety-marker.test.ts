import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { MARKER, NOBODY, forNobody, replicaNames, rsyncDiff, sandbox, writeTree } from "./fixtures/tree.ts";
import { runCli, syncArgs, syncJson } from "./fixtures/cli.ts";
import { openDatabase } from "../src/store/db.ts";
import { skip } from "./fixtures/skip.ts";

type Box = ReturnType<typeof sandbox>;
const lines = (text: string) => text.trim().split("\n").filter((l) => l.trim() !== "");

/** The id in a replica's marker, or null when it has none. */
function markerId(replica: string): string | null {
  const file = join(replica, MARKER, "id");
  return existsSync(file) ? readFileSync(file, "utf8").split("\n")[0]!.trim() : null;
}

/** Mounts a fresh tmpfs at `dir` (made if missing); false where this sandbox does not allow mounts. */
function mountTmpfs(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", dir]).status === 0;
}

const bind = (disk: string, at: string) => assert.is(spawnSync("mount", ["--bind", disk, at]).status, 0, `mount --bind ${disk} ${at}`);
const umount = (at: string) => assert.is(spawnSync("umount", [at]).status, 0, `umount ${at}`);

/** Unmounts whatever the test left mounted under the sandbox, deepest first. */
function unmountAll(t: Box): void {
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "");
  for (const m of mounts.filter((m) => m.startsWith(t.root + "/")).reverse()) spawnSync("umount", ["-l", m]);
}

function skipped(t: Box, what: string): void {
  skip(`this sandbox does not allow ${what}`);
  t.cleanup();
}

const SOURCE = { "a.txt": "a", docs: { "b.txt": "b", "c.txt": "c" }, photos: { "d.jpg": "d".repeat(5000) } };

test("a replica disk unmounted with its empty mount point left behind is refused with exit 3 and nothing is written there", () => {
  const t = sandbox();
  if (!mountTmpfs(t.dst)) return skipped(t, "a tmpfs mount");
  try {
    writeTree(t.src, SOURCE);
    assert.is(runCli(syncArgs(t)).code, 0);
    umount(t.dst);
    writeTree(t.src, { "new.txt": "new", docs: { "b.txt": "b, changed" } });
    const r = runCli(syncArgs(t));
    assert.is(r.code, 3, r.stderr);
    assert.is(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /marker/);
    assert.match(r.stderr, /unmounted/);
    assert.match(r.stderr, /--force/);
    assert.equal(replicaNames(t.dst), [], "nothing was written onto the parent file system");
    assert.not.ok(existsSync(join(t.dst, MARKER)), "not even a marker");
    // The disk is really lost: --force copies everything again and makes a new marker.
    const forced = runCli(syncArgs(t, "--force"));
    assert.is(forced.code, 0, forced.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.ok(markerId(t.dst), "--force made a new marker");
    assert.is(runCli(syncArgs(t)).code, 0, "the next run is a normal one");
  } finally {
    unmountAll(t);
    t.cleanup();
  }
});

test("a replica disk mounted again after a refused run is brought up to date by the next run", () => {
  const t = sandbox();
  const disk = join(t.root, "disk");
  if (!mountTmpfs(disk)) return skipped(t, "a tmpfs mount");
  try {
    mkdirSync(t.dst);
    bind(disk, t.dst);
    writeTree(t.src, SOURCE);
    assert.is(runCli(syncArgs(t)).code, 0);
    umount(t.dst);
    writeTree(t.src, { "new.txt": "new", docs: { "b.txt": "b, changed" } });
    rmSync(join(t.src, "photos"), { recursive: true });
    assert.is(runCli(syncArgs(t)).code, 3);
    bind(disk, t.dst);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "", "the remounted replica caught up");
  } finally {
    unmountAll(t);
    t.cleanup();
  }
});

test("rotating disks: a replica that holds another synchro marker is rescanned in full and its marker adopted", () => {
  const t = sandbox();
  const diskA = join(t.root, "diskA");
  const diskB = join(t.root, "diskB");
  if (!mountTmpfs(diskA) || !mountTmpfs(diskB)) {
    unmountAll(t);
    return skipped(t, "a tmpfs mount");
  }
  try {
    mkdirSync(t.dst);
    writeTree(t.src, SOURCE);
    bind(diskA, t.dst);
    assert.is(runCli(syncArgs(t)).code, 0);
    const idA = markerId(t.dst);
    umount(t.dst);
    // A new, empty disk is refused like an unmounted one, until --force makes it a replica.
    bind(diskB, t.dst);
    assert.is(runCli(syncArgs(t)).code, 3);
    assert.is(runCli(syncArgs(t, "--force")).code, 0);
    const idB = markerId(t.dst);
    assert.ok(idB && idB !== idA, "disk B has a marker of its own");
    writeTree(t.src, { docs: { "b.txt": "b, changed on the day disk B was in" } });
    assert.is(runCli(syncArgs(t)).code, 0);
    umount(t.dst);
    // Disk A is back: the index describes disk B, so disk A is listed in full, not trusted.
    bind(diskA, t.dst);
    const back = syncJson(t);
    assert.is(back.code, 0, back.stderr);
    assert.is(back.summary.full, true, "disk A was rescanned");
    assert.match(readFileSync(t.log, "utf8"), /has another synchro marker than the index knows/);
    assert.is(rsyncDiff(t.src, t.dst), "", "disk A is up to date");
    assert.is(markerId(t.dst), idA, "disk A keeps its own marker");
    const next = syncJson(t);
    assert.is(next.summary.full, false, "disk A's marker is now the one the index knows");
  } finally {
    unmountAll(t);
    t.cleanup();
  }
});

test("the marker is never mirrored, deleted, counted or reported as drift (a chain src -> mid -> end)", () => {
  const t = sandbox();
  const end = join(t.root, "end");
  const endState = join(t.root, "state2", "index.db");
  try {
    writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" } });
    const first = syncJson(t);
    assert.is(first.code, 0, first.stderr);
    assert.equal([first.summary.counts.create, first.summary.counts.mkdir], [2, 1], "the marker is not counted");
    const chained = syncJson({ src: t.dst, dst: end, state: endState });
    assert.is(chained.code, 0, chained.stderr);
    assert.equal([chained.summary.counts.create, chained.summary.counts.mkdir], [2, 1], "mid's marker is not copied");
    const idEnd = markerId(end);
    assert.ok(idEnd && idEnd !== markerId(t.dst), "end has a marker of its own");
    assert.is(rsyncDiff(t.src, end), "");
    const full = syncJson({ src: t.dst, dst: end, state: endState }, "--full");
    assert.is(full.code, 0, full.stderr);
    assert.is(full.summary.counts.delete + full.summary.counts.rmdir, 0, "--full deletes nothing");
    assert.is(markerId(end), idEnd, "the marker survives --full");
    const status = runCli(["status", t.dst, end, "--state", endState]);
    assert.is(status.code, 0, status.stdout + status.stderr);
    assert.not.match(status.stdout, /\.synchro/);
    // A replica used as a source is empty when only its marker is left: refused like any emptied source.
    for (const name of replicaNames(t.dst)) rmSync(join(t.dst, name), { recursive: true });
    const emptied = runCli(["sync", t.dst, end, "--state", endState]);
    assert.is(emptied.code, 3, emptied.stderr);
    assert.match(emptied.stderr, /is empty/);
  } finally {
    t.cleanup();
  }
});

test("a dry run and status make no marker", () => {
  const t = sandbox();
  try {
    writeTree(t.src, SOURCE);
    mkdirSync(t.dst);
    assert.is(runCli(syncArgs(t, "--dry-run")).code, 0);
    assert.is(runCli(["status", t.src, t.dst, "--state", t.state]).code, 1);
    assert.not.ok(existsSync(join(t.dst, MARKER)));
  } finally {
    t.cleanup();
  }
});

test("an index from before the marker existed gets the marker on the pair's next run, with no refusal", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, SOURCE);
    assert.is(runCli(syncArgs(t)).code, 0);
    // What an index of 0.1.0 looks like once migrated: the pair knows no marker, and the replica has none.
    rmSync(join(t.dst, MARKER), { recursive: true, force: true });
    const db = await openDatabase(t.state);
    try {
      db.exec("UPDATE pairs SET marker = NULL");
    } finally {
      db.close();
    }
    writeTree(t.src, { "new.txt": "new" });
    const r = syncJson(t);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.summary.full, false, "the index is still trusted");
    assert.is(rsyncDiff(t.src, t.dst), "");
    const id = markerId(t.dst);
    assert.match(id ?? "", /^[0-9a-f]{32}$/);
    const check = await openDatabase(t.state);
    try {
      assert.equal(check.prepare("SELECT marker FROM pairs").all().map((row) => row.marker), [id]);
    } finally {
      check.close();
    }
  } finally {
    t.cleanup();
  }
});

test("a replica whose root is read-only gets its marker on an upgraded pair's next run for a non-root user, and keeps its mode", async () => {
  if (process.getuid?.() !== 0) {
    skip("running synchro as another user needs root");
    return;
  }
  const t = sandbox();
  try {
    forNobody(t);
    writeTree(t.src, SOURCE);
    chmodSync(t.src, 0o555);
    assert.is(runCli(syncArgs(t), { uid: NOBODY }).code, 0);
    assert.is(statSync(t.dst).mode & 0o777, 0o555, "the replica root took the source root's mode");
    rmSync(join(t.dst, MARKER), { recursive: true });
    const db = await openDatabase(t.state);
    try {
      db.exec("UPDATE pairs SET marker = NULL");
    } finally {
      db.close();
    }
    const r = runCli(syncArgs(t), { uid: NOBODY });
    assert.is(r.code, 0, r.stderr);
    assert.ok(markerId(t.dst), "the marker was made in the read-only root");
    assert.is(statSync(t.dst).mode & 0o777, 0o555, "and the root's mode was put back");
    assert.is(rsyncDiff(t.src, t.dst), "", "its mtime too");
  } finally {
    t.cleanup();
  }
});

test("a .synchro symlink at the replica root is not followed: nothing is written where it points", () => {
  const t = sandbox();
  const outside = join(t.root, "outside");
  try {
    writeTree(t.src, SOURCE);
    mkdirSync(outside);
    mkdirSync(t.dst);
    symlinkSync(outside, join(t.dst, MARKER));
    const r = runCli(syncArgs(t));
    assert.is(r.code, 2, r.stderr);
    assert.is(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /\.synchro/);
    assert.equal(replicaNames(outside), []);
  } finally {
    t.cleanup();
  }
});

test.run();
