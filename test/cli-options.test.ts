import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { sandbox, writeTree, rsyncDiff, describeTree, writeFileSync, utimesSync, rmSync, mkdirSync } from "./fixtures/tree.ts";
import { opsDone, runCli, syncArgs, syncJson } from "./fixtures/cli.ts";

const fileHash = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

test("--exclude keeps matching paths out of the replica and never deletes them there", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", "b.log": "log", cache: { "x": "x" }, sub: { "c.log": "c", "d.txt": "d" } });
    writeTree(t.dst, { "old.log": "replica's own log", cache: { "y": "kept" } });
    const r = runCli(syncArgs(t, "--exclude", "*.log", "--exclude", "cache/"));
    assert.is(r.code, 0, r.stderr);
    assert.ok(existsSync(join(t.dst, "a.txt")));
    assert.ok(existsSync(join(t.dst, "sub", "d.txt")));
    assert.not.ok(existsSync(join(t.dst, "b.log")));
    assert.not.ok(existsSync(join(t.dst, "sub", "c.log")));
    assert.not.ok(existsSync(join(t.dst, "cache", "x")));
    assert.is(readFileSync(join(t.dst, "old.log"), "utf8"), "replica's own log");
    assert.is(readFileSync(join(t.dst, "cache", "y"), "utf8"), "kept");
    // Later runs, from the index, leave them alone too.
    writeFileSync(join(t.src, "b.log"), "more log");
    const again = runCli(syncArgs(t, "--exclude", "*.log", "--exclude", "cache/"));
    assert.is(again.code, 0, again.stderr);
    assert.not.ok(existsSync(join(t.dst, "b.log")));
    assert.ok(existsSync(join(t.dst, "old.log")));
  } finally {
    t.cleanup();
  }
});

test(".synchroignore globs (with # comments and blank lines) exclude like --exclude", () => {
  const t = sandbox();
  try {
    writeTree(t.src, {
      ".synchroignore": "# build output\nbuild/\n\n  *.tmp  \n# not a pattern: keep.txt\n",
      "keep.txt": "k", "x.tmp": "t", build: { "out.o": "o" }, src: { "y.tmp": "t", "main.c": "c" },
    });
    writeTree(t.dst, { build: { "replica-only": "stays" } });
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.ok(existsSync(join(t.dst, "keep.txt")));
    assert.ok(existsSync(join(t.dst, "src", "main.c")));
    assert.not.ok(existsSync(join(t.dst, "x.tmp")));
    assert.not.ok(existsSync(join(t.dst, "src", "y.tmp")));
    assert.not.ok(existsSync(join(t.dst, "build", "out.o")));
    assert.ok(existsSync(join(t.dst, "build", "replica-only")));
  } finally {
    t.cleanup();
  }
});

test("an invalid glob in .synchroignore is exit 2 with one line naming it", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { ".synchroignore": "ok/\n[unclosed\n", "a": "a" });
    const r = runCli(syncArgs(t));
    assert.is(r.code, 2);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /\[unclosed/);
    assert.not.ok(existsSync(t.dst));
  } finally {
    t.cleanup();
  }
});

