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
  limit: number;
}

export interface OpRow extends OpRecord {
  id: number;
  pair: number;
}

export interface OpQueries {
  add(op: OpRecord): void;
  /** Newest first; path globs are matched by the caller, so this pages through candidates. */
  query(filter: OpFilter, offset: number): OpRow[];
  prune(before: number): number;
}

export function opQueries(db: Database): OpQueries {
  const add = db.prepare("INSERT INTO ops (run, time, action, path, size, from_path, error) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const prune = db.prepare("DELETE FROM ops WHERE time < ?");
  return {
    add: (op) => void add.run(op.run, op.time, op.action, op.path, op.size, op.from ?? null, op.error ?? null),
    query(filter, offset) {
      const where: string[] = [];
      const params: SqlValue[] = [];
      if (filter.pair !== undefined) {
        where.push("runs.pair = ?");
        params.push(filter.pair);
      }
      if (filter.since !== undefined) {
        where.push("ops.time >= ?");
        params.push(filter.since);
      }
      if (filter.until !== undefined) {
        where.push("ops.time <= ?");
        params.push(filter.until);
      }
      if (filter.run !== undefined) {
        where.push("ops.run = ?");
        params.push(filter.run);
      }
      if (filter.actions?.length) {
        where.push(`ops.action IN (${filter.actions.map(() => "?").join(", ")})`);
        params.push(...filter.actions);
      }
      const sql =
        "SELECT ops.*, runs.pair AS pair FROM ops JOIN runs ON runs.id = ops.run" +
        (where.length ? ` WHERE ${where.join(" AND ")}` : "") +
        " ORDER BY ops.id DESC LIMIT ? OFFSET ?";
      return db
        .prepare(sql)
        .all(...params, filter.limit, offset)
        .map((r) => ({
          id: Number(r.id),
          pair: Number(r.pair),
          run: Number(r.run),
          time: Number(r.time),
          action: r.action as OpAction,
          path: r.path as string,
          size: r.size == null ? null : Number(r.size),
          from: (r.from_path as string | null) ?? null,
          error: (r.error as string | null) ?? null,
        }));
    },
    prune: (before) => Number(prune.run(before).changes),
  };
}
