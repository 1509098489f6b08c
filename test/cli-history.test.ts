import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { renameSync } from "node:fs";
import { sandbox, writeTree, rmSync, writeFileSync } from "./fixtures/tree.ts";
import { runCli, waitFor } from "./fixtures/cli.ts";
import { history } from "../src/index.ts";
import { openStore } from "../src/store/store.ts";

type Box = ReturnType<typeof sandbox>;
type Op = { time: string; run: number; action: string; path: string; size: number | null; from?: string; source?: string; replica?: string };

/** Three runs: create everything; update, delete and rename; one more create. `between` is a time after run 2. */
async function threeRuns(t: Box): Promise<{ between: string }> {
  writeTree(t.src, { docs: { "a.txt": "alpha", "b.md": "bravo" }, photos: { "x.jpg": "jpeg" }, "top.txt": "top" });
  assert.is(runCli(["sync", t.src, t.dst, "--state", t.state, "-q"]).code, 0);
  writeFileSync(join(t.src, "docs", "a.txt"), "alpha, edited");
  rmSync(join(t.src, "photos", "x.jpg"));
  renameSync(join(t.src, "top.txt"), join(t.src, "top2.txt"));
  assert.is(runCli(["sync", t.src, t.dst, "--state", t.state, "-q"]).code, 0);
  const mark = Date.now();
  await waitFor(() => Date.now() > mark, "the clock to pass the mark");
  writeFileSync(join(t.src, "docs", "c.txt"), "charlie");
  assert.is(runCli(["sync", t.src, t.dst, "--state", t.state, "-q"]).code, 0);
  return { between: new Date(mark).toISOString() };
}

const hist = (t: Box, ...args: string[]) => runCli(["history", t.src, t.dst, "--state", t.state, ...args]);
const ops = (t: Box, ...args: string[]): Op[] => {
  const r = hist(t, "--json", ...args);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};
const brief = (list: Op[]) => list.map((o) => `${o.run} ${o.action} ${o.path}`);

