import { test } from "uvu";
import * as assert from "uvu/assert";
import { chownSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { sandbox, writeTree, rsyncDiff, chmodSync, rmSync, writeFileSync, mkdirSync, forNobody, NOBODY } from "./fixtures/tree.ts";
import { runCli } from "./fixtures/cli.ts";

/**
 * Tests run as root, who can read everything; these run synchro as nobody on a source
 * it cannot fully read. The replica, state and log belong to nobody so only the source is in the way.
 */
function nobodySandbox() {
  const t = sandbox();
  forNobody(t);
  writeTree(t.src, {
    pub: { "a.txt": "a", "gone.txt": "deleted in the source" },
    secret: { "s1.txt": "s1", sub: { "s2.txt": "s2" } },
    halfopen: { "h.txt": "h" },
    "private.txt": "private v1",
    "open.txt": "open v1",
  });
  const sync = () => runCli(["sync", t.src, t.dst, "--state", t.state, "--log", t.log], { uid: NOBODY });
  return { t, sync };
}

test("unreadable source entries are logged, exit 1, and their replica copies are kept", () => {
  const { t, sync } = nobodySandbox();
  try {
    const first = sync();
    assert.is(first.code, 0, first.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");

    chmodSync(join(t.src, "secret"), 0o000);
    // Changed and then unreadable: a mode change alone may be mirrored without reading the file.
    writeFileSync(join(t.src, "private.txt"), "private v2");
    chmodSync(join(t.src, "private.txt"), 0o000);
    // Listable but not searchable: the names are there, their lstat fails.
    chmodSync(join(t.src, "halfopen"), 0o644);
    writeFileSync(join(t.src, "open.txt"), "open v2");
    writeFileSync(join(t.src, "pub", "new.txt"), "new");
    rmSync(join(t.src, "pub", "gone.txt"));

    const r = sync();
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /secret: reading source: EACCES/);
    assert.match(r.stderr, /private\.txt: reading source: EACCES/);
    assert.match(r.stderr, /halfopen\/h\.txt: reading source: cannot read \(EACCES\)/);
    const log = readFileSync(t.log, "utf8");
    assert.match(log, /ERROR \[run \d+\] secret: reading source: EACCES/);
    assert.match(log, /ERROR \[run \d+\] private\.txt: reading source: EACCES/);

    assert.is(readFileSync(join(t.dst, "secret", "s1.txt"), "utf8"), "s1");
    assert.is(readFileSync(join(t.dst, "secret", "sub", "s2.txt"), "utf8"), "s2");
    assert.is(readFileSync(join(t.dst, "private.txt"), "utf8"), "private v1");
    assert.is(readFileSync(join(t.dst, "halfopen", "h.txt"), "utf8"), "h");
    // The readable rest is synced, but a run with errors deletes nothing.
    assert.is(readFileSync(join(t.dst, "open.txt"), "utf8"), "open v2");
    assert.is(readFileSync(join(t.dst, "pub", "new.txt"), "utf8"), "new");
    assert.ok(existsSync(join(t.dst, "pub", "gone.txt")));
    assert.match(r.stderr, /skipping 1 deletion because this run had 3 errors/);

    chmodSync(join(t.src, "secret"), 0o755);
    chmodSync(join(t.src, "private.txt"), 0o644);
    chmodSync(join(t.src, "halfopen"), 0o755);
    const healed = sync();
    assert.is(healed.code, 0, healed.stderr);
    assert.is(rsyncDiff(t.src, t.dst), "");
  } finally {
    t.cleanup();
  }
});

test("a first run keeps replica copies of what it cannot read in the source", () => {
  const { t, sync } = nobodySandbox();
  try {
    // A replica made earlier by another tool: synchro has never seen it.
    writeTree(t.dst, { secret: { "s1.txt": "s1", sub: { "s2.txt": "s2" } }, "private.txt": "private v1" });
    for (const p of ["secret", "secret/s1.txt", "secret/sub", "secret/sub/s2.txt", "private.txt"]) chownSync(join(t.dst, p), NOBODY, NOBODY);
    chmodSync(join(t.src, "secret"), 0o000);
    chmodSync(join(t.src, "private.txt"), 0o000);
    const r = sync();
    assert.is(r.code, 1, r.stderr);
    assert.is(readFileSync(join(t.dst, "secret", "sub", "s2.txt"), "utf8"), "s2");
    assert.is(readFileSync(join(t.dst, "private.txt"), "utf8"), "private v1");
    assert.is(readFileSync(join(t.dst, "pub", "a.txt"), "utf8"), "a");
  } finally {
    t.cleanup();
  }
});

test.run();