test("--dry-run prints the itemized plan and changes neither the replica nor the index", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", "gone.txt": "bye", d: { "b.txt": "b" }, pad: { "1": "1", "2": "2", "3": "3", "4": "4" } });
    assert.is(runCli(syncArgs(t)).code, 0);
    writeFileSync(join(t.src, "a.txt"), "changed");
    writeFileSync(join(t.src, "new file.txt"), "new");
    mkdirSync(join(t.src, "newdir"));
    rmSync(join(t.src, "gone.txt"));
    const before = describeTree(t.dst);
    const indexBefore = fileHash(t.state);
    const dry = runCli(syncArgs(t, "--dry-run"));
    assert.is(dry.code, 0, dry.stderr);
    const lines = dry.stdout.trim().split("\n");
    assert.ok(lines.some((l) => /\bupdate\s+a\.txt$/.test(l)), dry.stdout);
    assert.ok(lines.some((l) => /\bcreate\s+new file\.txt$/.test(l)), dry.stdout);
    assert.ok(lines.some((l) => /\bmkdir\s+newdir\/$/.test(l)), dry.stdout);
    assert.ok(lines.some((l) => /\bdelete\s+gone\.txt$/.test(l)), dry.stdout);
    assert.is(lines.length, 5, dry.stdout);
    assert.match(lines[4]!, /^dry run, nothing changed; would be: 1 created, 1 updated, 1 deleted; 1 dir made; /);
    assert.equal(describeTree(t.dst), before);
    assert.is(fileHash(t.state), indexBefore);
    // The real run then does exactly what the dry run announced.
    const real = syncJson(t);
    assert.is(real.code, 0, real.stderr);
    assert.is(opsDone(real.summary), 4, JSON.stringify(real.summary.counts));
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("--dry-run --json prints only one JSON object, with the plan in it", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" } });
    const r = syncJson(t, "--dry-run");
    assert.is(r.code, 0, r.stderr);
    assert.ok(r.summary.dryRun);
    assert.equal(r.summary.counts.create, 2);
    assert.equal(r.summary.plan.map((p: { action: string; path: string }) => `${p.action} ${p.path}`), ["create a.txt", "mkdir d", "create d/b.txt"]);
    assert.not.ok(existsSync(t.dst));
  } finally {
    t.cleanup();
  }
});

test("a first --dry-run does not create the replica", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    const dry = runCli(syncArgs(t, "--dry-run"));
    assert.is(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /create\s+a\.txt/);
    assert.not.ok(existsSync(t.dst));
  } finally {
    t.cleanup();
  }
});

test("--checksum catches a same-size, same-mtime difference that the quick check adopts", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "same.txt": "source says AAAA", "other.txt": "o" });
    writeTree(t.dst, { "same.txt": "replica has BBBB", "other.txt": "o" });
    const when = statSync(join(t.src, "same.txt")).mtime;
    utimesSync(join(t.dst, "same.txt"), when, when);
    utimesSync(join(t.dst, "other.txt"), statSync(join(t.src, "other.txt")).mtime, statSync(join(t.src, "other.txt")).mtime);
    const quick = syncJson(t);
    assert.is(quick.code, 0, quick.stderr);
    assert.is(readFileSync(join(t.dst, "same.txt"), "utf8"), "replica has BBBB");
    const sums = syncJson(t, "--checksum", "--full");
    assert.is(sums.code, 0, sums.stderr);
    assert.is(sums.summary.counts.update, 1, JSON.stringify(sums.summary.counts));
    assert.is(readFileSync(join(t.dst, "same.txt"), "utf8"), "source says AAAA");
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("--checksum on a first run replaces a same-size, same-mtime replica file", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "same.txt": "source says AAAA" });
    writeTree(t.dst, { "same.txt": "replica has BBBB" });
    const when = statSync(join(t.src, "same.txt")).mtime;
    utimesSync(join(t.dst, "same.txt"), when, when);
    const r = syncJson(t, "--checksum");
    assert.is(r.code, 0, r.stderr);
    assert.is(readFileSync(join(t.dst, "same.txt"), "utf8"), "source says AAAA");
  } finally {
    t.cleanup();
  }
});

test("--full repairs replica files changed, added or removed behind synchro's back", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "original", "b.txt": "bee", d: { "c.txt": "sea" } });
    assert.is(runCli(syncArgs(t)).code, 0);
    writeFileSync(join(t.dst, "a.txt"), "tampered with");
    rmSync(join(t.dst, "d", "c.txt"));
    writeFileSync(join(t.dst, "stray.txt"), "not in the source");
    const normal = syncJson(t);
    assert.is(normal.code, 0, normal.stderr);
    assert.is(opsDone(normal.summary), 0, "a normal run trusts the index");
    const full = syncJson(t, "--full");
    assert.is(full.code, 0, full.stderr);
    assert.ok(full.summary.full);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(readFileSync(join(t.dst, "a.txt"), "utf8"), "original");
  } finally {
    t.cleanup();
  }
});

test.run();
