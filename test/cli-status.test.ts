import { test } from "uvu";
import * as assert from "uvu/assert";
import { lstatSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff, describeTree, chmodSync, utimesSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from "./fixtures/tree.ts";
import { runCli, isDeno } from "./fixtures/cli.ts";
import { openStore } from "../src/store/store.ts";
import { tryLock } from "../src/replica/lock.ts";
import { inodeAndCtime } from "../src/walk.ts";
import { status } from "../src/index.ts";

type Box = ReturnType<typeof sandbox>;
const sync = (t: Box, ...extra: string[]) => runCli(["sync", t.src, t.dst, "--state", t.state, "-q", ...extra]);
const statusCli = (t: Box, ...extra: string[]) => runCli(["status", t.src, t.dst, "--state", t.state, ...extra]);
const statusJson = (t: Box, ...extra: string[]) => {
  const r = statusCli(t, "--json", ...extra);
  return { code: r.code, ...JSON.parse(r.stdout), stderr: r.stderr };
};

/** A tree with some room, so repairing a few extras stays far below the 50% delete limit. */
function synced(t: Box): void {
  const spec: Record<string, string> = {};
  for (let i = 0; i < 12; i++) spec[`bulk/f${i}.txt`] = `bulk ${i}`;
  writeTree(t.src, { ...spec, "a.txt": "alpha", "b.txt": "bravo", "c.txt": "charlie", sub: { "d.txt": "delta", deep: {} }, link: { link: "a.txt" } });
  assert.is(sync(t).code, 0);
}

test("status on a corrupt index says so in one line, exit 2, and leaves the file where it is", () => {
  const t = sandbox();
  try {
    synced(t);
    writeFileSync(t.state, "this is not a SQLite database, it is garbage ".repeat(200));
    const before = readFileSync(t.state);
    const r = statusCli(t);
    assert.is(r.code, 2, r.stderr);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /index .* is unreadable/);
    assert.equal(readFileSync(t.state), before, "the index file is not moved or rewritten");
  } finally {
    t.cleanup();
  }
});

test("a replica just synced is in sync: exit 0, and the last run is reported", async () => {
  const t = sandbox();
  try {
    synced(t);
    const human = statusCli(t);
    assert.is(human.code, 0, human.stderr + human.stdout);
    assert.match(human.stdout, /^in sync\n/);
    assert.match(human.stdout, /last run 1 \(sync\) at .*: ok/);
    const s = statusJson(t);
    assert.equal({ inSync: s.inSync, pending: s.pending, drift: s.drift }, { inSync: true, pending: [], drift: [] });
    assert.is(s.lastRun.id, 1);
    assert.is(s.lastRun.result, "ok");
    assert.is(s.lastRun.counts.create, 16);
    const { code: _code, stderr: _stderr, ...printed } = s;
    assert.equal(await status({ source: t.src, replica: t.dst, state: t.state }), printed);
  } finally {
    t.cleanup();
  }
});

test("pending lists the same actions and paths as sync --dry-run, and exits 1", () => {
  const t = sandbox();
  try {
    synced(t);
    writeFileSync(join(t.src, "a.txt"), "alpha, longer now");
    writeFileSync(join(t.src, "new.txt"), "new");
    rmSync(join(t.src, "c.txt"));
    mkdirSync(join(t.src, "newdir"));
    const dry = JSON.parse(runCli(["sync", t.src, t.dst, "--state", t.state, "--dry-run", "--json"]).stdout);
    const s = statusJson(t);
    assert.is(s.code, 1);
    assert.is(s.inSync, false);
    assert.equal(s.pending, dry.plan.map((p: { action: string; path: string }) => ({ action: p.action, path: p.path })));
    assert.equal(s.pending.map((p: { action: string; path: string }) => `${p.action} ${p.path}`).sort(), ["create new.txt", "delete c.txt", "mkdir newdir", "update a.txt"]);
    assert.equal(s.drift, []);
  } finally {
    t.cleanup();
  }
});

