// npm run bench:ab -- <before-checkout> [--files N] [--runs N] [--only copy,noop,change,large] [--dir D]
// Times this checkout's synchro against another checkout's (each built with `npm run build`) on
// the bench's three main workloads and its large copy (4 x 256 MiB), in alternating runs on the
// same trees: the before/after figures an engine change lands with. Prints medians of wall and
// CPU time and the ratio after/before.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { content, makeLargeTree, makeSmallTree, random, smallTreePaths } from "./tree.ts";
import { median, timed } from "./measure.ts";

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    files: { type: "string", default: "100000" },
    runs: { type: "string", default: "5" },
    only: { type: "string", default: "copy,noop,change" },
    dir: { type: "string", default: join(tmpdir(), "synchro-bench") },
  },
});
const fail = (message: string): never => {
  process.stderr.write(`bench:ab: ${message}\n`);
  process.exit(1);
};
const before = positionals[0] ? resolve(positionals[0]) : fail("usage: npm run bench:ab -- <before-checkout> [--files N] [--runs N] [--only copy,noop,change]");
const files = Number(opts.files);
const runs = Number(opts.runs);
const only = String(opts.only).split(",");
const here = fileURLToPath(new URL("..", import.meta.url));
const builds = { before: join(before, "bin", "synchro.cjs"), after: join(here, "bin", "synchro.cjs") };
for (const bin of Object.values(builds)) if (!existsSync(bin)) fail(`no ${bin}: build that checkout first (npm run build)`);
type Side = keyof typeof builds;
const SIDES: Side[] = ["before", "after"];

const root = String(opts.dir);
const src = makeSmallTree(join(root, `small-${files}`), files);
const large = only.includes("large") ? makeLargeTree(join(root, "large-4x256"), 4, 256) : "";
const out = join(root, `out-ab-${files}`);
const wall: Record<string, Record<Side, number[]>> = {};
const cpu: Record<string, Record<Side, number[]>> = {};

async function time(w: string, side: Side, run: number): Promise<void> {
  const fresh = w === "copy" || w === "large";
  const dst = join(out, side, fresh ? `${w}${run}` : "replica");
  const state = join(out, side, fresh ? `${w}${run}.db` : "replica.db");
  spawnSync("sync");
  const t = await timed(process.execPath, [builds[side], "sync", w === "large" ? large : src, dst, "--state", state, "--quiet"]);
  if (t.code !== 0) fail(`${side} failed (${w}): ${t.stderr.trim()}`);
  ((wall[w] ??= { before: [], after: [] })[side]).push(t.secs);
  if (t.cpuSecs !== null) ((cpu[w] ??= { before: [], after: [] })[side]).push(t.cpuSecs);
  process.stderr.write(`  ${w} ${side}: ${t.secs.toFixed(3)} s${t.cpuSecs === null ? "" : `, ${t.cpuSecs.toFixed(2)} s CPU`}\n`);
}

rmSync(out, { recursive: true, force: true });
for (const side of SIDES) mkdirSync(join(out, side), { recursive: true });
const order = (i: number): Side[] => (i % 2 === 0 ? SIDES : [...SIDES].reverse());
if (only.includes("copy")) for (let i = 0; i < runs; i++) for (const side of order(i)) await time("copy", side, i);
if (only.includes("large")) {
  for (let i = 0; i < runs; i++) {
    for (const side of order(i)) await time("large", side, i);
    // Four fresh 1 GiB copies per run would fill the page cache and the disk: each goes once timed.
    for (const side of SIDES) rmSync(join(out, side, `large${i}`), { recursive: true, force: true });
  }
}
// The re-syncs start from a replica each build made itself, untimed.
for (const side of SIDES) spawnSync(process.execPath, [builds[side], "sync", src, join(out, side, "replica"), "--state", join(out, side, "replica.db"), "--quiet"]);
if (only.includes("noop")) for (let i = 0; i < runs; i++) for (const side of order(i)) await time("noop", side, i);
if (only.includes("change")) {
  const paths = smallTreePaths(files);
  for (let i = 0; i < runs; i++) {
    const next = random(2000 + i);
    for (let k = (i * 37) % 100; k < paths.length; k += 100) writeFileSync(join(src, paths[k]!), content(next, 512 + Math.floor(next() * 3584)));
    // Both builds re-sync the same change, in alternating order.
    for (const side of order(i)) await time("change", side, i);
  }
}
rmSync(out, { recursive: true, force: true });

const row = (w: string, m: Record<string, Record<Side, number[]>>) => {
  const r = m[w];
  if (!r) return "-";
  const [b, a] = [median(r.before), median(r.after)];
  return `${b.toFixed(3)} → ${a.toFixed(3)} (${(a / b).toFixed(3)})`;
};
console.log(`\nbefore ${before}, after ${here}: medians of ${runs} alternating runs, ${files} files`);
for (const w of only) console.log(`${w.padEnd(7)} wall ${row(w, wall)}   CPU ${row(w, cpu)}`);