test("history lists every operation newest first, with time, run, action, path and size", async () => {
  const t = sandbox();
  try {
    await threeRuns(t);
    const all = ops(t);
    assert.equal(brief(all).sort(), [
      "1 create docs/a.txt", "1 create docs/b.md", "1 create photos/x.jpg", "1 create top.txt", "1 mkdir docs", "1 mkdir photos",
      "2 delete photos/x.jpg", "2 rename top2.txt", "2 update docs/a.txt", "3 create docs/c.txt",
    ]);
    assert.ok(all.every((o, i) => i === 0 || o.run <= all[i - 1]!.run), "newest run first");
    assert.is(all.length, 10);
    assert.ok(all.every((o, i) => i === 0 || o.time <= all[i - 1]!.time), "newest first");
    const c = all[0]!;
    assert.equal(Object.keys(c).sort(), ["action", "path", "run", "size", "time"]);
    assert.match(c.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.is(c.size, 7);
    assert.equal(all.find((o) => o.action === "rename")!.from, "top.txt");
    assert.is(all.find((o) => o.action === "mkdir")!.size, null);
  } finally {
    t.cleanup();
  }
});

test("filters combine: time, action, path glob, run and limit", async () => {
  const t = sandbox();
  try {
    const { between } = await threeRuns(t);
    assert.equal(brief(ops(t, "--since", between)), ["3 create docs/c.txt"]);
    assert.equal(brief(ops(t, "--until", between, "--path", "docs/**")).sort(), ["1 create docs/a.txt", "1 create docs/b.md", "1 mkdir docs", "2 update docs/a.txt"]);
    assert.equal(brief(ops(t, "--action", "update,rename", "--path", "docs/**")), ["2 update docs/a.txt"]);
    assert.equal(brief(ops(t, "--path", "**/*.txt", "--action", "create", "--since", "1h")).sort(), ["1 create docs/a.txt", "1 create top.txt", "3 create docs/c.txt"]);
    assert.equal(brief(ops(t, "--run", "2", "--action", "delete")), ["2 delete photos/x.jpg"]);
    assert.equal(ops(t, "--until", "1h"), []);
    assert.is(ops(t, "--limit", "3").length, 3);
    assert.equal(brief(ops(t, "--limit", "1", "--action", "create")), ["3 create docs/c.txt"]);
  } finally {
    t.cleanup();
  }
});

test("the human output is a table of time, action, size and path", async () => {
  const t = sandbox();
  try {
    await threeRuns(t);
    const r = hist(t, "--run", "2");
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.is(lines.length, 3);
    assert.match(r.stdout, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z  update\s+13 B  docs\/a\.txt$/m);
    assert.match(r.stdout, /rename\s+3 B  top2\.txt \(from top\.txt\)$/m);
    assert.match(hist(t, "--path", "nothing/**").stdout, /^no operations match\n$/);
  } finally {
    t.cleanup();
  }
});

test("without a pair, history covers every pair and names each op's source and replica", async () => {
  const t = sandbox();
  try {
    await threeRuns(t);
    assert.is(runCli(["sync", t.src, join(t.root, "dst2"), "--state", t.state, "-q"]).code, 0);
    const r = runCli(["history", "--state", t.state, "--json", "--path", "docs/c.txt"]);
    assert.is(r.code, 0, r.stderr);
    const list: Op[] = JSON.parse(r.stdout);
    assert.equal(list.map((o) => [o.run, o.replica!.endsWith("/dst2") ? "dst2" : "dst", o.source === list[0]!.source]), [[4, "dst2", true], [3, "dst", true]]);
    assert.equal(await history({ state: t.state, path: "docs/c.txt" }), list);
  } finally {
    t.cleanup();
  }
});

test("history --runs lists runs with id, trigger, start, duration, counts, bytes and result", async () => {
  const t = sandbox();
  try {
    await threeRuns(t);
    const r = hist(t, "--runs", "--json");
    assert.is(r.code, 0, r.stderr);
    const runs = JSON.parse(r.stdout);
    assert.equal(runs.map((x: { id: number; trigger: string; result: string }) => [x.id, x.trigger, x.result]), [[3, "sync", "ok"], [2, "sync", "ok"], [1, "sync", "ok"]]);
    assert.equal([runs[1].counts.update, runs[1].counts.delete, runs[1].counts.rename, runs[0].bytes], [1, 1, 1, 7]);
    assert.ok(runs.every((x: { durationMs: number; startedAt: string }) => x.durationMs >= 0 && !Number.isNaN(Date.parse(x.startedAt))));
    assert.equal(await history({ source: t.src, replica: t.dst, state: t.state, runs: true }), runs);
    const human = hist(t, "--runs", "--limit", "1");
    assert.match(human.stdout, /^run 3  sync\s+\S+Z\s+\d+\.\d s  ok\s+1 create; 7 B\n$/);
  } finally {
    t.cleanup();
  }
});

test("bad filter values are one clear line and exit 2", async () => {
  const t = sandbox();
  try {
    await threeRuns(t);
    const cases: [string[], RegExp][] = [
      [["--since", "yesterdayish"], /--since must be an ISO date .* or a time ago \(30m, 2h, 7d\); got 'yesterdayish'/],
      [["--until", "-3"], /--until must be an ISO date/],
      [["--limit", "-1"], /--limit must be a whole number of at least 1; got '-1'/],
      [["--limit", "0"], /--limit must be a whole number/],
      [["--run", "abc"], /--run must be a whole number/],
      [["--action", "frob"], /--action takes create, update, .*; got 'frob'/],
      [["--path", "docs/[a"], /invalid --path glob 'docs\/\[a'/],
      [["--runs", "--path", "docs/**"], /do not apply to --runs/],
    ];
    for (const [args, message] of cases) {
      const r = hist(t, ...args);
      assert.is(r.code, 2, args.join(" "));
      assert.match(r.stderr, message);
      assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.is(r.stdout, "");
    }
    const unknown = runCli(["history", t.src, join(t.root, "elsewhere"), "--state", t.state]);
    assert.is(unknown.code, 2);
    assert.match(unknown.stderr, /has no record of .* -> .*elsewhere/);
  } finally {
    t.cleanup();
  }
});

test("a run prunes operations older than --history-days (180 by default)", async () => {
  const t = sandbox();
  try {
    await threeRuns(t);
    const store = await openStore(t.state, { now: Date.now });
    const day = 86_400_000;
    for (const [age, path] of [[200, "ancient.txt"], [100, "old.txt"]] as const) {
      store.write(() => store.ops.add({ run: 1, time: Date.now() - age * day, action: "create", path, size: 1 }));
    }
    store.close();
    assert.equal(ops(t, "--until", "30d").map((o) => o.path), ["old.txt", "ancient.txt"]);
    writeFileSync(join(t.src, "d.txt"), "d");
    assert.is(runCli(["sync", t.src, t.dst, "--state", t.state, "-q"]).code, 0);
    assert.equal(ops(t, "--until", "30d").map((o) => o.path), ["old.txt"]);
    writeFileSync(join(t.src, "e.txt"), "e");
    assert.is(runCli(["sync", t.src, t.dst, "--state", t.state, "-q", "--history-days", "90"]).code, 0);
    assert.equal(ops(t, "--until", "30d"), []);
    assert.equal(ops(t, "--path", "*.txt", "--action", "create").map((o) => o.path), ["e.txt", "d.txt", "top.txt"], "recent ops stay");
  } finally {
    t.cleanup();
  }
});

test.run();
