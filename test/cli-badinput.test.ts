import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { sandbox, writeTree, describeTree, writeFileSync, mkdirSync, symlinkSync } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";

type Box = ReturnType<typeof sandbox>;

/**
 * Each case builds its inputs in a fresh sandbox and returns the argv. The run must exit 2 with
 * one line on stderr matching `says`, print no stack, and leave the sandbox exactly as it was.
 */
const cases: { name: string; says: RegExp; setup: (t: Box) => string[] }[] = [
  { name: "a missing source", says: /source does not exist/, setup: (t) => ["sync", t.src, t.dst, "--state", t.state] },
  {
    name: "a source that is a file", says: /source is not a directory/,
    setup: (t) => (writeFileSync(t.src, "file"), ["sync", t.src, t.dst, "--state", t.state]),
  },
  {
    name: "a replica that is an existing file", says: /replica exists and is not a directory/,
    setup: (t) => (writeFileSync(t.dst, "precious"), ["sync", t.src, t.dst, "--state", t.state]),
  },
  {
    name: "a replica whose parent is missing", says: /replica's parent folder does not exist/,
    setup: (t) => ["sync", t.src, join(t.root, "no", "such", "dst"), "--state", t.state],
  },
  { name: "the same folder twice", says: /same folder/, setup: (t) => ["sync", t.src, t.src, "--state", t.state] },
  { name: "a replica inside the source", says: /nested/, setup: (t) => ["sync", t.src, join(t.src, "inner"), "--state", t.state] },
  {
    name: "a source inside the replica", says: /nested/,
    setup: (t) => (mkdirSync(join(t.dst, "inner", "src"), { recursive: true }), ["sync", join(t.dst, "inner", "src"), t.dst, "--state", t.state]),
  },
  {
    name: "a replica inside the source through a symlink", says: /nested/,
    setup: (t) => (symlinkSync(t.src, join(t.root, "alias")), ["sync", t.src, join(t.root, "alias", "inner"), "--state", t.state]),
  },
  {
    name: "a source inside the replica through a symlink", says: /nested/,
    setup: (t) => {
      writeTree(t.dst, { deep: { src: { f: "f" } } });
      symlinkSync(join(t.dst, "deep", "src"), join(t.root, "src-link"));
      return ["sync", join(t.root, "src-link"), t.dst, "--state", t.state];
    },
  },
  { name: "a replica inside the source through '..'", says: /nested/, setup: (t) => ["sync", t.src, join(t.src, "sub", "..", "inner"), "--state", t.state] },
  { name: "the same folder through '..'", says: /same folder/, setup: (t) => ["sync", t.src, `${t.src}/sub/..`, "--state", t.state] },
  { name: "an interval of 0", says: /--interval must be a number of seconds of at least 0\.1/, setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--interval", "0"] },
  { name: "a negative interval", says: /--interval must be a number of seconds of at least 0\.1/, setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--interval", "-5"] },
  { name: "a negative interval given with =", says: /--interval must be a number of seconds of at least 0\.1/, setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--interval=-1"] },
  { name: "an interval that is text", says: /--interval must be a number of seconds of at least 0\.1/, setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--interval", "soon"] },
  { name: "an interval below a tenth of a second", says: /--interval must be a number of seconds of at least 0\.1/, setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--interval", "1e-320"] },
  { name: "an interval in hexadecimal", says: /--interval must be a number of seconds of at least 0\.1.*got '0x10'/, setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--interval", "0x10"] },
  { name: "an interval of 0.05 s", says: /--interval must be a number of seconds of at least 0\.1/, setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--interval=0.05"] },
  { name: "a watch rescan period in hexadecimal, by its deprecated name", says: /--interval must be a number of seconds of at least 0\.1.*got '0x10'/, setup: (t) => ["watch", t.src, t.dst, "--state", t.state, "--interval", "0x10"] },
  { name: "a watch debounce in exponent form", says: /--debounce must be a number of milliseconds.*got '1e3'/, setup: (t) => ["watch", t.src, t.dst, "--state", t.state, "--debounce", "1e3"] },
  {
    name: "the index inside the replica through a symlink", says: /the index .* must not live inside the source or the replica/,
    setup: (t) => (mkdirSync(t.dst), symlinkSync(t.dst, join(t.root, "link")), ["sync", t.src, t.dst, "--state", join(t.root, "link", "index.db")]),
  },
  {
    name: "the index inside the source through a symlink", says: /the index .* must not live inside the source or the replica/,
    setup: (t) => (symlinkSync(join(t.src, "sub"), join(t.root, "link")), ["sync", t.src, t.dst, "--state", join(t.root, "link", "index.db")]),
  },
  {
    name: "a log file inside the source", says: /the log file .* must not live inside the source or the replica/,
    setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--log", join(t.src, "sub", "synchro.log")],
  },
  {
    name: "a log file inside the replica", says: /the log file .* must not live inside the source or the replica/,
    setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--log", join(t.dst, "synchro.log")],
  },
  {
    name: "a log file inside the replica through a symlink", says: /the log file .* must not live inside the source or the replica/,
    setup: (t) => (mkdirSync(t.dst), symlinkSync(t.dst, join(t.root, "link")), ["sync", t.src, t.dst, "--state", t.state, "--log", join(t.root, "link", "synchro.log")]),
  },
  {
    name: "a watch log file inside the replica", says: /the log file .* must not live inside the source or the replica/,
    setup: (t) => ["watch", t.src, t.dst, "--state", t.state, "--log", join(t.dst, "synchro.log")],
  },
  {
    name: "a backup dir that is the replica itself", says: /--backup-dir must not be the replica itself/,
    setup: (t) => (mkdirSync(t.dst), ["sync", t.src, t.dst, "--state", t.state, "--backup-dir", t.dst]),
  },
  { name: "an unknown command", says: /unknown command 'frobnicate'/, setup: () => ["frobnicate"] },
  { name: "an unknown command with two paths", says: /unknown command 'frobnicate'/, setup: (t) => ["frobnicate", t.src, t.dst, "--state", t.state] },
  { name: "an unknown option", says: /unknown option '--frobnicate'/, setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--frobnicate"] },
  { name: "an invalid glob", says: /invalid exclude pattern '\[abc'/, setup: (t) => ["sync", t.src, t.dst, "--state", t.state, "--exclude", "[abc"] },
  {
    name: "an unwritable log path", says: /cannot write the log file/,
    setup: (t) => (writeFileSync(join(t.root, "plain-file"), "x"), ["sync", t.src, t.dst, "--state", t.state, "--log", join(t.root, "plain-file", "synchro.log")]),
  },
  {
    name: "a log path that is a directory", says: /cannot write the log file/,
    setup: (t) => (mkdirSync(join(t.root, "logdir")), ["sync", t.src, t.dst, "--state", t.state, "--log", join(t.root, "logdir")]),
  },
  {
    name: "an unwritable state path", says: /index/,
    setup: (t) => {
      writeFileSync(join(t.root, "plain-file"), "x");
      return ["sync", t.src, t.dst, "--state", join(t.root, "plain-file", "index.db"), "--log", join(t.root, "logs", "synchro.log")];
    },
  },
  {
    name: "a state path that is a directory", says: /index/,
    setup: (t) => (mkdirSync(join(t.root, "statedir")), ["sync", t.src, t.dst, "--state", join(t.root, "statedir"), "--log", join(t.root, "logs", "synchro.log")]),
  },
];

for (const c of cases) {
  test(`${c.name} is one clear line, exit 2, no stack, and nothing created`, () => {
    const t = sandbox();
    try {
      if (!/missing source|source that is a file/.test(c.name)) writeTree(t.src, { "a.txt": "a", sub: {} });
      const argv = c.setup(t);
      const before = describeTree(t.root);
      // A loop that wrongly accepts its interval would run until killed.
      const r = runCli(argv, { timeoutMs: 30_000 });
      assert.is(r.code, 2, `exit code; stderr: ${r.stderr}`);
      assert.is(r.stdout, "");
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      assert.is(lines.length, 1, r.stderr);
      assert.match(lines[0]!, c.says);
      assert.match(lines[0]!, /^synchro: /);
      assert.not.ok(r.stderr.includes("    at "), r.stderr);
      assert.equal(describeTree(t.root), before);
    } finally {
      t.cleanup();
    }
  });
}

test("--help and --version exit 0 and print to stdout", () => {
  const help = runCli(["--help"]);
  assert.is(help.code, 0);
  assert.match(help.stdout, /synchro/);
  const version = runCli(["--version"]);
  assert.is(version.code, 0);
  assert.match(version.stdout, /\d+\.\d+\.\d+/);
});

test.run();
