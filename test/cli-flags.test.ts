import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, describeTree, rsyncDiff } from "./fixtures/tree.ts";
import { exited, repoRoot, runCli, sendSignal, startCli, syncArgs, waitFor } from "./fixtures/cli.ts";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));

// Case 10: rsync's short options.

test("sync -v is verbose, as in rsync: it syncs and lists each operation", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    const r = runCli(["sync", "-v", t.src, t.dst, "--state", t.state]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, "", "no version on stdout");
    assert.match(r.stderr, /^create a\.txt$/m);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("-n is a dry run and -c compares by checksum, as in rsync", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "same.txt": "source says AAAA" });
    const dry = runCli(syncArgs(t, "-n"));
    assert.is(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^>f\+ create {2}same\.txt$/m);
    assert.not.ok(existsSync(t.dst), "the dry run made nothing");
    assert.is(runCli(syncArgs(t)).code, 0);
    writeFileSync(join(t.dst, "same.txt"), "replica has BBBB");
    const when = statSync(join(t.src, "same.txt")).mtime;
    utimesSync(join(t.dst, "same.txt"), when, when);
    const r = runCli(syncArgs(t, "-c", "--full", "--json"));
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).counts.update, 1, r.stdout);
    assert.is(readFileSync(join(t.dst, "same.txt"), "utf8"), "source says AAAA");
  } finally {
    t.cleanup();
  }
});

test("--version and -V print the version, before or after a command name, and do nothing else", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    for (const args of [["--version"], ["-V"], ["sync", "--version"], ["sync", "-V", t.src, t.dst, "--state", t.state]]) {
      const r = runCli(args);
      assert.is(r.code, 0, args.join(" "));
      assert.is(r.stdout, `synchro ${pkg.version}\n`, args.join(" "));
    }
    assert.not.ok(existsSync(t.dst), "-V synced nothing");
  } finally {
    t.cleanup();
  }
});

test("--help lists -V for the version, and sync's help -v, -n and -c", () => {
  const top = runCli(["--help"]).stdout;
  assert.match(top, /^ {2}-V, --version +Display the version number$/m);
  assert.not.match(top, /-v, --version/);
  const sync = runCli(["sync", "--help"]).stdout;
  assert.match(sync, /^ {2}-v, --verbose +Every operation on the console/m);
  assert.match(sync, /^ {2}-n, --dry-run +Print the itemized plan/m);
  assert.match(sync, /^ {2}-c, --checksum +Decide 'changed' by content hash/m);
});

// Case 11: unknown options as typed.

test("an unknown option is echoed as typed, in one line, exit 2", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    for (const [arg, shown] of [["--exclude-from", "--exclude-from"], ["--exclude-from=list.txt", "--exclude-from"], ["--no-such-flag", "--no-such-flag"], ["-x", "-x"]]) {
      const r = runCli(syncArgs(t, arg!));
      assert.is(r.code, 2, r.stderr);
      assert.is(r.stderr, `synchro: unknown option '${shown}'; see synchro --help\n`);
    }
    assert.not.ok(existsSync(t.dst));
  } finally {
    t.cleanup();
  }
});

test.run();
