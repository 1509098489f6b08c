// npm run bench [-- --files N --runs N --only copy,noop,change,large,rename --dir D --watch]
// Times synchro (the real CLI, as its bin runs it) against `rsync -a --delete` and `cp -a`, side by side
// in one run, and prints medians, ratios and PASS/MISS against the targets of the performance issue.
import { spawnSync } from "node:child_process";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { makeLargeTree, makeRenameTree, makeSmallTree, smallTreePaths, random, content } from "./tree.ts";
import { median, mirrorDiff, rssMethod, timed, type Timed } from "./measure.ts";

const { values: opts } = parseArgs({
  options: {
    files: { type: "string", default: "100000" },
    runs: { type: "string", default: "3" },
    only: { type: "string" },
    dir: { type: "string", default: join(tmpdir(), "synchro-bench") },
    watch: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
  // Not strict: with --watch, the flags of scripts/bench-watch.ts pass through.
  strict: false,
});
const USAGE = `npm run bench [-- options]
  --files N      small files in the generated tree (default 100000)
  --runs N       timed runs per command; medians are reported (default 3)
  --only LIST    comma-separated workloads: copy,noop,change,large,rename (default all)
  --dir D        where the trees are generated and reused (default $TMPDIR/synchro-bench)
  --watch        run scripts/bench-watch.ts instead, passing its flags through`;
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const files = Number(opts.files);
const runs = Number(opts.runs);
const root = String(opts.dir);
const repo = fileURLToPath(new URL("..", import.meta.url));
/** What `synchro` runs on Node: the CommonJS bundle from its code cache. */
const bin = join(repo, "bin", "synchro.cjs");
const WORKLOADS = ["copy", "noop", "change", "large", "rename"] as const;
type Workload = (typeof WORKLOADS)[number];
const only = opts.only ? String(opts.only).split(",") : null;
const wanted = (w: string) => !only || only.includes(w);
const LARGE = { count: 4, mib: 256 };
const RENAME_FILES = 10_000;
/** The 1% re-sync has none: its 0.6 was retired once the floor showed it below what Node reaches with the index (scripts/README.md). */
const TARGETS: Partial<Record<Workload, number>> = { copy: 1.0, noop: 0.6, large: 0.6, rename: 0.2 };
const LABELS: Record<Workload, string> = {
  copy: `initial copy, ${files.toLocaleString("en")} small files`,
  noop: `no-op re-sync, ${files.toLocaleString("en")} files`,
  change: `re-sync after 1% changed`,
  large: `initial copy, ${LARGE.count} × ${LARGE.mib} MiB (hashed)`,
  rename: `dir of ${RENAME_FILES.toLocaleString("en")} files renamed`,
};

/**
 * "floor" is scripts/floor.mjs: the least a Node program does for a first copy of small files or
 * a re-sync while keeping the index issue 6 asks for (two threads, each copying its half of the
 * tree through temporary files, or lstat'ing it and replacing the changed files it is told of;
 * each file copied is hashed, and its row, its operation and its directory's row and digest are
 * written to an index), timed beside the others so that the table shows how close to Node's
 * floor synchro is.
 */
type Tool = "synchro" | "rsync" | "cp" | "floor";
const TOOLS: Tool[] = ["synchro", "rsync", "cp", "floor"];
/** The tools of the small-file copy, which take turns going first; the large copy leaves out the floor, which reads each file whole. */
const SMALL_COPIERS: Tool[] = TOOLS;
const LARGE_COPIERS: Tool[] = ["synchro", "rsync", "cp"];
const perTool = (): Record<Tool, number[]> => ({ synchro: [], rsync: [], cp: [], floor: [] });
interface Result {
  times: Record<Tool, number[]>;
  /** CPU seconds (user + system) of the same runs, where GNU time read them. */
  cpu: Record<Tool, number[]>;
}
const results = new Map<Workload, Result>();
const peakRss: Record<Tool, number> = { synchro: 0, rsync: 0, cp: 0, floor: 0 };
const notes: string[] = [];

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

const floorScript = join(repo, "scripts", "floor.mjs");

/** `state` is synchro's index, or the floor's (a re-sync's list of changed paths comes in `extra`). */
function command(tool: Tool, src: string, dst: string, state: string, extra: string[]): [string, string[]] {
  switch (tool) {
    case "synchro":
      return [process.execPath, [bin, "sync", src, dst, "--state", state, "--json", ...extra]];
    case "rsync":
      return ["rsync", ["-a", "--delete", src + "/", dst + "/"]];
    case "cp":
      return ["cp", ["-a", src, dst]];
    case "floor":
      return [process.execPath, [floorScript, src, dst, state, ...extra]];
  }
}

async function run(tool: Tool, src: string, dst: string, state: string, w: Workload, extra: string[] = []): Promise<Timed> {
  const [cmd, args] = command(tool, src, dst, state, extra);
  if (w === "copy" || w === "large") readTree(src);
  // Flush what the previous command (or cleanup) left dirty, so no tool pays for another's writeback.
  spawnSync("sync");
  const t = await timed(cmd, args);
  if (t.code !== 0) fail(`${tool} failed (${w}, exit ${t.code}): ${t.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  if (t.rssKiB !== null) peakRss[tool] = Math.max(peakRss[tool], t.rssKiB);
  const r = results.get(w) ?? { times: perTool(), cpu: perTool() };
  r.times[tool].push(t.secs);
  if (t.cpuSecs !== null) r.cpu[tool].push(t.cpuSecs);
  const cpu = t.cpuSecs === null ? "" : `, ${t.cpuSecs.toFixed(2)} s CPU`;
  process.stderr.write(`  ${w} ${tool}: ${t.secs.toFixed(3)} s${cpu}, ${t.rssKiB === null ? "?" : Math.round(t.rssKiB / 1024)} MiB\n`);
  results.set(w, r);
  return t;
}

const readBuf = Buffer.allocUnsafe(4 << 20);

/**
 * Reads every file of a source tree, so that each copy finds it in the page cache. This machine's
 * cache held about 1.8 GB, and a copy run writes two or three more trees: one first copy that ran
 * after a bench spent 7.8 s of its 13.6 s reading the source from the disk.
 */
function readTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) readTree(p);
    else if (e.isFile()) {
      const fd = openSync(p, "r");
      try {
        while (readSync(fd, readBuf, 0, readBuf.length, null) > 0);
      } finally {
        closeSync(fd);
      }
    }
  }
}

/**
 * One untimed `cp -a` before the timed copies. The first copy after the clean-up ran 2-3x slower
 * whichever tool it was (11.0 s for synchro against 4.0 and 5.7 s in its other runs), and the
 * rotation always puts synchro first in the first run.
 */
function warmUpCopy(src: string, near: string): void {
  const dst = `${near}-warm-up`;
  clean(dst);
  leftovers.push(dst);
  process.stderr.write("untimed warm-up copy (cp -a)...\n");
  // Untimed, so its own reads need no warming; run() reads the tree and syncs before each timed copy.
  spawnSync("cp", ["-a", src, dst]);
}

/**
 * Copies take turns going first, and each run copies into fresh directories that are removed
 * only when the bench ends: right after a cleanup of 300k files, the next copy (whichever tool)
 * measured up to 10x slower (rsync 39 s against 3.9-4.6 s, cp 47 s against 3.0 s).
 */
const rotated = (i: number, tools: Tool[]): Tool[] => [...tools.slice(i % tools.length), ...tools.slice(0, i % tools.length)];
/** Where each tool copies to in one run's directories, and the index it keeps. */
const copyTarget = (o: ReturnType<typeof sides>, tool: Tool): [string, string] =>
  tool === "synchro" ? [o.s, o.state] : tool === "rsync" ? [o.r, o.state] : tool === "cp" ? [o.c, o.state] : [o.f, o.fIndex];

const leftovers: string[] = [];

const clean = (...paths: string[]) => {
  for (const p of paths) for (const f of [p, p + "-wal", p + "-shm"]) rmSync(f, { recursive: true, force: true });
};

/** What a run leaves per pair: the synchro replica and index, the rsync, cp and floor replicas, and the floor's list of changed paths and index. */
const sides = (base: string) => ({
  s: join(base, "synchro"), state: join(base, "state", "index.db"), r: join(base, "rsync"), c: join(base, "cp"), f: join(base, "floor"),
  list: join(base, "state", "changed.txt"), fIndex: join(base, "state", "floor-index.db"),
});

/** Copies an index that synchro closed (and its WAL, should one be left). */
function copyIndex(from: string, to: string): void {
  clean(to);
  for (const side of ["", "-wal"]) if (existsSync(from + side)) copyFileSync(from + side, to + side);
}

/**
 * An index that synchro made for one pair and no rows, from a sync of an empty folder: each run
 * of the floor's first copy writes into a copy of it, so its tables are synchro's own.
 */
async function emptyIndex(near: string): Promise<string> {
  const base = `${near}-empty-index`;
  clean(base);
  leftovers.push(base);
  mkdirSync(join(base, "src"), { recursive: true });
  const state = join(base, "index.db");
  const t = await timed(process.execPath, [bin, "sync", join(base, "src"), join(base, "dst"), "--state", state, "--quiet"]);
  if (t.code !== 0) fail(`could not make an empty index for the floor: ${t.stderr.trim()}`);
  return state;
}

/** Empty directories for one copy run, beside `near`; removed when the bench ends. */
function freshSides(near: string, run: number): ReturnType<typeof sides> {
  const base = `${near}-run${run}`;
  clean(base);
  leftovers.push(base);
  const o = sides(base);
  mkdirSync(join(o.state, ".."), { recursive: true });
  return o;
}

function checkMirror(src: string, dst: string, what: string): void {
  const diff = mirrorDiff(src, dst);
  if (diff) fail(`synchro's replica differs from the source after ${what}:\n${diff.split("\n").slice(0, 10).join("\n")}`);
}

async function smallFiles(): Promise<void> {
  const base = join(root, `small-${files}`);
  process.stderr.write(`generating ${files} small files under ${base} (reused when present)...\n`);
  const src = makeSmallTree(base, files);
  let out = sides(join(root, `out-small-${files}`));
  mkdirSync(join(out.state, ".."), { recursive: true });
  if (wanted("copy")) {
    clean(out.s, out.state, out.r, out.c);
    warmUpCopy(src, out.s);
    const floorIndex = await emptyIndex(out.s);
    for (let i = 0; i < runs; i++) {
      const o = freshSides(out.s, i);
      copyIndex(floorIndex, o.fIndex);
      process.stderr.write(`copy run ${i + 1}/${runs}\n`);
      for (const tool of rotated(i, SMALL_COPIERS)) await run(tool, src, ...copyTarget(o, tool), "copy");
      // The last copies go on to the re-sync workloads, at the same paths: the index knows a pair by its paths.
      if (i === runs - 1) {
        checkMirror(src, o.s, "the initial copy");
        checkMirror(src, o.f, "the floor's initial copy");
        out = o;
      }
    }
  } else if (wanted("noop") || wanted("change")) {
    clean(out.s, out.state, out.r, out.f);
    await timed(process.execPath, [bin, "sync", src, out.s, "--state", out.state, "--quiet"]);
    spawnSync("rsync", ["-a", "--delete", src + "/", out.r + "/"]);
  }
  if (existsSync(out.state)) {
    const bytes = statSync(out.state).size + (existsSync(out.state + "-wal") ? statSync(out.state + "-wal").size : 0);
    notes.push(`index: ${(bytes / 1e6).toFixed(1)} MB after the initial copy of ${files} files = ${Math.round(bytes / files)} bytes per file (target ≤ 300)`);
  }
  if (wanted("noop") || wanted("change")) {
    // The floor's first copy, if it made one, is its replica; synchro's index describes the same
    // source, so a copy of it serves as the floor's.
    if (!existsSync(out.f)) spawnSync("cp", ["-a", src, out.f]);
    copyIndex(out.state, out.fIndex);
    writeFileSync(out.list, "");
  }
  if (wanted("noop")) {
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`no-op run ${i + 1}/${runs}\n`);
      await run("synchro", src, out.s, out.state, "noop");
      await run("rsync", src, out.r, out.state, "noop");
      await run("floor", src, out.f, out.fIndex, "noop", [out.list]);
    }
  }
  if (wanted("change")) {
    const paths = smallTreePaths(files);
    const step = 100;
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`1% change run ${i + 1}/${runs}\n`);
      const next = random(1000 + i);
      const changed: string[] = [];
      for (let k = (i * 37) % step; k < paths.length; k += step) {
        writeFileSync(join(src, paths[k]!), content(next, 512 + Math.floor(next() * 3584)));
        changed.push(paths[k]!);
      }
      writeFileSync(out.list, changed.join("\n"));
      await run("synchro", src, out.s, out.state, "change");
      await run("rsync", src, out.r, out.state, "change");
      await run("floor", src, out.f, out.fIndex, "change", [out.list]);
    }
    checkMirror(src, out.s, "the 1% change");
    // The floor is only a floor if it did the whole job.
    checkMirror(src, out.f, "the floor's 1% change");
  }
}

