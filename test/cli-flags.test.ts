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

// Case 12: one meaning per option, on every command.

test("status and history accept the options a wrapper passes to every command", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", "b.tmp": "b" });
    const common = ["--state", t.state, "--log", t.log, "--exclude", "*.tmp"];
    assert.is(runCli(["sync", t.src, t.dst, ...common, "-q"]).code, 0);
    for (const extra of [["-q"], ["--verbose"], ["-v"], ["--quiet"]]) {
      const status = runCli(["status", t.src, t.dst, ...common, ...extra]);
      assert.is(status.code, 0, `status ${extra}: ${status.stderr}${status.stdout}`);
      assert.match(status.stdout, /^in sync$/m);
      const history = runCli(["history", t.src, t.dst, ...common, ...extra]);
      assert.is(history.code, 0, `history ${extra}: ${history.stderr}`);
      assert.match(history.stdout, /create +1 B +a\.txt/);
      assert.is(status.stderr + history.stderr, "");
    }
  } finally {
    t.cleanup();
  }
});

test("status --verbose lists every pending path, not only the first 20", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { seed: "s" });
    assert.is(runCli(syncArgs(t, "-q")).code, 0);
    for (let i = 0; i < 30; i++) writeFileSync(join(t.src, `new${i}`), "n");
    const short = runCli(["status", t.src, t.dst, "--state", t.state]);
    assert.match(short.stdout, /and 10 more/);
    const all = runCli(["status", t.src, t.dst, "--state", t.state, "--verbose"]);
    assert.is(all.code, 1);
    assert.not.match(all.stdout, /more/);
    assert.is(all.stdout.split("\n").filter((l) => /^ {2}>f\+ create/.test(l)).length, 30);
  } finally {
    t.cleanup();
  }
});

test("watch takes its full-rescan period as --rescan, and says so in --help", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const help = runCli(["watch", "--help"]).stdout;
  assert.match(help, /^ {2}--rescan <seconds> +Rescan the whole tree every N seconds/m);
  const w = startCli(["watch", t.src, t.dst, "--state", t.state, "--rescan", "7"]);
  try {
    await waitFor(() => /synced in /.test(w.err()), "the initial sync");
    assert.match(w.err(), /full rescan every 7 s/);
    assert.not.match(w.err(), /warning/);
    sendSignal(w, "SIGINT");
    assert.is(await exited(w), 0, w.err());
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("watch --interval still sets the rescan period, with one warning line naming --rescan", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const w = startCli(["watch", t.src, t.dst, "--state", t.state, "--interval", "7"]);
  try {
    await waitFor(() => /synced in /.test(w.err()), "the initial sync");
    assert.match(w.err(), /full rescan every 7 s/);
    const warnings = w.err().split("\n").filter((l) => /warning/.test(l));
    assert.equal(warnings, ["warning: watch --interval is deprecated; use --rescan 7 (a full rescan every N seconds; --interval is sync's repeat)"]);
    sendSignal(w, "SIGINT");
    assert.is(await exited(w), 0, w.err());
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("a bad --rescan is one line naming --rescan, exit 2", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    const r = runCli(["watch", t.src, t.dst, "--state", t.state, "--rescan", "0x10"]);
    assert.is(r.code, 2, r.stderr);
    assert.is(r.stderr, "synchro: --rescan must be a number of seconds of at least 0.1, like 30 or 0.5; got '0x10'\n");
    assert.not.ok(existsSync(t.dst));
  } finally {
    t.cleanup();
  }
});

// Case 13: remote-looking paths.

test("a replica or source written like a remote (host:path) is refused with one line, exit 2, and nothing made", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    const before = describeTree(t.root);
    const cases: [string[], string][] = [
      [["sync", t.src, "remote:bucket"], "replica"],
      [["sync", t.src, "user@host:/backup"], "replica"],
      [["sync", "host:photos", t.dst], "source"],
      [[t.src, "remote:bucket"], "replica"],
      [["watch", t.src, "remote:bucket"], "replica"],
      [["status", t.src, "remote:bucket"], "replica"],
    ];
    for (const [args, role] of cases) {
      const r = runCli([...args, "--state", t.state], { cwd: t.root });
      assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const path = role === "replica" ? args.at(-1)! : args[1]!;
      assert.is(
        r.stderr,
        `synchro: the ${role} '${path}' names a remote host (host:path), and synchro syncs only local folders; for a local folder of that name write './${path}'\n`,
        args.join(" "),
      );
    }
    assert.equal(describeTree(t.root), before, "no folder named like the remote was made");
  } finally {
    t.cleanup();
  }
});

test("a colon after a slash is part of a local name: ./a:b and /x/a:b are local folders", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    const dotted = runCli(["sync", "./src", "./a:b", "--state", t.state], { cwd: t.root });
    assert.is(dotted.code, 0, dotted.stderr);
    assert.is(rsyncDiff(t.src, join(t.root, "a:b")), "");
    const absolute = runCli(["sync", t.src, join(t.root, "x:y"), "--state", t.state]);
    assert.is(absolute.code, 0, absolute.stderr);
    assert.is(rsyncDiff(t.src, join(t.root, "x:y")), "");
  } finally {
    t.cleanup();
  }
});

test.run();
