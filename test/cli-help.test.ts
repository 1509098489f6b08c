import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { runCli, repoRoot } from "./fixtures/cli.ts";
import { sandbox, writeTree } from "./fixtures/tree.ts";
import { wantsColor } from "../src/cli/color.ts";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
const ESC = "\x1b[";

/** The named commands the top-level help lists, so a newly added command is held to the same rules. */
function listedCommands(): string[] {
  const help = runCli(["--help"]).stdout;
  const block = help.split("Commands:\n")[1]!.split("\n\n")[0]!;
  return block.split("\n").map((l) => l.trim().split(" ")[0]!).filter((name) => !name.startsWith("<"));
}

test("synchro --help lists the commands, the two usage forms and examples, and exits 0", () => {
  const r = runCli(["--help"]);
  assert.is(r.code, 0);
  assert.match(r.stdout, `synchro ${pkg.version}`);
  assert.match(r.stdout, "$ synchro <command> [options]");
  assert.match(r.stdout, "$ synchro <source> <replica>");
  assert.match(r.stdout, /Commands:\n {2}sync <source> <replica> +Make <replica> an exact copy/);
  assert.match(r.stdout, /Examples:\n {2}\$ synchro sync /);
  assert.is(r.stderr, "");
});

test("every command's --help has a description, its options with defaults, and 2-3 examples", () => {
  const names = listedCommands();
  assert.ok(names.includes("sync"), names.join());
  for (const name of names) {
    const r = runCli([name, "--help"]);
    assert.is(r.code, 0, name);
    const usage = r.stdout.split("Usage:\n")[1]!.split("\n\n");
    assert.match(usage[0]!, `$ synchro ${name}`, name);
    assert.ok(usage[1]!.trim().length > 10, `${name} has a description`);
    assert.match(r.stdout, /Options:\n {2}-/, name);
    assert.not.match(r.stdout, / +\n/, `${name}: no trailing spaces`);
    const examples = r.stdout.split("Examples:\n")[1]!.trimEnd().split("\n");
    assert.ok(examples.length >= 2 && examples.length <= 3, `${name}: ${examples.length} examples`);
    for (const e of examples) assert.match(e, new RegExp(`^ {2}\\$ synchro ${name} `), name);
  }
});

test("sync --help states the defaults of the options that have one", () => {
  const out = runCli(["sync", "--help"]).stdout;
  assert.match(out, /--state <file> .*default: \$XDG_STATE_HOME\/synchro\/index\.db/);
  assert.match(out, /--max-delete <n\|n%> .*default: 50%/);
  assert.match(out, /--history-days <days> .*default: 180/);
  assert.match(out, /--log <file> .*default:/);
});

test("synchro --version prints the package.json version, also after a command name", () => {
  for (const args of [["--version"], ["-V"], ["sync", "--version"]]) {
    const r = runCli(args);
    assert.is(r.code, 0);
    assert.is(r.stdout, `synchro ${pkg.version}\n`);
  }
  const deno = JSON.parse(readFileSync(join(repoRoot, "deno.json"), "utf8"));
  assert.is(deno.version, pkg.version, "deno.json and package.json carry the same version");
});

test("an unknown option is one line on stderr and exit 2", () => {
  const r = runCli(["sync", "a", "b", "--no-such-flag"]);
  assert.is(r.code, 2);
  assert.is(r.stderr, "synchro: unknown option '--no-such-flag'; see synchro --help\n");
  assert.is(r.stderr.trim().split("\n").length, 1);
});

// Empty values stand for "unset": Deno's child_process adds the given env to its own instead of replacing it.
test("colour follows NO_COLOR and FORCE_COLOR; a pipe gets none by default", () => {
  const t = sandbox();
  try {
    // Only the `warning:` and `synchro:` prefixes are coloured: the run needs a warning.
    writeTree(t.src, { "a.txt": "a" });
    assert.is(spawnSync("mkfifo", [join(t.src, "pipe")]).status, 0);
    const run = (env: Record<string, string>) => runCli(["sync", t.src, t.dst, "--state", t.state], { env: { NO_COLOR: "", FORCE_COLOR: "", ...env } });
    const forced = run({ FORCE_COLOR: "1" });
    assert.is(forced.code, 0, forced.stderr);
    assert.ok(forced.stderr.includes(`${ESC}33mwarning:${ESC}39m pipe: special file`), `FORCE_COLOR=1 colours the console even through a pipe: ${forced.stderr}`);
    assert.not.ok(run({ FORCE_COLOR: "1", NO_COLOR: "1" }).stderr.includes(ESC), "NO_COLOR wins");
    assert.not.ok(run({ FORCE_COLOR: "0" }).stderr.includes(ESC), "FORCE_COLOR=0 means off");
    assert.not.ok(run({}).stderr.includes(ESC), "no escapes into a pipe");
  } finally {
    t.cleanup();
  }
});

test("wantsColor: NO_COLOR beats FORCE_COLOR; empty values are unset; dumb terminals get none", () => {
  assert.is(wantsColor({}, true), true);
  assert.is(wantsColor({}, false), false);
  assert.is(wantsColor({ NO_COLOR: "" }, true), true);
  assert.is(wantsColor({ FORCE_COLOR: "" }, false), false);
  assert.is(wantsColor({ NO_COLOR: "1", FORCE_COLOR: "1" }, true), false);
  assert.is(wantsColor({ FORCE_COLOR: "1" }, false), true);
  assert.is(wantsColor({ FORCE_COLOR: "false" }, true), false);
  assert.is(wantsColor({ TERM: "dumb" }, true), false);
});

test.run();
