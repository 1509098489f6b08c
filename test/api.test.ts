import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import * as source from "../src/index.ts";
import { sandbox, writeTree, rsyncDiff, rmSync } from "./fixtures/tree.ts";
import { isDeno, repoRoot, runCli } from "./fixtures/cli.ts";
import { assertShape } from "./fixtures/shape.ts";

type Api = typeof source;
const SUMMARY = {
  source: "string", replica: "string", run: "number|null", trigger: "string", dryRun: "boolean", full: "boolean",
  result: "string", startedAt: "string", durationMs: "number", counts: "object", bytes: "number", errors: "array",
};

/** The same checks against the TypeScript source (what Deno imports) and the built bundle (what `import "synchro"` gets). */
const apis: [string, () => Promise<Api>][] = [
  ["src/index.ts", async () => source],
  ["dist/index.mjs", async () => (await import(join(repoRoot, "dist", "index.mjs"))) as Api],
];

for (const [name, load] of apis) {
  test(`${name}: sync() mirrors a tree and resolves to the summary --json prints`, async () => {
    const api = await load();
    const t = sandbox();
    try {
      writeTree(t.src, { "a.txt": "hello", d: { "b.txt": "world" }, l: { link: "a.txt" } });
      const s = await api.sync({ source: t.src, replica: t.dst, state: t.state });
      assertShape(s, SUMMARY, "summary");
      assert.is(s.result, "ok");
      assert.is(s.counts.create, 2);
      assert.is(s.counts.symlink, 1);
      assert.is(rsyncDiff(t.src, t.dst), "");
      writeTree(t.src, { "c.txt": "new" });
      const cli = runCli(["sync", t.src, t.dst, "--state", t.state, "--json"]);
      const printed = JSON.parse(cli.stdout);
      assert.equal(Object.keys(printed).sort(), Object.keys(s).sort(), "the CLI prints the same object");
      assert.is(printed.counts.create, 1);
    } finally {
      t.cleanup();
    }
  });

  test(`${name}: errors are SynchroError instances with stable codes and exit codes`, async () => {
    const api = await load();
    const t = sandbox();
    try {
      const missing = await api.sync({ source: t.src, replica: t.dst, state: t.state }).catch((e: unknown) => e);
      assert.ok(missing instanceof api.SynchroError);
      assert.ok(api.isSynchroError(missing));
      assert.is((missing as source.SynchroError).code, "SOURCE_MISSING");
      assert.is((missing as source.SynchroError).exitCode, 2);
      writeTree(t.src, { a: "1", b: "2", c: "3", d: "4" });
      await api.sync({ source: t.src, replica: t.dst, state: t.state });
      for (const f of ["a", "b", "c"]) rmSync(join(t.src, f));
      const limited = (await api.sync({ source: t.src, replica: t.dst, state: t.state }).catch((e: unknown) => e)) as source.SynchroError;
      assert.is(limited.code, "DELETE_LIMIT");
      assert.is(limited.exitCode, 3);
      assertShape(limited.data.summary, SUMMARY, "DELETE_LIMIT data.summary");
    } finally {
      t.cleanup();
    }
  });

  test(`${name}: progress comes through onEvent, from zero to what the run copied`, async () => {
    const api = await load();
    const t = sandbox();
    try {
      writeTree(t.src, { "a.txt": "12345", d: { "b.txt": "123", "c.txt": "1" } });
      const seen: source.ProgressEvent[] = [];
      const onEvent = (e: source.SyncEvent) => void (e.type === "progress" && seen.push(e));
      const s = await api.sync({ source: t.src, replica: t.dst, state: t.state, onEvent });
      const [first, last] = [seen[0]!, seen.at(-1)!];
      assert.equal([first.files, first.bytes, first.expected], [0, 0, null], "a first run has nothing to expect");
      assert.equal([last.files, last.plannedFiles, last.bytes, last.plannedBytes, last.scanned], [3, 3, 9, 9, 4]);
      assert.is(last.bytes, s.bytes);
      seen.length = 0;
      await api.sync({ source: t.src, replica: t.dst, state: t.state, onEvent });
      assert.is(seen[0]!.expected, 4, "a re-sync expects as many entries as the index holds");
    } finally {
      t.cleanup();
    }
  });
}

