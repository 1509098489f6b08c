import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, forNobody, NOBODY } from "./fixtures/tree.ts";
import { exited, runCli, sendSignal, startCli, syncArgs, waitFor } from "./fixtures/cli.ts";

/**
 * The log file answers "what happened at 3am": each line is `<local time> <LEVEL> [run N] <message>`
 * while a run is on, a run opens with `run N started: <source> -> <replica>, trigger <t>` and ends
 * with its summary, and the lines between runs name no run.
 */
type Line = { stamp: string; level: string; run: string | null; text: string };
const LINE = /^(\S+) (INFO|WARN|ERROR|DEBUG) (?:\[(run \d+|dry run)\] )?(.*)$/;
const read = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : "");

function parse(text: string): Line[] {
  return text.trimEnd().split("\n").filter(Boolean).map((l) => {
    const m = LINE.exec(l);
    if (!m) throw new Error(`not a log line: ${l}`);
    return { stamp: m[1]!, level: m[2]!, run: m[3] ?? null, text: m[4]! };
  });
}

/**
 * The runs in a log, each as the lines from its start line on: every line that names a run is the
 * open run's, and each run's last line says how it ended (its summary, or why it was refused).
 */
const ended = (run: { lines: Line[] }): boolean => /^(synced|synced with errors|refused|aborted|failed)( in |: )/.test(run.lines.at(-1)?.text ?? "");

function runsIn(lines: Line[], t: { src: string; dst: string }): { id: number; trigger: string; lines: Line[] }[] {
  const runs: { id: number; trigger: string; lines: Line[] }[] = [];
  for (const line of lines) {
    const start = /^run (\d+) started: (.*) -> (.*), trigger (\w+)$/.exec(line.text);
    if (start) {
      assert.is(line.run, null);
      assert.is(start[2], t.src);
      assert.is(start[3], t.dst);
      runs.push({ id: Number(start[1]), trigger: start[4]!, lines: [] });
    } else if (line.run !== null) {
      const open = runs.at(-1);
      assert.is(line.run, `run ${open?.id}`, `a line of run ${open?.id}: ${line.text}`);
      open!.lines.push(line);
    } else {
      const open = runs.at(-1);
      assert.ok(!open || ended(open), `a line inside run ${open?.id} that does not name it: ${line.text}`);
    }
  }
  for (const run of runs) assert.ok(ended(run), `run ${run.id} has no end: ${run.lines.at(-1)?.text}`);
  return runs;
}

test("each run's lines name it, from its start line to its summary", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" } });
    assert.is(runCli(syncArgs(t, "--log", t.log)).code, 0);
    writeFileSync(join(t.src, "d", "c.txt"), "c");
    assert.is(runCli(syncArgs(t, "--log", t.log)).code, 0);
    const runs = runsIn(parse(read(t.log)), t);
    assert.equal(runs.map((r) => [r.id, r.trigger]), [[1, "sync"], [2, "sync"]]);
    assert.equal(runs[0]!.lines.map((l) => l.text).slice(0, -1).sort(), ["create a.txt", "create d/b.txt", "mkdir d"]);
    assert.equal(runs[1]!.lines.map((l) => l.text).slice(0, -1), ["create d/c.txt"]);
    assert.match(runs[1]!.lines.at(-1)!.text, /^synced in .*: 1 created, 0 updated, 0 deleted; .*; 0 errors$/);
  } finally {
    t.cleanup();
  }
});

test("an --interval session's runs say their trigger, and its last line names the pair", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const child = startCli(syncArgs(t, "--interval", "0.1", "--log", t.log));
  try {
    await waitFor(() => (read(t.log).match(/ synced in /g) ?? []).length >= 2, "two runs in the log");
    sendSignal(child, "SIGINT");
    assert.is(await exited(child), 0, child.err());
    const lines = parse(read(t.log));
    const runs = runsIn(lines, t);
    assert.ok(runs.length >= 2);
    assert.ok(runs.every((r) => r.trigger === "interval"), JSON.stringify(runs.map((r) => r.trigger)));
    assert.is(lines.at(-1)!.text, `stopped; 1 operation in this session (${t.src} -> ${t.dst})`);
  } finally {
    child.kill("SIGKILL");
    t.cleanup();
  }
});

