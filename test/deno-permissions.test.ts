import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { sandbox, writeTree } from "./fixtures/tree.ts";
import { isDeno, repoRoot } from "./fixtures/cli.ts";
import { skip } from "./fixtures/skip.ts";

/** The Deno binary: the runtime itself when the suite runs on Deno, else the devDependency's. */
const deno = isDeno ? process.execPath : join(repoRoot, "node_modules", ".bin", "deno");
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
const HINT = "; run with --allow-read --allow-write --allow-env, or -A\n";

/** The CLI bundle alone in a fresh folder, run with `flags`, as a user who forgot one would; never at a terminal (Deno would ask). */
function runBundle(flags: string[], args: (t: ReturnType<typeof sandbox>) => string[]) {
  const t = sandbox("synchro-perm-");
  copyFileSync(join(repoRoot, "dist", "synchro.mjs"), join(t.root, "synchro.mjs"));
  writeTree(t.src, { "a.txt": "hello", d: { "b.txt": "b" } });
  const r = spawnSync(deno, ["run", ...flags, "synchro.mjs", ...args(t)], { cwd: t.root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
  return { t, r };
}

const syncArgs = (t: ReturnType<typeof sandbox>) => ["sync", t.src, t.dst, "--state", t.state];

/** What is missing, the flags given, the line expected, and whether the refusal comes before the replica is made. */
const cases: [string, string[], (t: ReturnType<typeof sandbox>) => RegExp, boolean][] = [
  // --deny-net grants nothing: a deno started by a Deno process (the suite on Deno) with no permission flag at all gets every permission.
  ["no permission at all", ["--deny-net"], () => /^synchro: Deno needs --allow-env to use the environment variable \S+/, true],
  ["no --allow-read", ["--allow-write", "--allow-env"], (t) => new RegExp(`^synchro: Deno needs --allow-read to read ${t.src}`), true],
  ["no --allow-write", ["--allow-read", "--allow-env"], (t) => new RegExp(`^synchro: Deno needs --allow-write to write ${t.root}/state`), true],
  // The tuning variables (SYNCHRO_STAGE_MIN...) are read during the run, once the replica is made.
  ["--allow-env for two variables only", ["--allow-read", "--allow-write", "--allow-env=NO_COLOR,FORCE_COLOR"], () => /^synchro: Deno needs --allow-env to use the environment variable SYNCHRO_\w+/, false],
];

for (const [what, flags, expected, early] of cases) {
  test(`on Deno with ${what}, the CLI says in one line which flag to add, with exit 2`, () => {
    const { t, r } = runBundle(flags, syncArgs);
    try {
      assert.is(r.status, 2, r.stderr);
      assert.match(r.stderr, expected(t));
      assert.ok(r.stderr.endsWith(HINT), r.stderr);
      assert.is(r.stderr.split("\n").length, 2, r.stderr);
      assert.is(r.stdout, "");
      if (early) assert.not.ok(existsSync(t.dst), "the replica was not made");
    } finally {
      t.cleanup();
    }
  });
}

test("on Deno with --allow-write for the index only, the run stops at its first write into the replica with one line, exit 2", () => {
  const { t, r } = runBundle(["--allow-read", "--allow-env", "--allow-write=state"], (t) => {
    mkdirSync(t.dst);
    return syncArgs(t);
  });
  try {
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^synchro: Deno needs --allow-write to write ${t.dst}(/\\S+)?${HINT}$`));
  } finally {
    t.cleanup();
  }
});

test("on Deno with a --allow-write list that holds the replica's marker but not its files, the run stops at the first file with one line, exit 2", () => {
  const { t, r } = runBundle(["--allow-read", "--allow-env", "--allow-write=state,dst/.synchro"], (t) => {
    mkdirSync(join(t.dst, ".synchro"), { recursive: true });
    return syncArgs(t);
  });
  try {
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^synchro: Deno needs --allow-write to write ${t.dst}/\\S+${HINT}$`));
  } finally {
    t.cleanup();
  }
});

test("on Deno a watch that may not write the replica stops with one line, exit 2", () => {
  const { t, r } = runBundle(["--allow-read", "--allow-env", "--allow-write=state"], (t) => {
    mkdirSync(t.dst);
    return ["watch", t.src, t.dst, "--state", t.state];
  });
  try {
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^synchro: Deno needs --allow-write to write ${t.dst}(/\\S+)?${HINT}$`, "m"));
    assert.not.match(r.stderr, /Uncaught|\n\s+at /);
  } finally {
    t.cleanup();
  }
});

test("on Deno a library caller whose replica may not be written gets a SynchroError naming the flag", () => {
  const t = sandbox("synchro-perm-");
  try {
    copyFileSync(join(repoRoot, "dist", "index.mjs"), join(t.root, "index.mjs"));
    writeFileSync(join(t.root, "use.mjs"), [
      'import { sync } from "./index.mjs";',
      'try { await sync({ source: "src", replica: "dst", state: "state/index.db" }); } catch (e) { console.log(JSON.stringify([e.name, e.code, e.message])); }',
    ].join("\n"));
    writeTree(t.src, { "a.txt": "hello" });
    mkdirSync(t.dst);
    const r = spawnSync(deno, ["run", "--allow-read", "--allow-env", "--allow-write=state", "use.mjs"], { cwd: t.root, encoding: "utf8" });
    assert.is(r.status, 0, r.stderr);
    const [name, code, message] = JSON.parse(r.stdout);
    assert.equal([name, code], ["SynchroError", "DENO_PERMISSION"]);
    assert.match(message, new RegExp(`^Deno needs --allow-write to write ${t.dst}[/;]`));
  } finally {
    t.cleanup();
  }
});

test("`npx deno task synchro` runs the bundle from the repository with no deno on PATH", () => {
  // A fresh clone: deno is the devDependency's binary, which npx finds; PATH holds no node_modules/.bin.
  const path = (process.env.PATH ?? "").split(delimiter).filter((p) => !p.includes("node_modules")).join(delimiter);
  if (spawnSync("sh", ["-c", "command -v deno"], { env: { ...process.env, PATH: path } }).status === 0) {
    skip("`npx deno task` with no deno on PATH: a deno is installed on PATH");
    return;
  }
  const r = spawnSync("npx", ["deno", "task", "synchro", "--version"], { cwd: repoRoot, encoding: "utf8", env: { ...process.env, PATH: path, NO_COLOR: "1" } });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, `synchro ${pkg.version}\n`);
});

test.run();
