// Fills an index with N recorded operations (default 1,000,000) and times filtered history
// queries on it, printing EXPLAIN QUERY PLAN for each. Run: npx tsx scripts/bench-history.ts [N]
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../src/store/store.ts";
import type { OpAction, OpFilter } from "../src/store/ops.ts";
import { compileGlob, globHints, history, INDEX_STAGES, parseActions, selectOps } from "../src/history.ts";

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const DAY = 86_400_000;
const NOW = Date.parse("2026-11-25T00:00:00Z");
const SMALL_PAIR_SHARE = 0.01;

/** Realistic mix: mostly copies, some deletes, rare errors. */
const MIX: [OpAction, number][] = [
  ["create", 0.4], ["update", 0.33], ["delete", 0.1], ["mkdir", 0.05], ["meta", 0.05], ["rename", 0.03],
  ["symlink", 0.02], ["rmdir", 0.0195], ["error", 0.0005],
];
const EXTS = ["jpg", "txt", "md", "ts", "pdf"];

function pickAction(x: number): OpAction {
  for (const [a, p] of MIX) if ((x -= p) < 0) return a;
  return "create";
}

/** mulberry32: a small deterministic PRNG, so every run of the bench measures the same index. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function fill(store: Store): void {
  const rand = rng(42);
  const big = store.pair("/data/photos", "/backup/photos", true)!.id;
  const small = store.pair("/home/me/notes", "/backup/notes", true)!.id;
  const perRun = Math.ceil(TOTAL / 4_320); // hourly runs over 180 days, the last one an hour ago
  const runs = Math.ceil(TOTAL / perRun);
  let written = 0;
  for (let i = 0; i < runs; i++) {
    const pair = rand() < SMALL_PAIR_SHARE ? small : big;
    const start = NOW - (runs - i) * 3_600_000;
    const run = store.runs.start(pair, i % 10 === 0 ? "sync" : "interval", start);
    const n = Math.min(perRun, TOTAL - written);
    store.write(() => {
      for (let k = 0; k < n; k++) {
        const action = pickAction(rand());
        const d = Math.floor(rand() * 1000);
        const path = `d${d}/s${Math.floor(rand() * 20)}/f${Math.floor(rand() * 5000)}.${EXTS[Math.floor(rand() * EXTS.length)]}`;
        store.ops.add({
          run, time: start + k * 5, action, path, size: action === "create" || action === "update" ? Math.floor(rand() * 1e6) : null,
          from: action === "rename" ? `old/${path}` : null, error: action === "error" ? "writing replica: EACCES" : null,
        });
      }
    });
    store.runs.finish(run, start + n * 5, "ok", { create: n }, n * 1000, 0);
    written += n;
  }
  store.commit();
}

interface Case {
  name: string;
  since?: string;
  until?: string;
  action?: string;
  path?: string;
  run?: number;
  pair?: boolean;
}

const CASES: Case[] = [
  { name: "no filter (newest 50)" },
  { name: "--since 2h" },
  { name: "--since 7d --until 6d" },
  { name: "--until 170d (old ops)", until: "170d" },
  { name: "--action error (rare)", action: "error" },
  { name: "--action create,update", action: "create,update" },
  { name: "--action delete,rename,error", action: "delete,rename,error" },
  { name: "--run <an old run>", run: 200 },
  { name: "--path 'd123/**' (narrow prefix range)", path: "d123/**" },
  { name: "--path 'd1*/**' (wide prefix range, 11%)", path: "d1*/**" },
  { name: "--path 'd123/s7/f42.*' (rare file)", path: "d123/s7/f42.*" },
  { name: "--path '**/*.pdf' (no literal head)", path: "**/*.pdf" },
  { name: "--path '**/f4242.*' (rare, no head)", path: "**/f4242.*" },
  { name: "--path '**/nothing-*.zip' (no match, no head)", path: "**/nothing-*.zip" },
  { name: "pair: small pair only", pair: true },
  { name: "pair + --action delete + --since 30d", pair: true, action: "delete", since: "30d" },
  { name: "--path 'd5/**' --action error --since 90d", path: "d5/**", action: "error", since: "90d" },
  { name: "--run + --path + --action", run: 4000, path: "d1*/**", action: "create,update" },
];
for (const c of CASES) {
  if (c.name === "--since 2h") c.since = "2h";
  if (c.name.startsWith("--since 7d")) (c.since = "7d"), (c.until = "6d");
}

function filterOf(c: Case, smallPair: number): { filter: OpFilter; match: ((p: string) => boolean) | null } {
  const at = (v: string) => NOW - Number(v.slice(0, -1)) * { h: 3_600_000, d: DAY }[v.slice(-1) as "h" | "d"];
  const filter: OpFilter = {};
  if (c.since) filter.since = at(c.since);
  if (c.until) filter.until = at(c.until);
  if (c.action) filter.actions = parseActions(c.action);
  if (c.run) filter.run = c.run;
  if (c.pair) filter.pair = smallPair;
  if (c.path) {
    const hints = globHints(c.path);
    filter.pathRange = hints.range;
    filter.pathNeedle = hints.needle;
  }
  return { filter, match: c.path ? compileGlob(c.path) : null };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measure(file: string): Promise<void> {
  const store = await openStore(file, { now: () => NOW });
  const smallPair = store.pair("/home/me/notes", "/backup/notes", false)!.id;
  console.log("");
  console.log("| filters | rows | median ms | max ms |\n|---|---|---|---|");
  const plans: string[] = [];
  for (const c of CASES) {
    const { filter, match } = filterOf(c, smallPair);
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      rows = selectOps(store, filter, match, 50).length;
      times.push(performance.now() - t0);
    }
    console.log(`| ${c.name} | ${rows} | ${median(times).toFixed(2)} | ${Math.max(...times).toFixed(2)} |`);
    const lines = store.ops.explain(filter, 50, INDEX_STAGES[0]!).map((d) => `    ${d}`);
    plans.push(`  ${c.name}\n${[...new Set(lines)].join("\n")}`);
  }
  console.log(`\nquery plans:\n${plans.join("\n")}`);
  store.close();
}

const dir = mkdtempSync(join(tmpdir(), "synchro-bench-history-"));
const file = join(dir, "index.db");
try {
  const store = await openStore(file, { now: () => NOW });
  const t0 = performance.now();
  fill(store);
  store.close();
  console.log(`filled ${TOTAL.toLocaleString("en")} ops in ${((performance.now() - t0) / 1000).toFixed(1)} s; index file ${(statSync(file).size / 1e6).toFixed(0)} MB`);
  const end: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await history({ state: file, action: "error", path: "d5/**", now: () => NOW });
    end.push(performance.now() - t);
  }
  console.log(`end to end history() (open the index, query, close): median ${median(end).toFixed(1)} ms`);
  await measure(file);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
