import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { sandbox, writeTree, rsyncDiff, rmSync, writeFileSync, mkdirSync, chmodSync, forNobody, NOBODY, replicaNames } from "./fixtures/tree.ts";
import { opsDone, runCli, syncArgs, syncJson } from "./fixtures/cli.ts";

const NFC = "caf\u00e9";
const NFD = "cafe\u0301";
const LONG = "n".repeat(251) + ".txt";

const ODD_NAMES = [
  "with space", "new\nline", "tab\there", "quote'single", 'quote"double', "back\\slash", "-leading-dash", "--looks-like-an-option",
  " leading space", "trailing space ", "*glob?[x]", "日本語", "emoji-🙂", LONG, NFC, NFD,
];

test("odd but legal names sync as files and as directories, and a second run does nothing", () => {
  const t = sandbox();
  try {
    assert.is(Buffer.byteLength(LONG), 255);
    for (const name of ODD_NAMES) writeTree(t.src, { [name]: `file ${name}`, [`dir-${name.slice(0, 200)}`]: { [name]: "inner" } });
    const first = syncJson(t);
    assert.is(first.code, 0, first.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(first.summary.counts.create, ODD_NAMES.length * 2);
    const second = syncJson(t);
    assert.is(second.code, 0, second.stderr);
    assert.is(opsDone(second.summary), 0, JSON.stringify(second.summary.counts));
  } finally {
    t.cleanup();
  }
});

test("NFC and NFD spellings of the same text stay two distinct files", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { [NFC]: "composed", [NFD]: "decomposed" });
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    const names = replicaNames(t.dst);
    assert.is(names.length, 2);
    assert.is(readFileSync(join(t.dst, NFC), "utf8"), "composed");
    assert.is(readFileSync(join(t.dst, NFD), "utf8"), "decomposed");
    rmSync(join(t.src, NFD));
    writeFileSync(join(t.src, NFC), "composed, changed");
    const again = runCli(syncArgs(t, "--force"));
    assert.is(again.code, 0, again.stderr);
    assert.equal(replicaNames(t.dst), [NFC]);
    assert.is(readFileSync(join(t.dst, NFC), "utf8"), "composed, changed");
  } finally {
    t.cleanup();
  }
});

test("odd names are changed and deleted like any other", () => {
  const t = sandbox();
  try {
    for (const name of ODD_NAMES) writeTree(t.src, { [name]: "v1" });
    writeTree(t.src, { keep: { a: "a", b: "b", c: "c", d: "d", e: "e", f: "f", g: "g", h: "h", i: "i", j: "j", k: "k", l: "l", m: "m", n: "n", o: "o", p: "p", q: "q" } });
    assert.is(runCli(syncArgs(t)).code, 0);
    ODD_NAMES.forEach((name, i) => (i % 2 ? rmSync(join(t.src, name)) : writeFileSync(join(t.src, name), "version two")));
    const r = syncJson(t);
    assert.is(r.code, 0, r.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(r.summary.counts.delete, ODD_NAMES.length / 2);
    assert.is(r.summary.counts.update, ODD_NAMES.length / 2);
  } finally {
    t.cleanup();
  }
});

test("a source path with a leading dash and spaces works when passed after --", () => {
  const t = sandbox();
  try {
    const src = join(t.root, "-my source");
    writeTree(src, { "a": "1" });
    const dst = join(t.root, "my replica");
    const r = runCli(["sync", "--state", t.state, "--", src, dst]);
    assert.is(r.code, 0, r.stderr);
    assert.ok(existsSync(join(dst, "a")));
  } finally {
    t.cleanup();
  }
});

/** Makes `dir/bad-\xff-name` with the shell: Deno's fs decodes a Buffer path as UTF-8, so it cannot make this name. */
function badName(dir: string, what: "file" | "dir" = "file"): void {
  const make = what === "file" ? `printf x > "$1/bad-$(printf '\\377')-name"` : `mkdir "$1/bad-$(printf '\\377')-name"`;
  assert.is(spawnSync("sh", ["-c", make, "sh", dir]).status, 0);
}

/** Names whose bytes are not UTF-8: Node can list their raw bytes, Deno only the replacement character. */
const BAD_SHOWN = /bad-(\\xff|\uFFFD)-name/;

test("a name that is not valid UTF-8 is a warning naming it, escaped: the run is ok and still deletes", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "good.txt": "fine", "old.txt": "to be deleted" });
    assert.is(runCli(syncArgs(t)).code, 0);
    rmSync(join(t.src, "old.txt"));
    badName(t.src);
    const r = runCli(syncArgs(t, "--json"));
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`${BAD_SHOWN.source}: the name is not valid UTF-8`));
    const summary = JSON.parse(r.stdout);
    assert.is(summary.result, "ok");
    assert.equal(summary.errors, []);
    assert.is(summary.skippedNames.length, 1);
    assert.match(summary.skippedNames[0], BAD_SHOWN);
    assert.not.ok(existsSync(join(t.dst, "old.txt")), "deletions are not blocked");
    const human = runCli(syncArgs(t));
    assert.is(human.code, 0, human.stderr);
    assert.match(human.stderr, /synced in .*; 0 errors; 1 name skipped \(not UTF-8\)/);
  } finally {
    t.cleanup();
  }
});

