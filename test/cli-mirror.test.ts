import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { sandbox, writeTree, rsyncDiff, chmodSync, utimesSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from "./fixtures/tree.ts";
import { isDeno, runCli, syncArgs, syncJson } from "./fixtures/cli.ts";
import { linkSync } from "node:fs";

/** Deno reads and writes mtimes in milliseconds; Node keeps microseconds. */
const mtimeUnitNs = isDeno ? 1_000_000n : 1000n;
const mtimeIn = (p: string) => statSync(p, { bigint: true }).mtimeNs / mtimeUnitNs;

test("file content, mtime to the microsecond and permission bits are mirrored", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "hello", "run.sh": "#!/bin/sh\n", "secret": "s", big: "x".repeat(3 << 20) });
    chmodSync(join(t.src, "a.txt"), 0o640);
    chmodSync(join(t.src, "run.sh"), 0o755);
    chmodSync(join(t.src, "secret"), 0o400);
    utimesSync(join(t.src, "a.txt"), 1_000_000_000, 1_234_567_890.654321);
    // Many sub-microsecond fractions, so a rounding slip in either direction shows up.
    const many: string[] = [];
    for (let i = 0; i < 200; i++) {
      const name = `many/f${i}`;
      writeTree(t.src, { [name]: String(i) });
      utimesSync(join(t.src, name), 1_000_000_000, 1_795_000_000 + i + ((i * 7919) % 1000) / 1000 + (i % 997) / 1e6 + 3.7e-7);
      many.push(name);
    }
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    for (const name of ["a.txt", "run.sh", "secret", "big", ...many]) {
      assert.is(mtimeIn(join(t.dst, name)), mtimeIn(join(t.src, name)), `${name} mtime`);
      assert.is(lstatSync(join(t.dst, name)).mode & 0o7777, lstatSync(join(t.src, name)).mode & 0o7777, `${name} mode`);
    }
    assert.is(readFileSync(join(t.dst, "big"), "utf8").length, 3 << 20);
  } finally {
    t.cleanup();
  }
});

test("mtimes before 1970 are mirrored, not replaced by the time of the copy", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "old.txt": "from 1960", d: { "older.txt": "from 1901" } });
    utimesSync(join(t.src, "old.txt"), new Date(0), new Date(-300_000_000_123));
    utimesSync(join(t.src, "d", "older.txt"), new Date(0), new Date(-2_169_000_000_000));
    utimesSync(join(t.src, "d"), new Date(0), new Date(-1_000));
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    for (const p of ["old.txt", "d/older.txt", "d"]) {
      const ms = (abs: string) => statSync(abs, { bigint: true }).mtimeNs / 1_000_000n;
      assert.is(ms(join(t.dst, p)), ms(join(t.src, p)), p);
    }
    const again = syncJson(t);
    assert.is(again.summary.counts.meta + again.summary.counts.update, 0);
  } finally {
    t.cleanup();
  }
});

test("empty directories arrive with their own mode and mtime", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { empty: {}, outer: { inner: {} } });
    chmodSync(join(t.src, "empty"), 0o710);
    utimesSync(join(t.src, "empty"), 1_000_000_000, 1_100_000_000.25);
    utimesSync(join(t.src, "outer", "inner"), 1_000_000_000, 1_200_000_000);
    utimesSync(join(t.src, "outer"), 1_000_000_000, 1_300_000_000);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(lstatSync(join(t.dst, "empty")).mode & 0o7777, 0o710);
    for (const d of ["empty", "outer", "outer/inner"]) assert.is(mtimeIn(join(t.dst, d)), mtimeIn(join(t.src, d)), d);
  } finally {
    t.cleanup();
  }
});

test("a read-only source directory syncs, and again after changes inside it", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { ro: { "a": "1", sub: { "b": "2" } } });
    chmodSync(join(t.src, "ro", "sub"), 0o555);
    chmodSync(join(t.src, "ro"), 0o555);
    let r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(lstatSync(join(t.dst, "ro")).mode & 0o777, 0o555);

    chmodSync(join(t.src, "ro"), 0o755);
    writeFileSync(join(t.src, "ro", "a"), "changed");
    writeFileSync(join(t.src, "ro", "new"), "new");
    rmSync(join(t.src, "ro", "sub", "b"));
    chmodSync(join(t.src, "ro", "sub"), 0o755);
    writeFileSync(join(t.src, "ro", "sub", "c"), "3");
    chmodSync(join(t.src, "ro", "sub"), 0o555);
    chmodSync(join(t.src, "ro"), 0o555);
    r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(lstatSync(join(t.dst, "ro", "sub")).mode & 0o777, 0o555);
  } finally {
    t.cleanup();
  }
});

