import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { sandbox, writeTree, rmSync, chmodSync, forNobody, NOBODY } from "./fixtures/tree.ts";
import { exited, runCli, sendSignal, startCli, syncArgs, waitFor } from "./fixtures/cli.ts";
import { startWatch, stopWatch } from "./fixtures/watch.ts";

/**
 * One console style on every command: errors `synchro: <message>`, warnings `warning: <message>`,
 * everything else a bare line; no icons, no badges, no blank lines. Times and rates vary, so the
 * exact stderr is compared with those two replaced.
 */
const normalized = (stderr: string): string =>
  stderr.replace(/ in [\d.]+ s: /g, " in T s: ").replace(/ copied at [^;]+;/g, " copied;");

/** Every line is one of the three kinds, and none is empty. */
function assertOneStyle(stderr: string, what: string): void {
  for (const line of stderr.replace(/\n$/, "").split("\n")) {
    assert.not.match(line, /^\s*$/, `${what}: a blank line in\n${stderr}`);
    assert.not.match(line, /[✔✖ℹ⚠⚙◐]|\[op\]|^ ?(WARN|ERROR|INFO|SUCCESS|DEBUG)\b/, `${what}: ${line}`);
  }
}

test("a normal run's stderr is its summary line, bare", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(normalized(r.stderr), "synced in T s: 1 created, 0 updated, 0 deleted; 1 B copied; 0 errors\n");
  } finally {
    t.cleanup();
  }
});

/** A replica of a, b, c and d whose source then lost a, b and c and gained new.txt: over the 50% limit. */
function overTheLimit(t: ReturnType<typeof sandbox>): void {
  writeTree(t.src, { a: "1", b: "2", c: "3", d: "4" });
  assert.is(runCli(syncArgs(t)).code, 0);
  for (const f of ["a", "b", "c"]) rmSync(join(t.src, f));
  writeTree(t.src, { "new.txt": "new" });
}

const refusal = (entries: number) => `warning: refusing to delete 3 of ${entries} replica entries (limit 2); use --force or raise --max-delete\n`;

test("a run refused at the delete limit says why once, then its summary, exit 3", () => {
  const t = sandbox();
  try {
    overTheLimit(t);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 3, r.stderr);
    assert.is(normalized(r.stderr), refusal(4) + "warning: refused in T s: 1 created, 0 updated, 0 deleted; 3 B copied; 0 errors\n");
    const quiet = runCli(syncArgs(t, "-q"));
    assert.is(quiet.code, 3);
    // new.txt is in the replica now: 5 entries.
    assert.is(normalized(quiet.stderr), refusal(5) + "warning: refused in T s: 0 created, 0 updated, 0 deleted; 0 B copied; 0 errors\n");
    const json = runCli(syncArgs(t, "--json"));
    assert.is(json.code, 3);
    assert.is(JSON.parse(json.stdout).result, "refused");
    assert.is(normalized(json.stderr), normalized(quiet.stderr), "--json is quiet on the console: the reason and the summary");
  } finally {
    t.cleanup();
  }
});

test("an --interval tick refused at the delete limit says why once too", async () => {
  const t = sandbox();
  overTheLimit(t);
  const child = startCli(syncArgs(t, "--interval", "60"));
  try {
    await waitFor(() => /refused in /.test(child.err()), "the refused tick");
    sendSignal(child, "SIGTERM");
    assert.is(await exited(child), 0, child.err());
    assert.is(normalized(child.err()), refusal(4) + `warning: refused in T s: 1 created, 0 updated, 0 deleted; 3 B copied; 0 errors\nstopped; 1 operation in this session (${t.src} -> ${t.dst})\n`);
  } finally {
    child.kill("SIGKILL");
    t.cleanup();
  }
});

test("a warning is one `warning:` line, with no blank lines around it", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { a: "1" });
    assert.is(spawnSync("mkfifo", [join(t.src, "pipe")]).status, 0);
    const r = runCli(syncArgs(t));
    assert.is(r.code, 0, r.stderr);
    assert.is(normalized(r.stderr), "warning: pipe: special file (fifo, socket or device) skipped\nsynced in T s: 1 created, 0 updated, 0 deleted; 1 B copied; 0 errors\n");
  } finally {
    t.cleanup();
  }
});

test("an error in a run is a `synchro:` line, as errors that stop a run are", () => {
  const t = sandbox();
  try {
    forNobody(t);
    writeTree(t.src, { "open.txt": "o", "secret.txt": "s" });
    chmodSync(join(t.src, "secret.txt"), 0o000);
    const r = runCli(syncArgs(t, "--log", t.log), { uid: NOBODY });
    assert.is(r.code, 1, r.stderr);
    assert.is(
      normalized(r.stderr),
      `synchro: secret.txt: reading source: EACCES: permission denied, open '${join(t.src, "secret.txt")}'\nwarning: synced with errors in T s: 1 created, 0 updated, 0 deleted; 1 B copied; 1 error\n`,
    );
    const bad = runCli(["sync", join(t.root, "missing"), t.dst, "--state", join(t.root, "other.db")]);
    assert.is(bad.stderr, `synchro: source does not exist: ${join(t.root, "missing")}\n`);
  } finally {
    t.cleanup();
  }
});

test("--verbose shows each operation as a bare line", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", d: {} });
    const r = runCli(syncArgs(t, "--verbose"));
    assert.is(r.code, 0, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.ok(lines.includes("create a.txt"), r.stderr);
    assert.ok(lines.includes("mkdir d"), r.stderr);
    assertOneStyle(r.stderr, "sync --verbose");
  } finally {
    t.cleanup();
  }
});

test("watch speaks in the same style: bare info lines, its summaries, and its stop", async () => {
  const t = sandbox();
  writeTree(t.src, { "a.txt": "a" });
  const w = await startWatch(t);
  try {
    assert.is(await stopWatch(w), 0, w.err());
    const lines = normalized(w.err()).trimEnd().split("\n");
    assert.match(lines[0]!, /^watching .* → .* \(debounce 150 ms, full rescan every 3600 s\)$/);
    assert.ok(lines.includes("synced in T s: 1 created, 0 updated, 0 deleted; 1 B copied; 0 errors"), w.err());
    assert.is(lines.at(-1), `stopped; 1 operation in 1 run this session (${t.src} -> ${t.dst})`);
    assertOneStyle(w.err(), "watch");
  } finally {
    w.kill("SIGKILL");
    t.cleanup();
  }
});

test("status and history errors are `synchro:` lines like the others", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    assert.is(runCli(syncArgs(t, "-q")).code, 0);
    const status = runCli(["status", t.src, "--state", t.state]);
    assert.is(status.stderr, "synchro: status takes both <source> and <replica>, or neither\n");
    const history = runCli(["history", "--since", "yesterday", "--state", t.state]);
    assert.match(history.stderr, /^synchro: --since must be an ISO date .*\n$/);
  } finally {
    t.cleanup();
  }
});

test.run();
