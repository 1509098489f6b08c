import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, describeTree, rsyncDiff, chmodSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";

const syncArgs = (t: ReturnType<typeof sandbox>, ...extra: string[]) => ["sync", t.src, t.dst, "--state", t.state, ...extra];

test("the first sync makes an exact mirror: files, empty dirs, symlinks, modes", () => {
  const t = sandbox();
  try {
    writeTree(t.src, {
      "a.txt": "hello",
      empty: {},
      deep: { er: { "f.bin": "x".repeat(5000) } },
      "rel-link": { link: "a.txt" },
      "abs-link": { link: "/etc/hostname" },
      dangling: { link: "nowhere/at/all" },
      loop: { link: "loop" },
    });
    chmodSync(join(t.src, "a.txt"), 0o600);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(readlinkSync(join(t.dst, "loop")), "loop");
    assert.ok(lstatSync(join(t.dst, "empty")).isDirectory());
  } finally {
    t.cleanup();
  }
});

test("relative source, replica, index and log paths resolve from where the command runs, twice over", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b", e: { "c.txt": "c" } } });
    const before = describeTree(t.src);
    for (const round of [1, 2]) {
      if (round === 2) writeFileSync(join(t.src, "d", "e", "c.txt"), "c2");
      const r = runCli(["sync", "src", "dst", "--state", "state/index.db", "--log", "run.log"], { cwd: t.root });
      assert.is(r.code, 0, r.stderr);
      assert.is(rsyncDiff(t.src, t.dst), "");
      assert.ok(existsSync(join(t.root, "state", "index.db")));
      assert.match(readFileSync(join(t.root, "run.log"), "utf8"), round === 1 ? /3 created/ : /INFO \[run 2\] update d\/e\/c\.txt/);
    }
    // Nothing landed inside the source, where the walk lists each directory from.
    assert.equal(Object.keys(describeTree(t.src)).sort(), Object.keys(before).sort());
  } finally {
    t.cleanup();
  }
});

test("the original form `synchro <source> <replica>` still syncs", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "v1" });
    const r = runCli([t.src, t.dst, "--state", t.state]);
    assert.is(r.code, 0, r.stderr);
    assert.is(readFileSync(join(t.dst, "a.txt"), "utf8"), "v1");
  } finally {
    t.cleanup();
  }
});

test("changes, deletions and type changes propagate on the next run", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { keep: { "k1": "1", "k2": "2", "k3": "3", "k4": "4", "k5": "5" }, "f": "file", d: { inner: "i" }, l: { link: "f" }, gone: "bye" });
    assert.is(runCli(syncArgs(t)).code, 0);
    rmSync(join(t.src, "f"));
    mkdirSync(join(t.src, "f"));
    writeFileSync(join(t.src, "f", "now-a-dir"), "yes");
    rmSync(join(t.src, "d"), { recursive: true });
    writeFileSync(join(t.src, "d"), "now a file");
    rmSync(join(t.src, "l"));
    mkdirSync(join(t.src, "l"));
    rmSync(join(t.src, "gone"));
    writeFileSync(join(t.src, "keep", "k1"), "changed content");
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.not.ok(existsSync(join(t.dst, "gone")));
  } finally {
    t.cleanup();
  }
});

test("a missing source is one clear line, exit 2, and nothing is created", () => {
  const t = sandbox();
  try {
    const r = runCli(syncArgs(t));
    assert.is(r.code, 2);
    assert.match(r.stderr, /source does not exist/);
    assert.is(r.stderr.trim().split("\n").length, 1);
    assert.not.ok(existsSync(t.dst));
    assert.not.ok(existsSync(t.state));
  } finally {
    t.cleanup();
  }
});

test.run();
