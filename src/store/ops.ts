import type { Database, SqlValue } from "./db.ts";

export type OpAction = "create" | "update" | "delete" | "mkdir" | "rmdir" | "symlink" | "meta" | "rename" | "backup" | "error";

export interface OpRecord {
  run: number;
  time: number;
  action: OpAction;
  path: string;
  size: number | null;
  from?: string | null;
  error?: string | null;
}

export interface OpFilter {
  pair?: number;
  since?: number;
  until?: number;
  actions?: OpAction[];
  run?: number;
  /** Paths in [from, to): the literal head of a --path glob, so the glob itself tests only what this range lets through. */
  pathRange?: { from: string; to: string };
  /** Paths containing this text: a plain piece of a --path glob with no literal head. */
  pathNeedle?: string;
}

/** Where the previous page ended: the next page holds strictly older ops (time, then id, descending). */
export interface OpCursor {
  time: number;
  id: number;
}

export interface OpRow extends OpRecord {
  id: number;
  pair: number;
}

/** How a filter's pages reach their rows; decided once per query by `access()`, from counts in the index. */
export interface OpAccess {
  /** The --path range holds so many ops that it is tested row by row in time order, not read whole and sorted. */
  wideRange: boolean;
  /** Every op whose path contains the needle, when they are few: fetched by id and sorted. */
  ids: number[] | null;
}

export interface OpQueries {
  add(op: OpRecord): void;
  access(filter: OpFilter): OpAccess;
  /** One page, newest first. */
  page(filter: OpFilter, access: OpAccess, after: OpCursor | null, limit: number): OpRow[];
  /** EXPLAIN QUERY PLAN of a first page, for scripts/bench-history.ts. */
  explain(filter: OpFilter, limit: number): string[];
  prune(before: number): number;
}

const COLUMNS = "ops.id, ops.run, ops.time, ops.action, ops.path, ops.size, ops.from_path, ops.error";

/**
 * The SQL of one page: one statement per action when several are asked for. Each then walks
 * the (action, time) index in order and stops at the limit, where `action IN (…)` would have
 * to sort every matching op first; the caller merges them.
 */
function pageQueries(filter: OpFilter, access: OpAccess, after: OpCursor | null, limit: number): { sql: string; params: SqlValue[] }[] {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const add = (cond: string, ...values: SqlValue[]) => {
    where.push(cond);
    params.push(...values);
  };
  if (filter.pair !== undefined) add("runs.pair = ?", filter.pair);
  if (filter.run !== undefined) add("ops.run = ?", filter.run);
  if (filter.since !== undefined) add("ops.time >= ?", filter.since);
  if (filter.until !== undefined) add("ops.time <= ?", filter.until);
  if (after) add("ops.time <= ? AND (ops.time < ? OR ops.id < ?)", after.time, after.time, after.id);
  // '+' keeps SQLite off ops_path for a wide range: testing rows in time order beats sorting them all.
  const path = access.wideRange ? "+ops.path" : "ops.path";
  if (filter.pathRange) add(`${path} >= ? AND ${path} < ?`, filter.pathRange.from, filter.pathRange.to);
  if (access.ids) add("ops.id IN (SELECT value FROM json_each(?))", JSON.stringify(access.ids));
  else if (filter.pathNeedle) add("instr(ops.path, ?) > 0", filter.pathNeedle);
  const arms = filter.actions?.length ? filter.actions : [null];
  return arms.map((action) => {
    const conds = action === null ? where : [...where, "ops.action = ?"];
    return {
      // CROSS JOIN keeps ops as the outer loop, so the time order comes from an ops index, never a
      // sort. Without a pair there is no join at all: it cost 75% more on a full scan.
      sql:
        `SELECT ${COLUMNS} FROM ops${filter.pair === undefined ? "" : " CROSS JOIN runs ON runs.id = ops.run"}` +
        (conds.length ? ` WHERE ${conds.join(" AND ")}` : "") +
        " ORDER BY ops.time DESC, ops.id DESC LIMIT ?",
      params: action === null ? [...params, limit] : [...params, action, limit],
    };
  });
}

