import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTree, rsyncDiff } from "./fixtures/tree.ts";
import { repoRoot } from "./fixtures/cli.ts";
import { skip } from "./fixtures/skip.ts";

/**
 * The npm package as a user gets it: `npm pack`, then `npm install -g` of the tarball into an
 * empty prefix, then the installed command. The install compiles better-sqlite3 (about a minute),
 * so these run when SYNCHRO_PACK_TEST=1, as .ci/run sets it.
 */
const enabled = process.env.SYNCHRO_PACK_TEST === "1";
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
const work = enabled ? mkdtempSync(join(tmpdir(), "synchro-package-")) : "";

/** A user's shell rather than `npm test`'s: none of npm's variables that name this checkout or its scripts. */
const userEnv: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !/^(npm_(package|lifecycle)_|npm_command$|npm_config_(local_|global_)?prefix$|INIT_CWD$)/.test(e[0])),
);

function npm(args: string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync("npm", args, { cwd, env: userEnv, encoding: "utf8", timeout: 15 * 60_000, killSignal: "SIGKILL" });
  return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

let tarball: string | undefined;
/** `npm pack` of the checkout, once: npm runs the build first (prepack). */
function packed(): string {
  if (tarball) return tarball;
  const r = npm(["pack", "--pack-destination", work], repoRoot);
  assert.is(r.status, 0, r.out);
  tarball = join(work, `${pkg.name}-${pkg.version}.tgz`);
  assert.ok(existsSync(tarball), r.out);
  return tarball;
}

/** Network failures only: anything else in the install is a defect of the package. */
const UNREACHABLE = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|ENOTCACHED)\b/;

let prefix: string | null | undefined;
/** The tarball installed globally into an empty prefix (cached packages first); null when the registry is out of reach. */
function installed(): string | null {
  if (prefix !== undefined) return prefix;
  const dir = join(work, "prefix");
  mkdirSync(dir);
  const r = npm(["install", "-g", packed(), "--prefix", dir, "--prefer-offline", "--no-audit", "--no-fund"], work);
  if (r.status !== 0 && UNREACHABLE.test(r.out)) return (prefix = null);
  assert.is(r.status, 0, r.out);
  return (prefix = dir);
}

function packageTest(name: string, fn: () => void): void {
  test(name, () => (enabled ? fn() : skip(`${name}: set SYNCHRO_PACK_TEST=1 (the install compiles better-sqlite3)`)));
}

test.after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

packageTest("the packed tarball holds what runs (bin, dist, README, CHANGELOG, LICENSE) and no tests, scripts or CI", () => {
  const r = spawnSync("tar", ["tzf", packed()], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  const files = r.stdout.split("\n").filter((l) => l !== "").map((l) => l.replace(/^package\//, ""));
  const top = [...new Set(files.map((f) => f.split("/")[0]))].sort();
  assert.equal(top, ["CHANGELOG.md", "LICENSE", "README.md", "bin", "dist", "package.json"]);
  for (const dir of ["test/", "scripts/", ".ci/", "src/", "node_modules/"]) {
    assert.equal(files.filter((f) => f.startsWith(dir)), [], `nothing under ${dir}`);
  }
  // Every file package.json points at is there.
  for (const f of [pkg.bin.synchro, pkg.exports["."].default, pkg.exports["."].types, "dist/synchro.cjs", "dist/synchro.mjs"]) {
    assert.ok(files.includes(f.replace(/^\.\//, "")), `${f} is packed`);
  }
});

packageTest("the installed tarball runs synchro --help, without our build tools and without their build", () => {
  const dir = installed();
  if (dir === null) return skip("the installed tarball: the npm registry is out of reach");
  assert.not.ok(existsSync(join(dir, "lib", "node_modules", pkg.name, "node_modules", "esbuild")), "no devDependency was installed");
  const r = spawnSync(join(dir, "bin", "synchro"), ["--help"], { cwd: work, encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^synchro \d+\.\d+\.\d+: a one-way folder mirror/);
});

packageTest("the installed synchro mirrors a tree given by relative paths from an unrelated folder", () => {
  const dir = installed();
  if (dir === null) return skip("the installed tarball: the npm registry is out of reach");
  const elsewhere = join(work, "elsewhere");
  writeTree(join(elsewhere, "photos"), { "a.jpg": "a", trips: { "b.jpg": "b".repeat(70_000), deep: { "c.txt": "c" } }, link: { link: "a.jpg" } });
  const r = spawnSync(join(dir, "bin", "synchro"), ["sync", "photos", "backup", "--state", "state/index.db"], { cwd: elsewhere, encoding: "utf8", env: { ...userEnv, NO_COLOR: "1" } });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /synced in/);
  assert.is(rsyncDiff(join(elsewhere, "photos"), join(elsewhere, "backup")), "");
});

test.run();