test("watch's runs name themselves in the log, and the session's last line names the pair", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const child = startCli(["watch", t.src, t.dst, "--state", t.state, "--log", t.log, "--debounce", "20"]);
  try {
    await waitFor(() => / synced in /.test(read(t.log)), "the initial run in the log", 60_000);
    writeFileSync(join(t.src, "b.txt"), "b");
    await waitFor(() => (read(t.log).match(/ synced in /g) ?? []).length >= 2, "the change's run in the log");
    sendSignal(child, "SIGINT");
    assert.is(await exited(child), 0, child.err());
    const lines = parse(read(t.log));
    const runs = runsIn(lines, t);
    assert.ok(runs.length >= 2, read(t.log));
    assert.ok(runs.every((r) => r.trigger === "watch"));
    assert.ok(runs.some((r) => r.lines.some((l) => l.text === "create b.txt")), read(t.log));
    assert.match(lines[0]!.text, /^watching /);
    assert.match(lines.at(-1)!.text, new RegExp(`^stopped; 2 operations in \\d+ runs this session \\(${t.src} -> ${t.dst}\\)$`));
  } finally {
    child.kill("SIGKILL");
    t.cleanup();
  }
});

test("a run refused before it began has its start line, its reason and its refusal in the log", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    assert.is(runCli(syncArgs(t, "--log", t.log)).code, 0);
    rmSync(t.src, { recursive: true });
    assert.is(runCli(syncArgs(t, "--log", t.log)).code, 3);
    const runs = runsIn(parse(read(t.log)), t);
    assert.is(runs.length, 2);
    assert.equal(runs[1]!.lines.map((l) => `${l.level} ${l.text}`), [`WARN refused: source ${t.src} is gone but the index holds 1 entry; is a disk unmounted? The replica was not touched (--force cannot mirror a missing source: recreate it empty and use --force to empty the replica)`]);
  } finally {
    t.cleanup();
  }
});

test("a first run refused at the delete limit logs its warning inside the run", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    writeTree(t.dst, { "a.txt": "a", "x1": "1", "x2": "2", "x3": "3" });
    assert.is(runCli(syncArgs(t, "--log", t.log)).code, 3);
    const runs = runsIn(parse(read(t.log)), t);
    assert.is(runs.length, 1);
    const texts = runs[0]!.lines.map((l) => `${l.level} ${l.text}`);
    assert.match(texts[0]!, /^WARN refusing to delete 3 of \d+ replica entries/);
    assert.match(texts.at(-1)!, /^WARN refused: refusing to delete 3 entries/);
  } finally {
    t.cleanup();
  }
});

test("a watch refused because another run holds the replica exits 3 with one line, and its log says why", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const first = startCli(["watch", t.src, t.dst, "--state", t.state, "--log", t.log]);
  try {
    await waitFor(() => / synced in /.test(read(t.log)), "the first watch's initial run", 60_000);
    const second = runCli(["watch", t.src, t.dst, "--state", t.state, "--log", t.log]);
    assert.is(second.code, 3, second.stderr);
    assert.is(second.stderr.replace(/^watching .*\n/, ""), `synchro: already running (pid ${first.pid}) on ${t.dst}; use --wait to queue\n`);
    const refused = runsIn(parse(read(t.log)), t).at(-1)!;
    assert.equal(refused.lines.map((l) => `${l.level} ${l.text}`), [`WARN refused: already running (pid ${first.pid}) on ${t.dst}; use --wait to queue`]);
    sendSignal(first, "SIGINT");
    assert.is(await exited(first), 0, first.err());
  } finally {
    first.kill("SIGKILL");
    t.cleanup();
  }
});

test("a file that failed is one ERROR line in the log, not also an operation line", () => {
  const t = sandbox();
  try {
    forNobody(t);
    writeTree(t.src, { "open.txt": "o", "secret.txt": "s" });
    chmodSync(join(t.src, "secret.txt"), 0o000);
    const r = runCli(syncArgs(t, "--log", t.log, "-v"), { uid: NOBODY });
    assert.is(r.code, 1, r.stderr);
    const about = parse(read(t.log)).filter((l) => l.text.includes("secret.txt"));
    assert.equal(about.map((l) => l.level), ["ERROR"], read(t.log));
    assert.match(about[0]!.text, /^secret\.txt: reading source: EACCES/);
    assert.is(r.stderr.split("\n").filter((l) => l.includes("secret.txt")).length, 1, r.stderr);
  } finally {
    t.cleanup();
  }
});

test("internal figures are debug lines: not in the log by default, in it and on the console with -v", () => {
  const t = sandbox();
  try {
    // Eight entries, one changed at a time: few enough that only the changed rows are read (see changed-entries.ts).
    writeTree(t.src, { d: Object.fromEntries("abcdefgh".split("").map((n) => [`${n}.txt`, n])) });
    assert.is(runCli(syncArgs(t, "--log", t.log)).code, 0);
    writeFileSync(join(t.src, "d", "a.txt"), "changed");
    assert.is(runCli(syncArgs(t, "--log", t.log)).code, 0);
    assert.equal(parse(read(t.log)).filter((l) => l.level === "DEBUG"), [], read(t.log));
    writeFileSync(join(t.src, "d", "b.txt"), "changed");
    const v = runCli(syncArgs(t, "--log", t.log, "-v"));
    assert.is(v.code, 0, v.stderr);
    const debug = parse(read(t.log)).filter((l) => l.level === "DEBUG");
    assert.ok(debug.some((l) => /planned from .* changed entries alone$/.test(l.text)), read(t.log));
    assert.match(v.stderr, /planned from .* changed entries alone/);
  } finally {
    t.cleanup();
  }
});

