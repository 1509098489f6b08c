import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { sandbox, writeTree, type Spec } from "./fixtures/tree.ts";
import { cliCommand, runCli } from "./fixtures/cli.ts";
import { skip } from "./fixtures/skip.ts";

const ESCAPES = /[\r\x1b]/;
const hasScript = spawnSync("script", ["--version"]).status === 0;

function tree(): Spec {
  const spec: Spec = {};
  for (let d = 0; d < 5; d++) {
    const dir: Spec = {};
    for (let f = 0; f < 20; f++) dir[`f${f}.txt`] = `file ${d}/${f}`;
    spec[`d${d}`] = dir;
  }
  return spec;
}

/** A case that needs a terminal, which `script` gives: without it the case is skipped, not passed. */
function onTerminal(name: string, fn: () => void): void {
  test(name, () => (hasScript ? fn() : skip(`${name}: \`script\` (util-linux) is missing`)));
}

/** Runs the CLI under `script`, which gives it a pseudo-terminal on stdin, stdout and stderr. */
function runOnTerminal(args: string[]): { code: number | null; out: string } {
  const [cmd, argv] = cliCommand(args);
  const quoted = [cmd, ...argv].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const r = spawnSync("script", ["-qefc", quoted, "/dev/null"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", COLUMNS: "120" }, timeout: 120_000 });
  return { code: r.status, out: r.stdout };
}

test("no progress escapes reach a pipe: stdout and stderr stay plain lines", () => {
  const t = sandbox();
  try {
    writeTree(t.src, tree());
    for (const extra of [[], ["--verbose"]]) {
      const r = runCli(["sync", t.src, t.dst, "--state", t.state, ...extra]);
      assert.is(r.code, 0, r.stderr);
      assert.not.match(r.stderr, ESCAPES);
      assert.not.match(r.stdout, ESCAPES);
      assert.not.match(r.stderr, /files · /);
    }
  } finally {
    t.cleanup();
  }
});

onTerminal("on a terminal a live progress line shows, and is cleared before the summary", () => {
  const t = sandbox();
  try {
    writeTree(t.src, tree());
    const r = runOnTerminal(["sync", t.src, t.dst, "--state", t.state]);
    assert.is(r.code, 0, r.out);
    assert.match(r.out, /\d+\/\d+ files · [\d.]+\/[\d.]+ (B|KiB|MiB)/);
    assert.is(r.out.split("synced in").length, 2, "one summary");
    // The progress line is wiped (cursor to column 1, erase the line) right before the summary.
    assert.match(r.out, /\x1b\[1G\x1b\[2Ksynced in/);
  } finally {
    t.cleanup();
  }
});

onTerminal("--quiet and --json show no progress line, even on a terminal", () => {
  const t = sandbox();
  try {
    writeTree(t.src, tree());
    for (const flag of ["--quiet", "--json"]) {
      const r = runOnTerminal(["sync", t.src, t.dst, "--state", t.state, flag]);
      assert.is(r.code, 0, r.out);
      assert.not.match(r.out, /files · /, flag);
      assert.not.match(r.out, /\x1b\[\d*G/, flag);
    }
  } finally {
    t.cleanup();
  }
});

test.run();
