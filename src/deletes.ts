import { SynchroError } from "./errors.ts";
import { printable } from "./printable.ts";
import { removeTree } from "./apply.ts";
import { moveToBackup } from "./backup.ts";
import { listDir, type Kind } from "./walk.ts";
import { dstAbs, openParent, parentOf, record, removeRow, type RunState } from "./run.ts";

export interface PendingDelete {
  path: string;
  kind: Kind;
  /** True when the index (not a replica listing) said this path exists. */
  indexed: boolean;
  /** How many renames had moved replica entries away (s.renamedAway) when this delete was planned. */
  after: number;
}

/**
 * Whether the delete's path, or a directory above it, was renamed away after the delete was
 * planned: what it meant to delete has moved, and what stands there now is another entry. A
 * delete planned later, while walking what a rename brought into that path, still holds.
 */
const movedSince = (d: PendingDelete, renamedAway: Map<string, number>): boolean => {
  for (let p = d.path; p !== ""; p = parentOf(p)) if ((renamedAway.get(p) ?? 0) > d.after) return true;
  return false;
};

/** Counts a replica subtree without following links: for the delete limit, and for dry runs. */
function countTree(abs: string): number {
  const listing = listDir(abs);
  let n = 0;
  for (const e of listing.entries) n += e.kind === "dir" ? 1 + countTree(`${abs}/${e.name}`) : 1;
  return n;
}

function entriesIn(s: RunState, d: PendingDelete): number {
  if (d.kind !== "dir") return 1;
  return 1 + (d.indexed ? s.deps.store.entries.countSubtree(s.pair, d.path) : countTree(dstAbs(s, d.path)));
}

export function deleteLimit(s: RunState, replicaEntries: number): number {
  const limit = s.cfg.maxDelete;
  return "count" in limit ? limit.count : Math.floor((limit.percent / 100) * replicaEntries);
}

/**
 * A type change that puts a file or a link where a directory stood removes that directory's
 * subtree before the deferred deletes run; it passes the same gates: never after errors, and
 * within the delete limit, counted together with the deferred deletes.
 */
export function mayReplaceDir(s: RunState, path: string): boolean {
  const indexed = s.deps.store.entries.get(s.pair, path) !== null;
  const n = entriesIn(s, { path, kind: "dir", indexed, after: s.renamedAway.size });
  if (s.errors.length > 0) {
    s.deps.logger.warn(`${printable(path)}: replacing this directory (${n} entries) waits for a run without errors`);
    return false;
  }
  if (!s.cfg.force && s.inlineDeletes + n > deleteLimit(s, s.replicaEntries)) {
    s.refusedDeletes += n;
    s.deps.logger.warn(`${printable(path)}: replacing this directory would delete ${n} entries, over the delete limit; use --force or raise --max-delete`);
    return false;
  }
  s.inlineDeletes += n;
  return true;
}

/**
 * Deletes run last, and not at all after errors (as rclone does): a failing run never deletes
 * more. Above the limit nothing is deleted and the caller reports DELETE_LIMIT.
 */
export function applyDeletes(s: RunState): { refused: number; limit: number } {
  const live = s.pendingDeletes.filter(
    (d) => !movedSince(d, s.renamedAway) && (!d.indexed || s.deps.store.entries.get(s.pair, d.path) !== null),
  );
  const counted = live.map((d) => ({ d, n: entriesIn(s, d) }));
  const total = counted.reduce((sum, c) => sum + c.n, 0);
  // A replica listing saw only the top of each stray subtree; add what lies beneath.
  const replicaEntries = s.replicaEntries + counted.reduce((sum, c) => sum + (c.d.indexed ? 0 : c.n - 1), 0);
  const limit = deleteLimit(s, replicaEntries);
  if (total === 0) return { refused: s.refusedDeletes, limit };
  if (total + s.inlineDeletes > limit && !s.cfg.force) {
    for (const { d } of counted) if (s.cfg.dryRun) record(s, d.kind === "dir" ? "rmdir" : "delete", d.path, null);
    s.deps.logger.warn(`refusing to delete ${total} of ${replicaEntries} replica entries (limit ${limit}); use --force or raise --max-delete`);
    return { refused: total + s.refusedDeletes, limit };
  }
  if (s.errors.length > 0 && !s.cfg.dryRun) {
    s.deps.logger.warn(`skipping ${total} deletions because this run had ${s.errors.length} errors`);
    return { refused: s.refusedDeletes, limit };
  }
  for (const { d } of counted) deleteOne(s, d);
  return { refused: s.refusedDeletes, limit };
}

function deleteOne(s: RunState, d: PendingDelete): void {
  if (s.cfg.dryRun) {
    record(s, d.kind === "dir" ? "rmdir" : "delete", d.path, null);
    return;
  }
  try {
    openParent(s, d.path);
    if (s.cfg.backupDir) moveToBackup(s, d.path);
    else removeTree(dstAbs(s, d.path), d.path, (r) => record(s, r.kind === "dir" ? "rmdir" : "delete", r.path, r.size));
    removeRow(s, d.path, d.kind);
    s.touched.add(parentOf(d.path));
  } catch (err) {
    const message = err instanceof SynchroError ? err.message : printable(`deleting: ${(err as Error).message}`);
    s.deps.logger.error(`${printable(d.path)}: ${message}`);
    record(s, "error", d.path, null, { error: message });
  }
}
