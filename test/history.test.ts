import { test } from "uvu";
import * as assert from "uvu/assert";
import picomatch from "picomatch";
import { join } from "node:path";
import { compileGlob, globHints, parseActions, parseWhen, selectOps } from "../src/history.ts";
import { SynchroError } from "../src/errors.ts";
import { openStore } from "../src/store/store.ts";
import type { OpAction, OpFilter } from "../src/store/ops.ts";
import { sandbox } from "./fixtures/tree.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");

test("relative times count back from now", () => {
  assert.is(parseWhen("--since", "30m", NOW), NOW - 30 * 60_000);
  assert.is(parseWhen("--since", "2h", NOW), NOW - 2 * 3_600_000);
  assert.is(parseWhen("--since", "7d", NOW), NOW - 7 * 86_400_000);
  assert.is(parseWhen("--since", "1.5h", NOW), NOW - 5_400_000);
});

test("ISO dates and times are absolute; a bare date is UTC midnight", () => {
  assert.is(parseWhen("--until", "2026-11-24", NOW), Date.parse("2026-11-24T00:00:00Z"));
  assert.is(parseWhen("--until", "2026-11-24T10:30Z", NOW), Date.parse("2026-11-24T10:30:00Z"));
  assert.is(parseWhen("--until", "2026-11-24T10:30:00+01:00", NOW), Date.parse("2026-11-24T09:30:00Z"));
});

test("anything else is a bad time, with the accepted forms in the message", () => {
  for (const bad of ["yesterdayish", "2026", "-3", "7 days", "2026-13-45", "10x"]) {
    assert.throws(() => parseWhen("--since", bad, NOW), (e: SynchroError) => e.code === "BAD_OPTION" && /30m, 2h, 7d/.test(e.message), bad);
  }
});

test("actions are checked and may come comma-separated", () => {
  assert.equal(parseActions("create,update"), ["create", "update"]);
  assert.equal(parseActions(["delete", "error,delete"]), ["delete", "error"]);
  assert.throws(() => parseActions("create,frob"), /got 'frob'/);
  assert.throws(() => parseActions(","), /--action takes/);
});

test("a glob's literal head becomes an index range; a trailing slash is left out", () => {
  assert.equal(globHints("docs/**").range, { from: "docs", to: "doct" });
  assert.equal(globHints("docs/report-*.pdf").range, { from: "docs/report-", to: "docs/report." });
  assert.equal(globHints("./a/b.txt").range, { from: "a/b.txt", to: "a/b.txu" });
  assert.is(globHints("**/*.jpg").range, undefined);
  assert.is(globHints("{a,b}/c").range, undefined);
  assert.equal(globHints("!docs/**"), {});
});

test("a glob without a head still gives SQL a plain piece every match contains", () => {
  assert.is(globHints("**/report-*.pdf").needle, "report-");
  assert.is(globHints("**/*.jpg").needle, ".jpg");
  assert.is(globHints("**/{x,y}z/**").needle, "z");
  assert.is(globHints("**").needle, undefined);
});

test("the hints never exclude a path the glob matches", () => {
  const globs = ["docs/**", "docs/*.txt", "**/*.txt", "d?cs/**", "docs/{a,b}.txt", "**/b.txt", "docs/[ab].txt", "*(x)docs/**", "docs/@(a|b).txt", "a|b", "./docs/a.txt"];
  const paths = ["docs", "docs/a.txt", "docs/b.txt", "docs/sub/b.txt", "dacs/a.txt", "b.txt", "x/docs/a.txt", "a|b", "docsy/a.txt"];
  for (const glob of globs) {
    const match = picomatch(glob, { dot: true, strictBrackets: true });
    const { range, needle } = globHints(glob);
    for (const path of paths) {
      if (!match(path)) continue;
      if (range) assert.ok(path >= range.from && path < range.to, `${glob} matches ${path} outside [${range.from}, ${range.to})`);
      if (needle) assert.ok(path.includes(needle), `${glob} matches ${path} without '${needle}'`);
    }
  }
});

test("every filter agrees with a plain scan, newest first, across growing pages and the time index's edge", async () => {
  const t = sandbox();
  try {
    const store = await openStore(join(t.root, "index.db"), { now: () => NOW });
    const pair = store.pair("/s", "/r", true)!.id;
    const other = store.pair("/s2", "/r2", true)!.id;
    const runs = [store.runs.start(pair, "sync", NOW), store.runs.start(other, "sync", NOW), store.runs.start(pair, "sync", NOW)];
    const actions: OpAction[] = ["create", "update", "delete"];
    const all: { id: number; run: number; time: number; action: OpAction; path: string }[] = [];
    store.write(() => {
      for (let i = 0; i < 45_000; i++) {
        // Times repeat and go back and forth, so order must come from (time, id), not insertion.
        const op = { run: runs[i % 7 === 0 ? 1 : (i >> 4) % 2 ? 2 : 0]!, time: NOW - (i % 13) * 1000 - Math.floor(i / 13), action: actions[i % 3]!, path: i % 2 ? `a/f${i}.txt` : `b/g${i}.md`, size: i };
        store.ops.add(op);
        all.push({ id: i + 1, ...op });
      }
    });
    store.commit();
    const cases: [string, string | null, OpAction[] | undefined, Partial<OpFilter>][] = [
      ["head and glob", "a/**/f*1.txt", undefined, {}],
      ["head and one action", "a/**", ["update"], {}],
      ["a narrow head", "b/g12*.md", undefined, {}],
      ["a rare piece, two actions", "**/g123*.md", ["create", "delete"], {}],
      ["a common piece", "**/*.txt", ["create", "update"], {}],
      ["no glob", null, ["delete"], {}],
      ["a pair", "**/*.md", undefined, { pair: other }],
      ["a run", null, ["create"], { run: runs[2]! }],
      ["a window", "a/**", undefined, { until: NOW - 5_000 }],
    ];
    // More ops in range than the first stage reads, fewer than the second: the default stages end
    // in the index without a floor, and the small ones below in a scan of the table.
    const first = store.ops.edge({ since: NOW - 10_000 }, null, 5_000);
    assert.ok(first && !store.ops.edge({ since: NOW - 10_000 }, first, 100_000));
    for (const [name, glob, acts, extra] of cases) {
      const filter: OpFilter = { actions: acts, since: NOW - 10_000, ...extra };
      const match = glob ? compileGlob(glob) : null;
      if (glob) {
        const hints = globHints(glob);
        filter.pathRange = hints.range;
        filter.pathNeedle = hints.needle;
      }
      // Small stages as well, so that some queries end in a scan of the table.
      const got = selectOps(store, filter, match, 120).map((o) => o.id);
      const staged = selectOps(store, filter, match, 120, [1_000, 4_000]).map((o) => o.id);
      const want = all
        .filter((o) => o.time >= NOW - 10_000 && (filter.until === undefined || o.time <= filter.until))
        .filter((o) => (!acts || acts.includes(o.action)) && (!match || match(o.path)))
        .filter((o) => (filter.run === undefined || o.run === filter.run) && (filter.pair === undefined || (o.run === runs[1]) === (filter.pair === other)))
        .sort((x, y) => y.time - x.time || y.id - x.id)
        .slice(0, 120)
        .map((o) => o.id);
      assert.ok(want.length > 0, name);
      assert.equal(got, want, name);
      assert.equal(staged, want, `${name}, small stages`);
    }
    store.close();
  } finally {
    t.cleanup();
  }
});

test.run();