async function largeFiles(): Promise<void> {
  const base = join(root, `large-${LARGE.count}x${LARGE.mib}`);
  process.stderr.write(`generating ${LARGE.count} × ${LARGE.mib} MiB under ${base} (reused when present)...\n`);
  const src = makeLargeTree(base, LARGE.count, LARGE.mib);
  const out = sides(join(root, "out-large"));
  mkdirSync(join(out.state, ".."), { recursive: true });
  clean(out.s, out.state, out.r, out.c);
  for (let i = 0; i < runs; i++) {
    const o = freshSides(out.s, i);
    process.stderr.write(`large run ${i + 1}/${runs}\n`);
    for (const tool of rotated(i, LARGE_COPIERS)) await run(tool, src, ...copyTarget(o, tool), "large");
    if (i === runs - 1) checkMirror(src, o.s, "the large copy");
  }
}

async function renamedDir(): Promise<void> {
  const base = join(root, `rename-${RENAME_FILES}`);
  const src = makeRenameTree(base, RENAME_FILES);
  const out = sides(join(root, "out-rename"));
  clean(out.s, out.state, out.r);
  mkdirSync(join(out.state, ".."), { recursive: true });
  await timed(process.execPath, [bin, "sync", src, out.s, "--state", out.state, "--quiet"]);
  spawnSync("rsync", ["-a", "--delete", src + "/", out.r + "/"]);
  let renamed = 0;
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`rename run ${i + 1}/${runs}\n`);
    const from = readdirSync(src)[0]!;
    const to = from === "a" ? "b" : "a";
    renameSync(join(src, from), join(src, to));
    // --force: should detection fail, the copy-and-delete fallback must not be refused by the delete limit.
    const t = await run("synchro", src, out.s, out.state, "rename", ["--force"]);
    renamed += Number(JSON.parse(t.stdout).counts.rename);
    await run("rsync", src, out.r, out.state, "rename");
  }
  notes.push(`rename: synchro reported ${renamed} rename op(s) over ${runs} run(s) (1 per run means the directory moved in one rename)`);
  checkMirror(src, out.s, "the rename");
}