test("every kind of drift is found, and status changes nothing: no write, no run, no lock", async () => {
  const t = sandbox();
  try {
    synced(t);
    writeFileSync(join(t.dst, "a.txt"), "tampered with");
    rmSync(join(t.dst, "b.txt"));
    writeFileSync(join(t.dst, "stray.txt"), "not from the source");
    rmSync(join(t.dst, "c.txt"));
    mkdirSync(join(t.dst, "c.txt"));
    chmodSync(join(t.dst, "sub", "d.txt"), 0o600);
    chmodSync(join(t.dst, "sub", "deep"), 0o700);
    rmSync(join(t.dst, "link"));
    symlinkSync("elsewhere", join(t.dst, "link"));
    const before = describeTree(t.dst);
    // Another sync holds the replica's run lock: status neither waits for it nor takes it.
    const replica = realpathSync(t.dst);
    const held = await tryLock(replica, { pid: process.pid, host: "", since: Date.now() });
    assert.ok("lock" in held);
    let s;
    try {
      s = statusJson(t);
      const again = await tryLock(replica, { pid: process.pid + 1, host: "", since: Date.now() });
      assert.ok("holder" in again && again.holder?.pid === process.pid, "the lock is still ours");
    } finally {
      held.lock.release();
    }
    assert.is(s.code, 1, s.stderr);
    assert.equal(s.pending, []);
    assert.equal(
      s.drift.map((d: { path: string; kind: string }) => `${d.kind} ${d.path}`).sort(),
      ["extra stray.txt", "missing b.txt", "mode sub/d.txt", "mode sub/deep", "modified a.txt", "modified link", "type c.txt"],
    );
    assert.equal(describeTree(t.dst), before);
    assert.is(statusJson(t).lastRun.id, 1);
  } finally {
    t.cleanup();
  }
});

test("sync --full repairs every kind of drift, then status exits 0", () => {
  const t = sandbox();
  try {
    synced(t);
    writeFileSync(join(t.dst, "a.txt"), "tampered with");
    rmSync(join(t.dst, "b.txt"));
    writeFileSync(join(t.dst, "stray.txt"), "not from the source");
    mkdirSync(join(t.dst, "stray-dir"));
    rmSync(join(t.dst, "c.txt"));
    mkdirSync(join(t.dst, "c.txt"));
    rmSync(join(t.dst, "sub", "deep"), { recursive: true });
    writeFileSync(join(t.dst, "sub", "deep"), "a file where a dir was");
    chmodSync(join(t.dst, "sub", "d.txt"), 0o600);
    chmodSync(join(t.dst, "bulk"), 0o700);
    rmSync(join(t.dst, "link"));
    symlinkSync("elsewhere", join(t.dst, "link"));
    assert.is(statusCli(t).code, 1);
    const r = sync(t, "--full");
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    const after = statusCli(t);
    assert.is(after.code, 0, after.stdout);
    assert.match(after.stdout, /^in sync\n/);
  } finally {
    t.cleanup();
  }
});

/** Same size, and the mtime put back: what a careless tool (or bit rot) leaves behind. */
function tamperKeepingStat(abs: string): void {
  const st = lstatSync(abs);
  const old = readFileSync(abs, "utf8");
  writeFileSync(abs, old.toUpperCase());
  utimesSync(abs, st.atime, st.mtime);
}

test("a same-size same-mtime change is caught: by its new ctime, and by --verify when even ctime agrees", async () => {
  const t = sandbox();
  try {
    synced(t);
    const abs = join(t.dst, "a.txt");
    tamperKeepingStat(abs);
    assert.equal(statusJson(t, "--verify").drift, [{ path: "a.txt", kind: "modified" }]);
    // Deno reads ctime in whole seconds, so only Node sees a ctime moved within the second of the sync.
    if (!isDeno) assert.equal(statusJson(t).drift, [{ path: "a.txt", kind: "modified" }]);
    // Bit rot leaves the ctime alone too: make the index agree with the file's stat, as it then would.
    const store = await openStore(t.state, { now: Date.now });
    const pair = store.pairs()[0]!.id;
    const row = store.entries.get(pair, "a.txt")!;
    store.write(() => store.entries.put(pair, "a.txt", { ...row, ...inodeAndCtime(abs) }));
    store.close();
    const quick = statusJson(t);
    assert.is(quick.code, 0, "without --verify only the stat is compared");
    const verified = statusJson(t, "--verify");
    assert.is(verified.code, 1);
    assert.equal(verified.drift, [{ path: "a.txt", kind: "modified" }]);
    assert.is(statusCli(t, "--verify").code, 1);
  } finally {
    t.cleanup();
  }
});

