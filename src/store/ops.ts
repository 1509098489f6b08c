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
  /** Paths in [from, to): the literal head of a --path glob, tested in SQL before the glob itself. */
  pathRange?: { from: string; to: string };
  /** Paths containing this text: the longest plain piece of a --path glob, tested in SQL too. */
  pathNeedle?: string;
}

/** Where the previous page ended: the next page holds strictly older ops (time, then id, descending). */
export interface OpCursor {
  time: number;
  id: number;
}

/** How a page reaches its ops: through ops_time down to `floor` (inclusive), or by a scan of the table. */
export interface PageHow {
  floor?: OpCursor;
  scan?: boolean;
}

export interface OpRow extends OpRecord {
  id: number;
  pair: number;
}

export interface OpQueries {
  add(op: OpRecord): void;
  /**
   * The position of the n-th newest op in the filter's time range that is older than `after`, or
   * null when there are fewer. Anchored at the cursor, so ops recorded meanwhile cannot move it up.
   */
  edge(filter: OpFilter, after: OpCursor | null, n: number): OpCursor | null;
  /**
   * One page, newest first, of the ops strictly older than `after`. A scan reads the whole table
   * and sorts what matches: for the ops past the newest, where the index stops paying.
   */
  page(filter: OpFilter, after: OpCursor | null, limit: number, how: PageHow): OpRow[];
  /** EXPLAIN QUERY PLAN of the pages, for scripts/bench-history.ts: `stage` ops through the index, then the scan. */
  explain(filter: OpFilter, limit: number, stage: number): string[];
  prune(before: number): number;
}

const COLUMNS = "id, run, time, action, path, size, from_path, error";

/**
 * The SQL of one page. Action and path have no index: indexes on them served --action and a
 * --path head in under 10 ms at 1M ops, but cost every op a sync records two more b-tree
 * inserts, 1.4 µs and 55-60 bytes an op. They are tested on the way through ops_time (ops_run_time for one run) until the
 * page fills; past the newest ops, a scan of the table costs less. Figures: scripts/bench-history.ts.
 */
function pageQuery(filter: OpFilter, after: OpCursor | null, limit: number, how: PageHow): { sql: string; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const add = (cond: string, ...values: SqlValue[]) => {
    where.push(cond);
    params.push(...values);
  };
  if (filter.run !== undefined) add("run = ?", filter.run);
  // The pair's runs, listed once per query instead of a join on every op. '+' keeps SQLite off
  // ops_run_time here: reading the pair's ops through it would sort them all to find the newest.
  if (filter.pair !== undefined) add("+run IN (SELECT id FROM runs WHERE pair = ?)", filter.pair);
  // One bound each way: given two, SQLite ranges ops_time by one and tests the other on every
  // row, so a stage walked the whole --since range instead of stopping at its floor.
  const lo = Math.max(filter.since ?? -Infinity, how.floor?.time ?? -Infinity);
  const hi = Math.min(filter.until ?? Infinity, after?.time ?? Infinity);
  if (lo > -Infinity) add("time >= ?", lo);
  if (hi < Infinity) add("time <= ?", hi);
  if (after) add("(time < ? OR id < ?)", after.time, after.id);
  if (how.floor) add("(time > ? OR id >= ?)", how.floor.time, how.floor.id);
  if (filter.actions?.length) add(`action IN (${filter.actions.map(() => "?").join(", ")})`, ...filter.actions);
  if (filter.pathRange) add("path >= ? AND path < ?", filter.pathRange.from, filter.pathRange.to);
  if (filter.pathNeedle) add("instr(path, ?) > 0", filter.pathNeedle);
  return {
    sql:
      `SELECT ${COLUMNS} FROM ops${how.scan ? " NOT INDEXED" : ""}${where.length ? ` WHERE ${where.join(" AND ")}` : ""}` +
      " ORDER BY time DESC, id DESC LIMIT ?",
    params: [...params, limit],
  };
}

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
  const edge = db.prepare("SELECT time, id FROM ops WHERE time >= ? AND time <= ? AND (time < ? OR id < ?) ORDER BY time DESC, id DESC LIMIT 1 OFFSET ?");
  const edgeOf = (filter: OpFilter, after: OpCursor | null, n: number): OpCursor | null => {
    // As in pageQuery, one upper bound: the cursor's time or --until, whichever is older.
    const hi = Math.min(filter.until ?? Number.MAX_SAFE_INTEGER, after?.time ?? Number.MAX_SAFE_INTEGER);
    const [time, id] = after ? [after.time, after.id] : [Number.MAX_SAFE_INTEGER, 0];
    const r = edge.get(filter.since ?? Number.MIN_SAFE_INTEGER, hi, time, id, n - 1);
    return r ? { time: Number(r.time), id: Number(r.id) } : null;
  };
  const statements = new Map<string, ReturnType<Database["prepare"]>>();
  const prepared = (sql: string) => {
    let st = statements.get(sql);
    if (!st) statements.set(sql, (st = db.prepare(sql)));
    return st;
  };
  return {
    add: (op) => void add.run(op.run, op.time, op.action, op.path, op.size, op.from ?? null, op.error ?? null),
    edge: edgeOf,
    page(filter, after, limit, how) {
      const pairs = new Map<number, number>();
      const pairOf = (run: number) => {
        let pair = pairs.get(run);
        if (pair === undefined) pairs.set(run, (pair = Number(runPair.get(run)?.pair ?? -1)));
        return pair;
      };
      const q = pageQuery(filter, after, limit, how);
      return prepared(q.sql).all(...q.params).map((r) => toOp(r, pairOf));
    },
    explain(filter, limit, stage) {
      const plan = (how: PageHow) => {
        const q = pageQuery(filter, null, limit, how);
        return db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.params).map((r) => String(r.detail));
      };
      const floor = filter.run === undefined ? (edgeOf(filter, null, stage) ?? undefined) : undefined;
      return floor ? [...plan({ floor }).map((d) => `newest: ${d}`), ...plan({ scan: true }).map((d) => `the rest: ${d}`)] : plan({});
    },
    prune: (before) => Number(prune.run(before).changes),
  };
}