/**
 * A --path range holding at least this many ops is walked in time order instead of through
 * ops_path: sorting it would cost more than testing rows until the page fills. Counting up to
 * the cap reads at most this many index entries.
 */
const WIDE_RANGE = 5000;
/**
 * A needle (a glob with no literal head) found in fewer ops than this is looked up through a
 * covering scan of ops_path, which reads no table rows: 62 ms at 1M ops, where testing every
 * row in time order took 180 ms when nothing matched. A common needle stops the scan early.
 */
const RARE_NEEDLE = 5000;
const NEEDLE_SQL = `SELECT id FROM ops WHERE instr(path, ?) > 0 LIMIT ${RARE_NEEDLE}`;

const newestFirst = (a: OpRow, b: OpRow): number => b.time - a.time || b.id - a.id;

function toOp(r: Record<string, unknown>, pairOf: (run: number) => number): OpRow {
  return {
    id: Number(r.id),
    pair: pairOf(Number(r.run)),
    run: Number(r.run),
    time: Number(r.time),
    action: r.action as OpAction,
    path: r.path as string,
    size: r.size == null ? null : Number(r.size),
    from: (r.from_path as string | null) ?? null,
    error: (r.error as string | null) ?? null,
  };
}

export function opQueries(db: Database): OpQueries {
  const add = db.prepare("INSERT INTO ops (run, time, action, path, size, from_path, error) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const prune = db.prepare("DELETE FROM ops WHERE time < ?");
  const runPair = db.prepare("SELECT pair FROM runs WHERE id = ?");
  const rangeSize = db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM ops WHERE path >= ? AND path < ? LIMIT ${WIDE_RANGE})`);
  const needleIds = db.prepare(NEEDLE_SQL);
  const access = (f: OpFilter): OpAccess => {
    // A run's own index is narrower than anything a path can offer.
    if (f.run !== undefined) return { wideRange: false, ids: null };
    if (f.pathRange) return { wideRange: Number(rangeSize.get(f.pathRange.from, f.pathRange.to)?.n) >= WIDE_RANGE, ids: null };
    if (f.pathNeedle === undefined) return { wideRange: false, ids: null };
    const ids = needleIds.all(f.pathNeedle).map((r) => Number(r.id));
    return { wideRange: false, ids: ids.length < RARE_NEEDLE ? ids : null };
  };
  const statements = new Map<string, ReturnType<Database["prepare"]>>();
  const prepared = (sql: string) => {
    let st = statements.get(sql);
    if (!st) statements.set(sql, (st = db.prepare(sql)));
    return st;
  };
  return {
    add: (op) => void add.run(op.run, op.time, op.action, op.path, op.size, op.from ?? null, op.error ?? null),
    access,
    page(filter, how, after, limit) {
      if (how.ids?.length === 0) return [];
      const pairs = new Map<number, number>();
      const pairOf = (run: number) => {
        let pair = pairs.get(run);
        if (pair === undefined) pairs.set(run, (pair = Number(runPair.get(run)?.pair ?? -1)));
        return pair;
      };
      const rows = pageQueries(filter, how, after, limit).flatMap((q) => prepared(q.sql).all(...q.params).map((r) => toOp(r, pairOf)));
      return rows.sort(newestFirst).slice(0, limit);
    },
    explain(filter, limit) {
      const plan = (sql: string, params: SqlValue[]) => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params).map((r) => String(r.detail));
      const how = access(filter);
      const probe = how.ids ? plan(NEEDLE_SQL, [filter.pathNeedle!]).map((d) => `needle: ${d}`) : [];
      return [...probe, ...pageQueries(filter, how, null, limit).flatMap((q) => plan(q.sql, q.params))];
    },
    prune: (before) => Number(prune.run(before).changes),
  };
}
