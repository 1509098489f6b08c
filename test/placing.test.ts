import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, chownSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { sync } from "../src/index.ts";
import { sandbox, writeTree, rsyncDiff, writeFileSync, mkdirSync, forNobody, NOBODY } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";

// Re-syncs rename updated copies into place on libuv's threads (src/placing.ts): these are the
// cases where something else reads the replica or the index while such renames are in flight.

const files = (n: number, tag: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}.txt`, `${tag} ${i}`]));
const rewrite = (dir: string, n: number, tag: string) => {
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}.txt`), `${tag} ${i} rewritten, and longer`);
};
const tempFiles = (root: string) => readdirSync(root, { recursive: true, encoding: "utf8" }).filter((p) => /(^|\/)\.synchro-.*\.tmp$/.test(p));

test("updates land in a read-only directory, run by a user its mode binds", () => {
  const t = sandbox();
  try {
    forNobody(t);
    // The directory's settle puts its mode back only once the renames into it have landed; the
    // race it closes is too narrow to hit on demand, so this checks the whole path end to end.
    const big = (tag: string) => Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}.txt`, `${tag} ${i} `.repeat(4000)]));
    writeTree(t.src, { ro: big("ro") });
    chmodSync(join(t.src, "ro"), 0o555);
    const run = () => runCli(["sync", t.src, t.dst, "--state", t.state, "--json"], { uid: NOBODY });
    assert.is(run().code, 0);
    for (let i = 0; i < 200; i++) writeFileSync(join(t.src, "ro", `f${i}.txt`), `new ${i} `.repeat(5000));
    const r = run();
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).counts.update, 200);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("rename detection waits for the renames in flight: a rotated log among many updates", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { logs: { "app.log": "first version of the log\n", ...files(100, "l") } });
    const opts = { source: t.src, replica: t.dst, state: t.state };
    await sync(opts);
    rewrite(join(t.src, "logs"), 100, "l");
    renameSync(join(t.src, "logs", "app.log"), join(t.src, "logs", "app.log.1"));
    writeFileSync(join(t.src, "logs", "app.log"), "second version, a different size\n");
    const s = await sync(opts);
    assert.is(s.result, "ok", JSON.stringify(s.errors));
    assert.is(readFileSync(join(t.dst, "logs", "app.log.1"), "utf8"), "first version of the log\n");
    assert.is(readFileSync(join(t.dst, "logs", "app.log"), "utf8"), "second version, a different size\n");
    assert.is(rsyncDiff(t.src, t.dst), "");
    // What the index recorded is what is there: a checksum run finds nothing to copy.
    const check = await sync({ ...opts, checksum: true });
    assert.is(check.counts.update + check.counts.create, 0);
  } finally {
    t.cleanup();
  }
});

test("a stop with renames in flight records each one that landed, and the next run finishes", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: files(300, "a"), b: files(300, "b") });
    const opts = { source: t.src, replica: t.dst, state: t.state };
    await sync(opts);
    rewrite(join(t.src, "a"), 300, "a");
    rewrite(join(t.src, "b"), 300, "b");
    const stop = new AbortController();
    let ops = 0;
    const onEvent = (e: { type: string }) => {
      if (e.type === "op" && ++ops === 50) stop.abort();
    };
    const err = await sync({ ...opts, onEvent, signal: stop.signal }).then(() => null, (e: unknown) => e);
    assert.is((err as { code?: string } | null)?.code, "ABORTED");
    assert.equal(tempFiles(t.dst), []);
    const s = await sync(opts);
    assert.is(s.result, "ok");
    // Every update the stopped run made was recorded, so none is made twice.
    assert.is(s.counts.update, 600 - ops);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a failed rename still in flight keeps a directory from being replaced later in the run", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "r1.txt": "1", "r2.txt": "2", "r3.txt": "3", zdir: { "k.txt": "k", sub: { "k2.txt": "k2" } } });
    assert.is(runCli(["sync", t.src, t.dst, "--state", t.state]).code, 0);
    for (const n of [1, 2, 3]) writeFileSync(join(t.src, `r${n}.txt`), `${n} updated`);
    // The rename onto r2.txt fails (a directory now stands there); zdir turns into a file after it.
    rmSync(join(t.dst, "r2.txt"));
    mkdirSync(join(t.dst, "r2.txt"));
    writeFileSync(join(t.dst, "r2.txt", "planted"), "x");
    rmSync(join(t.src, "zdir"), { recursive: true });
    writeFileSync(join(t.src, "zdir"), "now a file");
    const r = runCli(["sync", t.src, t.dst, "--state", t.state, "--force"]);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /r2\.txt: writing replica: EISDIR/);
    // Replacing a directory is a deletion: none runs after an error.
    assert.match(r.stderr, /skipping \d+ deletions? because this run had 1 error\b/);
    assert.ok(statSync(join(t.dst, "zdir")).isDirectory());
  } finally {
    t.cleanup();
  }
});

test("a read-only source root: updates land in the replica root, run by a user its mode binds", () => {
  const t = sandbox();
  try {
    forNobody(t);
    mkdirSync(t.src);
    chownSync(t.src, NOBODY, NOBODY);
    for (let i = 0; i < 20; i++) writeFileSync(join(t.src, `r${i}.txt`), `r ${i}`);
    chmodSync(t.src, 0o555);
    const run = () => runCli(["sync", t.src, t.dst, "--state", t.state], { uid: NOBODY });
    assert.is(run().code, 0);
    chmodSync(t.src, 0o755);
    for (let i = 0; i < 20; i++) writeFileSync(join(t.src, `r${i}.txt`), `r ${i} updated`);
    chmodSync(t.src, 0o555);
    const r = run();
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(statSync(t.dst).mode & 0o777, 0o555, "the replica root's mode is put back");
  } finally {
    t.cleanup();
  }
});

test("an update over a replica file swapped for a fifo or a symlink replaces it, and never waits on the fifo", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { d: files(20, "v1") });
    // Killed after 30 s: a run stuck in an open cannot hear a SIGTERM.
    const run = () => runCli(["sync", t.src, t.dst, "--state", t.state, "--json"], { timeoutMs: 30_000 });
    assert.is(run().code, 0);
    // A re-sync trusts the index and does not look at the replica: on ext4 each update holds the
    // file it replaces by its path alone (src/placing.ts), and a read open of this fifo would
    // wait for a writer forever.
    rmSync(join(t.dst, "d", "f1.txt"));
    assert.is(spawnSync("mkfifo", [join(t.dst, "d", "f1.txt")]).status, 0);
    const outside = join(t.root, "outside.txt");
    writeFileSync(outside, "not the replica's");
    rmSync(join(t.dst, "d", "f2.txt"));
    symlinkSync(outside, join(t.dst, "d", "f2.txt"));
    rewrite(join(t.src, "d"), 20, "v2");
    const r = run();
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).counts.update, 20);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(readFileSync(outside, "utf8"), "not the replica's");
  } finally {
    t.cleanup();
  }
});

test.run();