const fmt = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(3));
/** GNU time reads CPU time to 10 ms. */
const fmtCpu = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(2));

const medians = (runs: Record<Tool, number[]>) => TOOLS.map((t) => (runs[t].length ? median(runs[t]) : undefined));
/** synchro's median over another tool's, to two places, or "-" where either is missing. */
const ratioText = (s: number | undefined, d: number | undefined) => (s !== undefined && d ? (s / d).toFixed(2) : "-");

function table(): string {
  const rows = [["workload", "synchro s", "rsync s", "cp s", "floor s", "synchro/rsync", "synchro/cp", "floor/rsync", "target", "result"]];
  for (const w of WORKLOADS) {
    const r = results.get(w);
    if (!r) continue;
    const [s, rs, c, f] = medians(r.times);
    const ratio = s !== undefined && rs ? s / rs : undefined;
    const target = TARGETS[w];
    const pass = target === undefined ? "-" : ratio !== undefined && ratio <= target ? "PASS" : "MISS";
    rows.push([LABELS[w], fmt(s), fmt(rs), fmt(c), fmt(f), ratioText(s, rs), ratioText(s, c), ratioText(f, rs), target === undefined ? "-" : `≤ ${target.toFixed(1)}`, pass]);
  }
  return render(rows);
}

/**
 * The same runs' CPU time, user and system over every thread: on two cores the wall time hides
 * how much of both a tool used, and this machine's slow episodes in the kernel show as system
 * time of whichever tool ran then. Null without GNU time.
 */
