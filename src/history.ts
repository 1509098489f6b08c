import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import picomatch from "picomatch";
import { defaultStatePath } from "./config.ts";
import { SynchroError } from "./errors.ts";
import { openForReading, runInfo, type RunInfo } from "./status.ts";
import type { OpAction, OpCursor, OpFilter, OpRow, PageHow } from "./store/ops.ts";
import type { Pair, Store } from "./store/store.ts";

export interface HistoryOptions {
  source?: string;
  replica?: string;
  state?: string;
  /** An ISO date or time, a duration ago (30m, 2h, 7d), or a Date / epoch milliseconds. */
  since?: string | number | Date;
  until?: string | number | Date;
  /** One action or several, as an array or comma-separated. */
  action?: string | string[];
  /** A picomatch glob on the path relative to the pair root. */
  path?: string;
  run?: number | string;
  /** Newest first, this many (default 50). */
  limit?: number | string;
  now?: () => number;
}

export interface HistoryOp {
  time: string;
  run: number;
  action: OpAction;
  path: string;
  size: number | null;
  /** A rename's old path; a backup's new home. */
  from?: string;
  error?: string;
  /** Only when no pair was given. */
  source?: string;
  replica?: string;
}

export type HistoryRun = RunInfo & { source?: string; replica?: string };

const ACTIONS: readonly OpAction[] = ["create", "update", "delete", "mkdir", "rmdir", "symlink", "meta", "rename", "backup", "error"];
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseWhen(flag: string, value: string | number | Date, now: number): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value;
  const text = value.trim();
  const rel = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text);
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]!]!;
  const at = ISO_DATE.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at)) {
    throw new SynchroError("BAD_OPTION", `${flag} must be an ISO date (2026-11-24, 2026-11-24T10:00Z) or a time ago (30m, 2h, 7d); got '${text}'`);
  }
  return at;
}

function parseCount(flag: string, value: number | string): number {
  const n = typeof value === "number" ? value : /^\d+$/.test(String(value).trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1) throw new SynchroError("BAD_OPTION", `${flag} must be a whole number of at least 1; got '${value}'`);
  return n;
}

export function parseActions(value: string | string[]): OpAction[] {
  const list = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(",")).map((a) => a.trim()).filter(Boolean);
  const bad = list.filter((a) => !ACTIONS.includes(a as OpAction));
  if (bad.length || list.length === 0) {
    throw new SynchroError("BAD_OPTION", `--action takes ${ACTIONS.join(", ")} (comma-separated); got '${bad.join(",") || value}'`);
  }
  return [...new Set(list)] as OpAction[];
}

const GLOB_CHARS = "*?+@!|\\[]{}()";

/** A glob's plain text: the runs outside any [...], {...} or (...) group, split at wildcards. */
function literalRuns(glob: string): string[] {
  const runs = [""];
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "\\") i++;
    if (c === "[" || c === "{" || c === "(") depth++;
    if ((c === "]" || c === "}" || c === ")") && depth > 0) depth--;
    if (GLOB_CHARS.includes(c) || depth > 0) runs.push("");
    else runs[runs.length - 1] += c;
  }
  return runs;
}

export interface GlobHints {
  /** Every match starts with the glob's literal head, so it lies in [from, to). */
  range?: { from: string; to: string };
  /** A piece of plain text every match contains: checked in SQL, before picomatch sees the row. */
  needle?: string;
}

/**
 * What SQL can check for a glob before picomatch does: its literal head as a range, and its
 * longest plain piece as a substring. Both are supersets of the glob's matches. A trailing '/'
 * leaves the head ('docs/**' matches 'docs' itself); picomatch drops a leading './'.
 */
export function globHints(glob: string): GlobHints {
  const text = glob.replace(/^(\.\/)+/, "");
  if (text.startsWith("!")) return {};
  const runs = literalRuns(text);
  const hints: GlobHints = {};
  let head = runs[0]!;
  if (head.endsWith("/")) head = head.slice(0, -1);
  const last = head.codePointAt(head.length - 1) ?? 0;
  if (head !== "" && last < 0xd7ff) hints.range = { from: head, to: head.slice(0, -1) + String.fromCodePoint(last + 1) };
  const pieces = runs.flatMap((r) => r.split("/")).sort((a, b) => b.length - a.length);
  if (pieces[0]) hints.needle = pieces[0];
  return hints;
}

export function compileGlob(glob: string): (path: string) => boolean {
  try {
    return picomatch(glob, { dot: true, strictBrackets: true });
  } catch (err) {
    throw new SynchroError("BAD_GLOB", `invalid --path glob '${glob}': ${(err as Error).message}`);
  }
}

/** The pair as the index knows it: paths resolved the way sync resolves them, real paths where they still exist. */
function findPair(store: Store, state: string, source: string, replica: string): Pair {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  const pair = store.pair(real(source), real(replica), false) ?? store.pair(resolve(source), resolve(replica), false);
  if (!pair) throw new SynchroError("UNKNOWN_PAIR", `the index ${state} has no record of ${resolve(source)} -> ${resolve(replica)}`);
  return pair;
}