test("a touched file with intact content is not drift, even with --verify", () => {
  const t = sandbox();
  try {
    synced(t);
    const abs = join(t.dst, "a.txt");
    const st = lstatSync(abs);
    writeFileSync(abs, readFileSync(abs));
    utimesSync(abs, st.atime, st.mtime);
    assert.is(statusCli(t).code, 0);
    assert.is(statusCli(t, "--verify").code, 0);
  } finally {
    t.cleanup();
  }
});

test("human output caps long lists with 'and N more'", () => {
  const t = sandbox();
  try {
    synced(t);
    for (let i = 0; i < 25; i++) writeFileSync(join(t.src, `n${String(i).padStart(2, "0")}.txt`), "x");
    const r = statusCli(t);
    assert.is(r.code, 1);
    assert.match(r.stdout, /^not in sync: 25 pending, 0 drifted/);
    assert.match(r.stdout, /create\s+n00\.txt/);
    assert.match(r.stdout, /\.\.\. and 5 more\n/);
  } finally {
    t.cleanup();
  }
});

test("a pair never synced is all pending and creates no index", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "alpha" });
    const s = statusJson(t);
    assert.is(s.code, 1);
    assert.equal(s.pending, [{ action: "create", path: "a.txt" }]);
    assert.is(s.lastRun, null);
    assert.not.ok(runCli(["status", "--state", t.state]).stdout.includes(t.src));
    assert.throws(() => lstatSync(t.state));
    assert.throws(() => lstatSync(t.dst));
  } finally {
    t.cleanup();
  }
});

test("without a pair, status lists every pair with its last run", () => {
  const t = sandbox();
  try {
    synced(t);
    const other = join(t.root, "dst2");
    assert.is(runCli(["sync", t.src, other, "--state", t.state, "-q"]).code, 0);
    const r = runCli(["status", "--state", t.state, "--json"]);
    assert.is(r.code, 0, r.stderr);
    const pairs = JSON.parse(r.stdout);
    assert.equal(pairs.map((p: { replica: string; inSync: boolean }) => [p.replica.endsWith("/dst") || p.replica.endsWith("/dst2"), p.inSync]), [[true, true], [true, true]]);
    assert.is(pairs[1].lastRun.result, "ok");
    const human = runCli(["status", "--state", t.state]);
    assert.is(human.code, 0);
    assert.match(human.stdout, /in sync .* -> .*dst2\n  last run 2 \(sync\)/);
  } finally {
    t.cleanup();
  }
});

test("without a pair, status computes each pair's real state: pending or drifted pairs are not in sync (exit 1)", () => {
  const t = sandbox();
  try {
    synced(t);
    const other = join(t.root, "dst2");
    assert.is(runCli(["sync", t.src, other, "--state", t.state, "-q"]).code, 0);
    writeFileSync(join(t.src, "new.txt"), "pending for both pairs");
    const r = runCli(["status", "--state", t.state, "--json"]);
    assert.is(r.code, 1, r.stdout);
    const pairs = JSON.parse(r.stdout);
    assert.equal(pairs.map((p: { inSync: boolean; pending: number }) => [p.inSync, p.pending]), [[false, 1], [false, 1]]);
    assert.is(runCli(["sync", t.src, t.dst, "--state", t.state, "-q"]).code, 0);
    assert.is(runCli(["sync", t.src, other, "--state", t.state, "-q"]).code, 0);
    rmSync(join(other, "new.txt"));
    const drifted = runCli(["status", "--state", t.state]);
    assert.is(drifted.code, 1, drifted.stdout);
    assert.match(drifted.stdout, /not in sync  .* -> .*dst2 \(0 pending, 1 drifted\)/);
    rmSync(t.dst, { recursive: true });
    const gone = JSON.parse(runCli(["status", "--state", t.state, "--json"]).stdout);
    assert.is(gone[0].inSync, false);
    assert.match(gone[0].error, /replica .* is gone/);
  } finally {
    t.cleanup();
  }
});

test("bad input to status is one line and exit 2", () => {
  const t = sandbox();
  try {
    const one = runCli(["status", t.src, "--state", t.state]);
    assert.is(one.code, 2);
    assert.match(one.stderr, /both <source> and <replica>, or neither/);
    const missing = statusCli(t);
    assert.is(missing.code, 2);
    assert.is(missing.stderr.trim().split("\n").length, 1);
    assert.match(missing.stderr, /source does not exist/);
  } finally {
    t.cleanup();
  }
});

test.run();
