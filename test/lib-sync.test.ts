import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sync, SynchroError, type SyncEvent } from "../src/index.ts";
import { sandbox, writeTree, rsyncDiff, writeFileSync, rmSync } from "./fixtures/tree.ts";
import { syncJson } from "./fixtures/cli.ts";

test("sync() changes the working directory only when told it owns the process, and always changes it back", async () => {
  const t = sandbox();
  const chdir = process.chdir;
  const into: string[] = [];
  const home = process.cwd();
  process.chdir = (dir: string) => {
    into.push(dir);
    chdir(dir);
  };
  try {
    writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b", e: { "c.txt": "c" } } });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.equal(into, []);
    await sync({ source: t.src, replica: join(t.root, "dst2"), state: t.state, ownsProcess: true });
    assert.ok(into.includes(join(t.src, "d", "e")), into.join(", "));
    assert.is(into.at(-1), home);
    assert.is(process.cwd(), home);
    assert.is(rsyncDiff(t.src, join(t.root, "dst2")), "");
    // A worker starting mid-listing would resolve a relative preload from the listed directory.
    const options = process.env.NODE_OPTIONS;
    try {
      into.length = 0;
      process.env.NODE_OPTIONS = "--require ./preload.cjs";
      await sync({ source: t.src, replica: join(t.root, "dst3"), state: t.state, ownsProcess: true });
      assert.equal(into, []);
      process.env.NODE_OPTIONS = "--max-semi-space-size=4";
      await sync({ source: t.src, replica: join(t.root, "dst4"), state: t.state, ownsProcess: true });
      assert.ok(into.length > 0);
    } finally {
      if (options === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = options;
    }
  } finally {
    process.chdir = chdir;
    process.chdir(home);
    t.cleanup();
  }
});

test("sync() mirrors a tree and resolves to the summary --json prints", async () => {
  const t = sandbox();
  const u = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" }, l: { link: "a.txt" } });
    writeTree(u.src, { "a.txt": "a", d: { "b.txt": "b" }, l: { link: "a.txt" } });
    const summary = await sync({ source: t.src, replica: t.dst, state: t.state });
    assert.is(rsyncDiff(t.src, t.dst), "");
    assert.is(summary.result, "ok");
    assert.is(summary.counts.create, 2);
    assert.is(summary.counts.symlink, 1);
    assert.is(summary.counts.mkdir, 1);
    assert.is(summary.source, t.src);
    assert.is(summary.replica, t.dst);
    const cli = syncJson(u).summary;
    assert.equal(Object.keys(summary).sort(), Object.keys(cli).sort());
    assert.equal(Object.keys(summary.counts).sort(), Object.keys(cli.counts).sort());
    assert.equal(summary.counts, cli.counts);
  } finally {
    t.cleanup();
    u.cleanup();
  }
});

test("sync() reports each operation as an event and takes its options as a plain object", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    writeFileSync(join(t.src, "a.txt"), "changed");
    writeFileSync(join(t.src, "skip.me"), "x");
    const events: SyncEvent[] = [];
    const summary = await sync({ source: t.src, replica: t.dst, state: t.state, exclude: "*.me", onEvent: (e) => events.push(e) });
    assert.equal(summary.counts.update, 1);
    assert.equal(
      events.filter((e) => e.type === "op").map((e) => [e.type === "op" && e.action, e.path]),
      [["update", "a.txt"]],
    );
    assert.is(readFileSync(join(t.dst, "a.txt"), "utf8"), "changed");
    assert.not.ok(existsSync(join(t.dst, "skip.me")));
  } finally {
    t.cleanup();
  }
});

test("sync() with dryRun returns the plan and writes nothing", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a", d: {} });
    const summary = await sync({ source: t.src, replica: t.dst, state: t.state, dryRun: true });
    assert.ok(summary.dryRun);
    assert.equal(summary.plan?.map((p) => [p.action, p.path]), [["create", "a.txt"], ["mkdir", "d"]]);
    assert.not.ok(existsSync(t.dst));
  } finally {
    t.cleanup();
  }
});

const failures: { name: string; code: string; options: (t: ReturnType<typeof sandbox>) => Parameters<typeof sync>[0] }[] = [
  { name: "a missing source", code: "SOURCE_MISSING", options: (t) => ({ source: join(t.root, "nope"), replica: t.dst, state: t.state }) },
  { name: "nested folders", code: "NESTED_PATHS", options: (t) => ({ source: t.src, replica: join(t.src, "in"), state: t.state }) },
  { name: "a replica that is a file", code: "REPLICA_IS_FILE", options: (t) => (writeFileSync(t.dst, "f"), { source: t.src, replica: t.dst, state: t.state }) },
  { name: "a missing replica parent", code: "REPLICA_PARENT_MISSING", options: (t) => ({ source: t.src, replica: join(t.root, "a", "b"), state: t.state }) },
  { name: "an invalid glob", code: "BAD_GLOB", options: (t) => ({ source: t.src, replica: t.dst, state: t.state, exclude: ["ok", "[bad"] }) },
  { name: "a bad delete limit", code: "BAD_OPTION", options: (t) => ({ source: t.src, replica: t.dst, state: t.state, maxDelete: "lots" }) },
];

for (const f of failures) {
  test(`sync() rejects ${f.name} with a SynchroError coded ${f.code}, exit code 2`, async () => {
    const t = sandbox();
    try {
      writeTree(t.src, { "a.txt": "a" });
      const err = await sync(f.options(t)).then(
        () => null,
        (e: unknown) => e,
      );
      assert.instance(err, SynchroError);
      assert.is((err as SynchroError).code, f.code);
      assert.is((err as SynchroError).exitCode, 2);
      assert.not.ok(existsSync(t.state));
    } finally {
      t.cleanup();
    }
  });
}

test("sync() refuses an emptied source with SOURCE_EMPTY and leaves the replica alone", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "a" });
    await sync({ source: t.src, replica: t.dst, state: t.state });
    rmSync(join(t.src, "a.txt"));
    const err = await sync({ source: t.src, replica: t.dst, state: t.state }).catch((e: unknown) => e);
    assert.instance(err, SynchroError);
    assert.is((err as SynchroError).code, "SOURCE_EMPTY");
    assert.ok(existsSync(join(t.dst, "a.txt")));
  } finally {
    t.cleanup();
  }
});

test.run();
