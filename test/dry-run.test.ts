import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { sandbox, writeTree, describeTree, rmSync, mkdirSync, writeFileSync, symlinkSync } from "./fixtures/tree.ts";
import { runCli, syncArgs, syncJson } from "./fixtures/cli.ts";

const planOf = (summary: { plan: { action: string; path: string }[] }) => summary.plan.map((p) => `${p.action} ${p.path}`).sort();

test("a dry run after a file became a directory plans the new directory's contents, and changes nothing", () => {
  const t = sandbox();
  try {
    writeTree(t.src, { x: "a file", keep: "k" });
    assert.is(runCli(syncArgs(t)).code, 0);
    rmSync(join(t.src, "x"));
    writeTree(t.src, { x: { "a.txt": "a", sub: { "b.txt": "b" } } });
    const before = describeTree(t.dst);
    const dry = syncJson(t, "--dry-run");
    assert.is(dry.code, 0, dry.stderr);
    assert.equal(planOf(dry.summary), ["create x/a.txt", "create x/sub/b.txt", "mkdir x", "mkdir x/sub"]);
    assert.equal(describeTree(t.dst), before);
    const real = syncJson(t);
    assert.is(real.code, 0, real.stderr);
  } finally {
    t.cleanup();
  }
});

test("a dry run where a link stands in the replica for a new directory does not list the link's target", () => {
  const t = sandbox();
  try {
    const outside = join(t.root, "outside");
    writeTree(outside, { "theirs.txt": "not the replica's" });
    writeTree(t.src, { keep: "k" });
    assert.is(runCli(syncArgs(t)).code, 0);
    mkdirSync(join(t.src, "d"));
    writeFileSync(join(t.src, "d", "a.txt"), "a");
    symlinkSync(outside, join(t.dst, "d"));
    const dry = syncJson(t, "--dry-run", "--full");
    assert.is(dry.code, 0, dry.stderr);
    assert.equal(planOf(dry.summary), ["create d/a.txt", "mkdir d"]);
  } finally {
    t.cleanup();
  }
});

test.run();