interface Opened {
  store: Store;
  pair: Pair | null;
  pairs: Map<number, Pair>;
}

async function openIndex(options: HistoryOptions, now: () => number): Promise<Opened | null> {
  if ((options.source === undefined) !== (options.replica === undefined)) {
    throw new SynchroError("USAGE", "history takes both <source> and <replica>, or neither");
  }
  const state = resolve(options.state ?? defaultStatePath());
  if (!existsSync(state)) {
    if (options.source !== undefined) throw new SynchroError("UNKNOWN_PAIR", `no index at ${state}: nothing was synced with it yet`);
    return null;
  }
  const store = await openForReading(state, now);
  try {
    const pair = options.source !== undefined ? findPair(store, state, options.source, options.replica!) : null;
    return { store, pair, pairs: new Map(store.pairs().map((p) => [p.id, p])) };
  } catch (err) {
    store.close();
    throw err;
  }
}

/** Pages of a scan each read the whole table, so they come as large as the first ones grow to. */
const MAX_PAGE = 16_384;
/**
 * How many of the newest ops in range are read through the time index, stage after stage, before
 * the rest is scanned. An op reached through the index costs a lookup of its row, 250-300 ns here,
 * where a scan of 1M ops takes 65-90 ms with the sort of what matches. The first stage answers
 * most queries at once; the second bounds the index walk to about 30 ms before the scan.
 */
export const INDEX_STAGES = [5_000, 100_000];

/**
 * Up to `limit` ops, newest first. SQL tests time, action, run, pair and the glob's literal head
 * and longest plain piece; the glob itself is tested here, so pages grow until enough ops pass it
 * or none are left. A run's ops come through its own index; otherwise the newest ops in range come
 * through the time index, a stage at a time, and the rest from a scan.
 */
export function selectOps(store: Store, filter: OpFilter, match: ((path: string) => boolean) | null, limit: number, stages = INDEX_STAGES): OpRow[] {
  const out: OpRow[] = [];
  let stage = 0;
  let how: PageHow = {};
  if (filter.run === undefined) {
    const floor = store.ops.edge(filter, null, stages[0]!);
    if (floor) how = { floor };
  }
  let cursor: OpCursor | null = null;
  // The first page asks for no more than needed: SQL reads on until it has that many rows.
  for (let size = limit; out.length < limit; size = Math.min(size * 4, MAX_PAGE)) {
    const rows = store.ops.page(filter, cursor, size, how);
    for (const r of rows) {
      if (match && !match(r.path)) continue;
      out.push(r);
      if (out.length === limit) break;
    }
    if (rows.length === size) {
      const last = rows[rows.length - 1]!;
      cursor = { time: last.time, id: last.id };
    } else if (how.floor) {
      // This stage is read down to its floor; the rest lies past it.
      cursor = how.floor;
      const next = stages[++stage];
      if (next === undefined) {
        how = { scan: true };
        size = MAX_PAGE;
      } else {
        const floor = store.ops.edge(filter, cursor, next);
        how = floor ? { floor } : {};
      }
    } else break;
  }
  return out;
}

/**
 * What happened, newest first: operations (or with `runs: true`, the runs), filtered by time,
 * action, path glob and run. Resolves to the same objects `history --json` prints.
 */
export async function history(options: HistoryOptions & { runs: true }): Promise<HistoryRun[]>;
export async function history(options?: HistoryOptions & { runs?: false }): Promise<HistoryOp[]>;
export async function history(options: HistoryOptions & { runs?: boolean } = {}): Promise<HistoryOp[] | HistoryRun[]> {
  const now = options.now ?? Date.now;
  const at = now();
  const filter: OpFilter = {};
  if (options.since !== undefined) filter.since = parseWhen("--since", options.since, at);
  if (options.until !== undefined) filter.until = parseWhen("--until", options.until, at);
  if (options.run !== undefined) filter.run = parseCount("--run", options.run);
  const limit = options.limit === undefined ? 50 : parseCount("--limit", options.limit);
  if (options.action !== undefined) filter.actions = parseActions(options.action);
  const match = options.path === undefined ? null : compileGlob(options.path);
  if (options.runs && (filter.actions || match)) throw new SynchroError("BAD_OPTION", "--action and --path filter operations; they do not apply to --runs");
  if (options.path !== undefined) {
    const hints = globHints(options.path);
    filter.pathRange = hints.range;
    filter.pathNeedle = hints.needle;
  }

  const opened = await openIndex(options, now);
  if (!opened) return [];
  const { store, pair, pairs } = opened;
  try {
    if (pair) filter.pair = pair.id;
    const where = (id: number) => (pair ? {} : { source: pairs.get(id)?.source, replica: pairs.get(id)?.replica });
    if (options.runs) {
      return store.runs.list({ ...filter, limit }).map((r) => ({ ...runInfo(r), ...where(r.pair) }));
    }
    return selectOps(store, filter, match, limit).map((r) => ({
      time: new Date(r.time).toISOString(), run: r.run, action: r.action, path: r.path, size: r.size,
      ...(r.from ? { from: r.from } : {}), ...(r.error ? { error: r.error } : {}), ...where(r.pair),
    }));
  } finally {
    store.close();
  }
}