function cpuTable(): string | null {
  const rows = [["workload", "synchro CPU s", "rsync CPU s", "cp CPU s", "floor CPU s", "synchro/rsync", "synchro/cp", "floor/rsync"]];
  for (const w of WORKLOADS) {
    const r = results.get(w);
    if (!r || r.cpu.synchro.length === 0) continue;
    const [s, rs, c, f] = medians(r.cpu);
    rows.push([LABELS[w], fmtCpu(s), fmtCpu(rs), fmtCpu(c), fmtCpu(f), ratioText(s, rs), ratioText(s, c), ratioText(f, rs)]);
  }
  return rows.length > 1 ? render(rows) : null;
}

function render(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(rows[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}

async function main(): Promise<void> {
  if (!Number.isInteger(files) || files < 1 || !Number.isInteger(runs) || runs < 1) fail("--files and --runs take positive integers");
  if (only) for (const w of only) if (![...WORKLOADS, "watch"].includes(w)) fail(`unknown workload '${w}' (one of ${WORKLOADS.join(", ")}, watch)`);
  process.stderr.write("building the bundle...\n");
  if (spawnSync("npm", ["run", "build"], { cwd: repo, stdio: "inherit" }).status !== 0) fail("npm run build failed");
  if (opts.watch || only?.includes("watch")) {
    watchBench();
    return;
  }
  mkdirSync(root, { recursive: true });
  if (wanted("copy") || wanted("noop") || wanted("change")) await smallFiles();
  if (wanted("large")) await largeFiles();
  if (wanted("rename")) await renamedDir();
  if (results.size > 0) {
    const cpus = spawnSync("nproc", { encoding: "utf8" }).stdout.trim();
    console.log(`\nsynchro bench: medians of ${runs} run(s), side by side, warm page cache (caches cannot be dropped here; sync before each command); ${cpus} cores; absolute times are noisy, ratios less so.`);
    console.log(table());
    const cpu = cpuTable();
    if (cpu) console.log(`CPU time (user + system, every thread and child), medians of the same runs:\n${cpu}`);
    const mib = (k: number) => (k / 1024).toFixed(0);
    console.log(`peak RSS (${rssMethod}) over these workloads: synchro ${mib(peakRss.synchro)} MiB, rsync ${mib(peakRss.rsync)} MiB, cp ${mib(peakRss.cp)} MiB (target synchro ≤ 150 MB at 100k files, ≤ 400 MB at 1M)`);
    for (const n of notes) console.log(n);
  }
  process.stderr.write("removing the copies...\n");
  clean(...leftovers);
}

/** The watch bench lives in its own script; --watch runs it with the arguments this script does not take. */
function watchBench(): void {
  const script = join(repo, "scripts", "bench-watch.ts");
  if (!existsSync(script)) fail("--watch: scripts/bench-watch.ts does not exist");
  const ours = new Set(["--runs", "--only", "--dir"]);
  const argv = process.argv.slice(2);
  const rest = argv.filter((a, i) => a !== "--watch" && !ours.has(a) && !ours.has(argv[i - 1] ?? "") && !/^--(runs|only|dir)=/.test(a));
  const r = spawnSync(process.execPath, ["--import", "tsx", script, ...rest], { cwd: repo, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

await main();