test("the replica's entry of a name that is not valid UTF-8 is left alone, even by --full", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "good.txt": "fine", sub: { "s.txt": "s" } });
    badName(t.src);
    badName(join(t.src, "sub"), "dir");
    assert.is(runCli(syncArgs(t)).code, 0);
    // What the user put there by hand, under the same names: no run may delete it.
    badName(t.dst);
    badName(join(t.dst, "sub"), "dir");
    for (const extra of [[], ["--full"]]) {
      const r = runCli(syncArgs(t, "--json", ...extra));
      assert.is(r.code, 0, r.stderr);
      assert.is(JSON.parse(r.stdout).skippedNames.length, 2);
      assert.is(readdirSync(t.dst).filter((n) => n.startsWith("bad-")).length, 1);
      assert.is(readdirSync(join(t.dst, "sub")).filter((n) => n.startsWith("bad-")).length, 1);
    }
  } finally {
    t.cleanup();
  }
});

test("warning and error lines show odd names escaped, one line each, on the console and in the log", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "good.txt": "fine" });
    const fifo = join(t.src, "fi\nfo\x1b[31m");
    assert.is(spawnSync("mkfifo", [fifo]).status, 0);
    const locked = join(t.src, "no\nread\x1b[2J");
    mkdirSync(locked);
    writeFileSync(join(locked, "inside.txt"), "x");
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      forNobody(t);
      chmodSync(locked, 0);
    } else console.log("  (the unreadable directory is skipped: not root, so no other user to run as)");
    const r = runCli(syncArgs(t, "--log", t.log), asRoot ? { uid: NOBODY } : {});
    assert.not.ok(r.stderr.includes("\x1b"), "no escape sequence reaches the terminal");
    assert.match(r.stderr, /fi\\x0afo\\x1b\[31m: special file \(fifo, socket or device\) skipped/);
    if (asRoot) {
      assert.is(r.code, 1, r.stderr);
      assert.match(r.stderr, /no\\x0aread\\x1b\[2J: reading source: EACCES: permission denied, (scandir|readdir) '[^'\n]*no\\x0aread\\x1b\[2J'/);
    }
    const log = readFileSync(t.log, "utf8");
    assert.not.ok(log.includes("\x1b"), "nor into the log");
    for (const line of log.split("\n").filter((l) => l !== "")) assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d [A-Z]+ /, `one log line per message: ${JSON.stringify(line)}`);
  } finally {
    t.cleanup();
  }
});

test.run();