/** The zone's offset at an instant, as ISO 8601 writes it (+01:00), from the runtime's own zone data. */
function offsetIn(zone: string, at: number): string {
  const name = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" }).formatToParts(at).find((p) => p.type === "timeZoneName")!.value;
  return name === "GMT" ? "+00:00" : name.slice(3);
}

for (const zone of ["Europe/Paris", "America/New_York", "UTC"]) {
  test(`log times are local, with the offset of the zone (${zone}) and milliseconds`, () => {
    const t = sandbox();
    try {
      writeTree(t.src, { "a.txt": "a" });
      const before = Date.now();
      const r = runCli(syncArgs(t, "--log", t.log), { env: { TZ: zone } });
      const after = Date.now();
      assert.is(r.code, 0, r.stderr);
      const lines = parse(read(t.log));
      assert.ok(lines.length >= 2);
      for (const l of lines) {
        assert.match(l.stamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
        const at = Date.parse(l.stamp);
        // The stamp names the instant it was written: local time and offset together.
        assert.ok(at >= before - 1 && at <= after + 1, `${l.stamp} outside the run`);
        assert.is(l.stamp.slice(-6), offsetIn(zone, at));
      }
    } finally {
      t.cleanup();
    }
  });
}

test("--keep's pruning of old version folders is logged", () => {
  const t = sandbox();
  try {
    const versions = join(t.root, "versions");
    writeTree(t.src, { "a.txt": "a" });
    for (const old of ["2020-01-01T00-00-00-000Z", "2020-01-02T00-00-00-000Z", "2021-06-30T12-00-00-000Z"]) mkdirSync(join(versions, old, "d"), { recursive: true });
    mkdirSync(join(versions, "not a stamp"));
    assert.is(runCli(syncArgs(t, "--log", t.log, "--backup-dir", versions, "--keep", "30")).code, 0);
    const runs = runsIn(parse(read(t.log)), t);
    assert.ok(runs[0]!.lines.some((l) => l.level === "INFO" && l.text === `pruned 3 old version folders from ${versions} (older than 30 days)`), read(t.log));
    assert.ok(existsSync(join(versions, "not a stamp")));
  } finally {
    t.cleanup();
  }
});

/**
 * logrotate without copytruncate renames the log and lets the writer carry on: synchro notices
 * within 100 ms that its file is no longer at the log's path, and starts a new one there.
 * Hundreds of small files, then a large one last in the walk's order, so the rename comes while
 * the large copy is on.
 */
test("a log renamed during a run gets the rest of the run's lines in a new file", async () => {
  const t = sandbox();
  try {
    for (let d = 0; d < 5; d++) writeTree(join(t.src, `d${d}`), Object.fromEntries(Array.from({ length: 60 }, (_, f) => [`f${f}.txt`, `${d}/${f}`])));
    mkdirSync(join(t.src, "zz"));
    writeFileSync(join(t.src, "zz", "big.bin"), Buffer.alloc(256 << 20, 0x62));
    const child = startCli(syncArgs(t, "--log", t.log));
    const rotated = `${t.log}.1`;
    try {
      const copying = () => existsSync(join(t.dst, "zz")) && readdirTemps(join(t.dst, "zz")) > 0;
      await waitFor(() => copying() || child.exitCode !== null, "the large copy to start", 60_000, 5);
      renameSync(t.log, rotated);
      assert.is(await exited(child), 0, child.err());
    } finally {
      child.kill("SIGKILL");
    }
    const before = parse(read(rotated));
    const after = parse(read(t.log));
    assert.ok(after.length > 0, "no new log file");
    assert.ok(after.some((l) => l.text === "create zz/big.bin"), read(t.log));
    assert.match(after.at(-1)!.text, /^synced in .*: 301 created, /);
    // Every operation is in one file or the other, once.
    const ops = [...before, ...after].filter((l) => /^(create|mkdir) /.test(l.text)).map((l) => l.text);
    assert.is(ops.length, 307);
    assert.is(new Set(ops).size, 307);
    // Both halves are the run's: the new file's lines name it, as the old file's first line does.
    assert.match(before[0]!.text, /^run 1 started: /);
    assert.ok(after.every((l) => l.run === "run 1"), read(t.log));
  } finally {
    t.cleanup();
  }
});

function readdirTemps(dir: string): number {
  try {
    return readdirSync(dir).filter((n) => /^\.synchro-.*\.tmp$/.test(n)).length;
  } catch {
    return 0;
  }
}

test.run();