test("progress ends with planned equal to done, also when a planned copy became a rename", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "a.txt": "12345", "b.txt": "123" });
    await source.sync({ source: t.src, replica: t.dst, state: t.state });
    renameSync(join(t.src, "a.txt"), join(t.src, "moved.txt"));
    const seen: source.ProgressEvent[] = [];
    const s = await source.sync({ source: t.src, replica: t.dst, state: t.state, onEvent: (e) => void (e.type === "progress" && seen.push(e)) });
    assert.is(s.counts.rename, 1);
    const last = seen.at(-1)!;
    assert.equal([last.files, last.plannedFiles, last.bytes, last.plannedBytes], [0, 0, 0, 0]);
    for (const e of seen) assert.ok(e.files <= e.plannedFiles && e.bytes <= e.plannedBytes, JSON.stringify(e));
  } finally {
    t.cleanup();
  }
});

test("a large copy reports its bytes chunk by chunk, naming the file", async () => {
  const t = sandbox();
  try {
    writeTree(t.src, { "big.bin": "x".repeat(20 << 20), "small.txt": "s" });
    const seen: source.ProgressEvent[] = [];
    // A clock that jumps 1 s per reading lets every chance to report through the 100 ms throttle.
    let clock = 0;
    const now = () => (clock += 1000);
    await source.sync({ source: t.src, replica: t.dst, state: t.state, now, onEvent: (e) => void (e.type === "progress" && seen.push(e)) });
    const during = seen.filter((e) => e.path === "big.bin").map((e) => e.bytes);
    assert.equal(during[0], 0, "the copy is announced before it starts");
    const steps = during.filter((b) => b > 0);
    assert.ok(steps.length >= 3, `chunk by chunk: ${steps}`);
    assert.ok(steps.every((b, i) => i === 0 || b > steps[i - 1]!), `growing: ${steps}`);
    assert.ok(steps.at(-1)! >= 20 << 20, "the whole file is counted");
    assert.is(seen.at(-1)!.bytes, (20 << 20) + 1, "a finished copy counts once");
  } finally {
    t.cleanup();
  }
});

test("the package exports types and the bundle, and the versions agree", async () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
  assert.equal(pkg.exports["."], { types: "./dist/types/src/index.d.ts", default: "./dist/index.mjs" });
  assert.ok(readFileSync(join(repoRoot, pkg.exports["."].types), "utf8").includes("export { sync"));
  const deno = JSON.parse(readFileSync(join(repoRoot, "deno.json"), "utf8"));
  assert.is(deno.exports, "./src/index.ts");
  assert.is(source.VERSION, pkg.version);
  if (!isDeno) {
    // Node resolves the package's own name through package.json "exports": what a user's import gets.
    const name: string = pkg.name;
    const byName = (await import(name)) as Api;
    assert.is(typeof byName.sync, "function");
    assert.is(byName.VERSION, pkg.version);
  }
});

if (!isDeno) {
  test("a TypeScript user's code type-checks against the published declarations, and they are not `any`", () => {
    const t = sandbox("synchro-types-");
    try {
      const modules = join(t.root, "node_modules");
      mkdirSync(join(modules, "@types"), { recursive: true });
      symlinkSync(repoRoot, join(modules, "synchro"));
      symlinkSync(join(repoRoot, "node_modules", "@types", "node"), join(modules, "@types", "node"));
      writeFileSync(join(t.root, "package.json"), JSON.stringify({ type: "module" }));
      writeFileSync(join(t.root, "tsconfig.json"), JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, types: ["node"] },
      }));
      writeFileSync(join(t.root, "use.ts"), [
        'import { sync, isSynchroError, type SyncSummary, type ErrorCode } from "synchro";',
        'const s: SyncSummary = await sync({ source: "a", replica: "b", onEvent: (e) => { if (e.type === "progress") e.plannedBytes.toFixed(); } });',
        "const created: number = s.counts.create;",
        'try { await sync({ source: "a", replica: "b" }); } catch (e) { if (isSynchroError(e)) { const c: ErrorCode = e.code; console.log(c, e.exitCode, created); } }',
        "// @ts-expect-error: a summary has no such field, so the types are real",
        "s.nope;",
      ].join("\n"));
      const r = spawnSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", t.root], { encoding: "utf8" });
      assert.is(r.status, 0, r.stdout + r.stderr);
    } finally {
      t.cleanup();
    }
  });
}

test.run();
