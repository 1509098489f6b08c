// Watch-mode figures for issue 5: change latency (single files, a file in a fresh nested
// directory, a renamed directory), idle CPU, and RSS over a churn run. Runs the built bundle
// as a real process: `npm run build && npx tsx scripts/bench-watch.ts [--churn-seconds 300] [--deno]`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const { values: opts } = parseArgs({
  options: {
    files: { type: "string", default: "10000" },
    changes: { type: "string", default: "60" },
    "churn-seconds": { type: "string", default: "60" },
    "churn-rate": { type: "string", default: "33" },
    deno: { type: "boolean", default: false },
  },
});
const FILES = Number(opts.files);
const CHANGES = Number(opts.changes);
const CHURN_S = Number(opts["churn-seconds"]);
const CHURN_RATE = Number(opts["churn-rate"]);
const DIRS = 100;
const CLK_TCK = 100;

const repo = fileURLToPath(new URL("..", import.meta.url));
const bundle = join(repo, "dist", "synchro.mjs");
/** What `synchro` runs on Node: the CommonJS bundle from its code cache. */
const bin = join(repo, "bin", "synchro.cjs");
const root = mkdtempSync(join(tmpdir(), "synchro-bench-watch-"));
const src = join(root, "src");
const dst = join(root, "dst");
const state = join(root, "state", "index.db");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fileOf = (i: number) => join(src, `d${i % DIRS}`, `f${i}.txt`);

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Polls every 2 ms: fine-grained enough for latencies in the tens of milliseconds. */
async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<number> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(2);
  }
  return performance.now() - start;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `n=${s.length} median ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, max ${s[s.length - 1]!.toFixed(0)} ms`;
}

function procStat(pid: number): { ticks: number; rssKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { ticks, rssKiB: Number(rss?.[1] ?? 0) };
}

function makeTree(): void {
  for (let d = 0; d < DIRS; d++) mkdirSync(join(src, `d${d}`), { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(fileOf(i), `initial ${i} `.repeat(20 + (i % 200)));
}

async function main(): Promise<void> {
  makeTree();
  const denoBin = join(repo, "node_modules", "deno", "deno");
  // The V8 flag the README and `deno task synchro` use: the bench measures the documented command.
  const [cmd, args] = opts.deno ? [denoBin, ["run", "--v8-flags=--max-semi-space-size=4", "-A", bundle]] : [process.execPath, [bin]];
  const child = spawn(cmd, [...args, "watch", src, dst, "--state", state, "--quiet"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const pid = child.pid!;
  console.log(`watch on ${opts.deno ? "Deno" : "Node"} over ${FILES} files in ${DIRS} dirs (${root})`);

  const initial = await until(() => read(fileOf(FILES - 1)) !== null && read(join(dst, `d${(FILES - 1) % DIRS}`, `f${FILES - 1}.txt`)) !== null, "initial sync", 300_000);
  await until(() => spawnSync("rsync", ["-rlptn", "--delete", "-i", `${src}/`, `${dst}/`], { encoding: "utf8" }).stdout.trim() === "", "initial mirror", 300_000);
  console.log(`initial sync visible after ~${(initial / 1000).toFixed(1)} s`);

  const single: number[] = [];
  for (let n = 0; n < CHANGES; n++) {
    const i = (n * 7919) % FILES;
    const content = `change ${n} at ${Date.now()}\n`;
    writeFileSync(fileOf(i), content);
    const target = join(dst, `d${i % DIRS}`, `f${i}.txt`);
    single.push(await until(() => read(target) === content, `change ${n}`));
    await sleep(20);
  }
  console.log(`single-file change latency: ${stats(single)}`);

  const nested: number[] = [];
  for (let n = 0; n < 20; n++) {
    const dir = join(src, `fresh${n}`, "a", "b", "c");
    const start = performance.now();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "f.txt"), `nested ${n}`);
    await until(() => read(join(dst, `fresh${n}`, "a", "b", "c", "f.txt")) === `nested ${n}`, `nested ${n}`);
    nested.push(performance.now() - start);
    await sleep(20);
  }
  console.log(`file in a fresh mkdir -p a/b/c: ${stats(nested)}`);

  const renamed: number[] = [];
  for (let n = 0; n < 20; n++) {
    const from = `d${n}`;
    const to = `d${n}-renamed`;
    const probe = `f${n}.txt`;
    const start = performance.now();
    renameSync(join(src, from), join(src, to));
    await until(() => existsSync(join(dst, to, probe)) && !existsSync(join(dst, from)), `rename ${n}`);
    renamed.push(performance.now() - start);
    await sleep(20);
  }
  console.log(`renamed directory (100 files): ${stats(renamed)}`);

  await sleep(1000);
  const idle0 = procStat(pid);
  await sleep(10_000);
  const idle1 = procStat(pid);
  console.log(`idle CPU over 10 s: ${(((idle1.ticks - idle0.ticks) / CLK_TCK / 10) * 100).toFixed(2)} % of one core`);

  const rss0 = procStat(pid).rssKiB;
  let peak = rss0;
  let changes = 0;
  const churnStart = Date.now();
  const churnEnd = churnStart + CHURN_S * 1000;
  // Sampled every 30 s: a one-time warm-up (JIT code, V8's young generation growing to its cap)
  // reads differently from a leak, which keeps climbing.
  const samples: number[] = [];
  const extra: string[] = [];
  while (Date.now() < churnEnd) {
    const tickEnd = Date.now() + 1000;
    for (let k = 0; k < CHURN_RATE; k++, changes++) {
      const roll = changes % 10;
      // Directories d0..d19 were renamed above; churn the rest.
      const i = (changes * 104729) % FILES;
      if (roll < 7) writeFileSync(fileOf(i % DIRS < 20 ? i + 20 : i), `churn ${changes}`.repeat(1 + (changes % 50)));
      else if (roll < 9 || extra.length === 0) {
        const p = join(src, `d${DIRS - 1 - (changes % 50)}`, `churn-${changes}.txt`);
        writeFileSync(p, `new ${changes}`);
        extra.push(p);
      } else unlinkSync(extra.shift()!);
    }
    const rss = procStat(pid).rssKiB;
    peak = Math.max(peak, rss);
    if (Date.now() - churnStart >= (samples.length + 1) * 30_000) samples.push(rss);
    await sleep(Math.max(0, tickEnd - Date.now()));
  }
  await until(() => spawnSync("rsync", ["-rlptn", "--checksum", "--delete", "-i", `${src}/`, `${dst}/`], { encoding: "utf8" }).stdout.trim() === "", "convergence after churn", 120_000);
  const rss1 = procStat(pid).rssKiB;
  console.log(
    `churn: ${changes} changes over ${CHURN_S} s; RSS ${(rss0 / 1024).toFixed(1)} → ${(rss1 / 1024).toFixed(1)} MiB ` +
      `(${(((rss1 - rss0) / rss0) * 100).toFixed(1)} %), peak ${(peak / 1024).toFixed(1)} MiB; replica converged`,
  );
  const mib = (k: number) => (k / 1024).toFixed(1);
  console.log(`RSS every 30 s: ${samples.map(mib).join(", ")} MiB`);
  if (samples.length >= 3) {
    const warm = samples[1]!;
    console.log(`RSS after the first minute: ${mib(warm)} → ${mib(rss1)} MiB (${(((rss1 - warm) / warm) * 100).toFixed(1)} %)`);
  }

  process.kill(pid, "SIGINT");
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  console.log(`stopped with exit ${code}${/ERROR/.test(err) ? `; errors logged:\n${err}` : ""}`);
  rmSync(root, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
