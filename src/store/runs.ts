import type { Database, SqlValue } from "./db.ts";

export type Trigger = "sync" | "interval" | "watch";
export type RunResult = "ok" | "partial" | "refused" | "aborted" | "failed";

export interface RunRecord {
  id: number;
  pair: number;
  trigger: Trigger;
  startedAt: number;
  endedAt: number | null;
  result: RunResult | null;
  counts: Record<string, number>;
  bytes: number;
  errors: number;
  /** The run listed the replica (first run, --full, after a crash or a rebuilt index). */
  full: boolean;
  /** Why it was refused or failed, in the words the user was told. */
  reason: string | null;
}

function toRun(r: Record<string, unknown>): RunRecord {
  return {
    id: Number(r.id),
    pair: Number(r.pair),
    trigger: r.trigger as Trigger,
    startedAt: Number(r.started_at),
    endedAt: r.ended_at == null ? null : Number(r.ended_at),
    result: (r.result as RunResult | null) ?? null,
    counts: r.counts ? JSON.parse(r.counts as string) : {},
    bytes: Number(r.bytes),
    errors: Number(r.errors),
    full: Number(r.full) === 1,
    reason: (r.reason as string | null | undefined) ?? null,
  };
}

export interface RunFilter {
  pair?: number;
  since?: number;
  until?: number;
  run?: number;
  limit: number;
}

export interface RunQueries {
  start(pair: number, trigger: Trigger, at: number): number;
  finish(id: number, at: number, result: RunResult, counts: Record<string, number>, bytes: number, errors: number, full?: boolean, reason?: string | null): void;
  /** A run refused before it began (a guard, the lock): a row that starts and ends at `at`. */
  refused(pair: number, trigger: Trigger, at: number, reason: string): number;
  last(pair: number): RunRecord | null;
  /** The run before `id`, to tell whether it was cut short (no end recorded). */
  previous(pair: number, id: number): RunRecord | null;
  /** Newest first; `since`/`until` bound the start time. */
  list(filter: RunFilter): RunRecord[];
}

export function runQueries(db: Database): RunQueries {
  const start = db.prepare("INSERT INTO runs (pair, trigger, started_at) VALUES (?, ?, ?)");
  const finish = db.prepare("UPDATE runs SET ended_at = ?, result = ?, counts = ?, bytes = ?, errors = ?, full = ?, reason = ? WHERE id = ?");
  const refused = db.prepare("INSERT INTO runs (pair, trigger, started_at, ended_at, result, counts, reason) VALUES (?, ?, ?, ?, 'refused', '{}', ?)");
  const last = db.prepare("SELECT * FROM runs WHERE pair = ? ORDER BY id DESC LIMIT 1");
  const previous = db.prepare("SELECT * FROM runs WHERE pair = ? AND id < ? ORDER BY id DESC LIMIT 1");
  return {
    start: (pair, trigger, at) => Number(start.run(pair, trigger, at).lastInsertRowid),
    finish: (id, at, result, counts, bytes, errors, full, reason) =>
      void finish.run(at, result, JSON.stringify(counts), bytes, errors, full ? 1 : 0, reason ?? null, id),
    refused: (pair, trigger, at, reason) => Number(refused.run(pair, trigger, at, at, reason).lastInsertRowid),
    last: (pair) => {
      const r = last.get(pair);
      return r ? toRun(r) : null;
    },
    previous: (pair, id) => {
      const r = previous.get(pair, id);
      return r ? toRun(r) : null;
    },
    list(filter) {
      const where: string[] = [];
      const params: SqlValue[] = [];
      const add = (cond: string, value: number | undefined) => {
        if (value === undefined) return;
        where.push(cond);
        params.push(value);
      };
      add("pair = ?", filter.pair);
      add("id = ?", filter.run);
      add("started_at >= ?", filter.since);
      add("started_at <= ?", filter.until);
      const sql = `SELECT * FROM runs${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
      return db.prepare(sql).all(...params, filter.limit).map(toRun);
    },
  };
}