test("symlinks are copied verbatim and never followed: dangling, absolute, loops, links to dirs", () => {
  const t = sandbox();
  try {
    writeTree(join(t.root, "outside"), { "o.txt": "outside" });
    writeTree(t.src, {
      d: { "f": "in d" },
      "to-d": { link: "d" },
      "to-outside": { link: join(t.root, "outside") },
      abs: { link: "/etc/hostname" },
      dangling: { link: "no/such/thing" },
      loop: { link: "loop" },
      "loop-a": { link: "loop-b" },
      "loop-b": { link: "loop-a" },
      "odd target": { link: "../../ with spaces/\ttab" },
    });
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    for (const name of ["to-d", "to-outside", "abs", "dangling", "loop", "loop-a", "loop-b", "odd target"]) {
      assert.ok(lstatSync(join(t.dst, name)).isSymbolicLink(), name);
      assert.is(readlinkSync(join(t.dst, name)), readlinkSync(join(t.src, name)), name);
    }
    const second = syncJson(t);
    assert.is(second.code, 0, second.stderr);
    assert.is(second.summary.counts.symlink, 0);
  } finally {
    t.cleanup();
  }
});

test("a fifo in the source is skipped with a warning naming it, and the rest syncs", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a": "1" });
    assert.is(spawnSync("mkfifo", [join(t.src, "pipe")]).status, 0);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /pipe: special file/);
    assert.not.ok(existsSync(join(t.dst, "pipe")));
    assert.is(readFileSync(join(t.dst, "a"), "utf8"), "1");
  } finally {
    t.cleanup();
  }
});

test("hard links are copied as independent files", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "one": "shared", d: {} });
    linkSync(join(t.src, "one"), join(t.src, "two"));
    linkSync(join(t.src, "one"), join(t.src, "d", "three"));
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    const inos = ["one", "two", "d/three"].map((p) => lstatSync(join(t.dst, p)).ino);
    assert.is(new Set(inos).size, 3);
    writeFileSync(join(t.dst, "one"), "only this one");
    assert.is(readFileSync(join(t.dst, "two"), "utf8"), "shared");
  } finally {
    t.cleanup();
  }
});

test("deletions propagate: files, links, empty dirs and whole subtrees", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { keep: "k", "f": "f", l: { link: "f" }, empty: {}, tree: { a: { b: { c: "c" } }, d: "d" } });
    assert.is(runCli(syncArgs(t)).code, 0);
    for (const p of ["f", "l", "empty", "tree"]) rmSync(join(t.src, p), { recursive: true });
    const r = syncJson(t, "--force");
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(r.summary.counts.delete, 4);
    assert.is(r.summary.counts.rmdir, 4);
  } finally {
    t.cleanup();
  }
});

/** Makes `name` in src the given kind, replacing whatever is there. */
function become(src: string, name: string, kind: "file" | "dir" | "symlink"): void {
  const p = join(src, name);
  rmSync(p, { recursive: true, force: true });
  if (kind === "file") writeFileSync(p, `now a file: ${name}`);
  else if (kind === "dir") writeTree(p, { inside: `in ${name}`, deeper: { x: "x" } });
  else symlinkSync(`target-of-${name}`, p);
}

test("type changes work in every direction", () => {
  const t = sandbox();
  try {
    const moves: [string, "file" | "dir" | "symlink", "file" | "dir" | "symlink"][] = [
      ["file-to-dir", "file", "dir"], ["dir-to-file", "dir", "file"], ["file-to-link", "file", "symlink"],
      ["link-to-dir", "symlink", "dir"], ["dir-to-link", "dir", "symlink"], ["link-to-file", "symlink", "file"],
    ];
    mkdirSync(t.src);
    writeTree(t.src, { pad: { p1: "1", p2: "2", p3: "3", p4: "4", p5: "5", p6: "6", p7: "7", p8: "8" } });
    for (const [name, from] of moves) become(t.src, name, from);
    assert.is(runCli(syncArgs(t)).code, 0);
    assert.is(rsyncDiff(t.src, t.dst), "");
    for (const [name, , to] of moves) become(t.src, name, to);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    // And back again, so each direction also runs against a replica the previous change wrote.
    for (const [name, from] of moves) become(t.src, name, from);
    const back = runCli(syncArgs(t));
    assert.is(back.code, 0, back.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("the replica folder is created when missing and its parent exists", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: "1" });
    const dst = join(t.root, "new-replica");
    const r = runCli(["sync", t.src, dst, "--state", t.state]);
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, dst), "");
  } finally {
    t.cleanup();
  }
});

test.run();
