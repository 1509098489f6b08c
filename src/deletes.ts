import { SynchroError } from "./errors.ts";
import { plural } from "./words.ts";
import { printable } from "./printable.ts";
import { removeTree } from "./apply.ts";
import { moveToBackup } from "./backup.ts";
import { listDir, type Kind } from "./walk.ts";
import { joinPath, type Action } from "./plan.ts";
import { dstAbs, openParent, parentOf, record, removeRow, type RunState } from "./run.ts";

/** A file or link that takes the place of a replica directory: made once that directory is gone, in the delete phase. */
export type Replacement = Extract<Action, { op: "create" | "symlink" }>;

export interface PendingDelete {
  path: string;
  kind: Kind;
  /** True when the index (not a replica listing) said this path exists. */
  indexed: boolean;
  /** How many renames had moved replica entries away (s.renamedAway) when this delete was planned. */
  after: number;
  /**
   * What takes the path's place once it is deleted. A directory that becomes a file or a link
   * is deleted with the run's other deletions, under the same limit, and only then replaced:
   * over the limit, nothing is deleted or replaced.
   */
  then?: Replacement;
}

/** Applies a replacement once the directory in its way is gone: src/actions.ts, passed in so that module is not imported here. */
export type Replace = (s: RunState, action: Replacement) => Promise<void>;

/**
 * Whether the delete's path, or a directory above it, was renamed away after the delete was
 * planned: what it meant to delete has moved, and what stands there now is another entry. A
 * delete planned later, while walking what a rename brought into that path, still holds.
 */
const movedSince = (d: PendingDelete, renamedAway: Map<string, number>): boolean => {
  for (let p = d.path; p !== ""; p = parentOf(p)) if ((renamedAway.get(p) ?? 0) > d.after) return true;
  return false;
};

/** A replica subtree without following links, children before their directory, as removeTree removes it. */
function subtree(abs: string, rel: string, out: { path: string; kind: Kind }[]): void {
  for (const e of listDir(abs).entries) {
    const path = joinPath(rel, e.name);
    if (e.kind === "dir") subtree(`${abs}/${e.name}`, path, out);
    else out.push({ path, kind: e.kind });
  }
  out.push({ path: rel, kind: "dir" });
}

function entriesIn(s: RunState, d: PendingDelete): number {
  if (d.kind !== "dir") return 1;
  if (d.indexed) return 1 + s.deps.store.entries.countSubtree(s.pair, d.path);
  const all: { path: string; kind: Kind }[] = [];
  subtree(dstAbs(s, d.path), d.path, all);
  return all.length;
}

/** The most a run may delete: a count, or a share of the replica's entries; 100% is no limit at all. */
export function deleteLimit(s: RunState, replicaEntries: number): number {
  const limit = s.cfg.maxDelete;
  if ("count" in limit) return limit.count;
  return limit.percent >= 100 ? Infinity : Math.floor((limit.percent / 100) * replicaEntries);
}

/**
 * Deletes run last, and not at all after errors (as rclone does): a failing run never deletes
 * more. The limit counts every deletion of the run, the directories that files or links replace
 * included, before any of them happens; above it nothing is deleted or replaced and the caller
 * reports DELETE_LIMIT. A dry run lists and counts the same deletions.
 */
export async function applyDeletes(s: RunState, replace: Replace): Promise<{ refused: number; limit: number }> {
  const live: PendingDelete[] = [];
  const freed: Replacement[] = [];
  for (const d of s.pendingDeletes) {
    const gone = movedSince(d, s.renamedAway) || (d.indexed && s.deps.store.entries.get(s.pair, d.path) === null);
    // A directory renamed away left its place free: what replaces it needs no delete.
    if (!gone) live.push(d);
    else if (d.then) freed.push(d.then);
  }
  const counted = live.map((d) => ({ d, n: entriesIn(s, d) }));
  const total = counted.reduce((sum, c) => sum + c.n, 0);
  // A replica listing saw only the top of each stray subtree; add what lies beneath.
  const replicaEntries = s.replicaEntries + counted.reduce((sum, c) => sum + (c.d.indexed ? 0 : c.n - 1), 0);
  const limit = deleteLimit(s, replicaEntries);
  for (const action of freed) await replace(s, action);
  if (total === 0) return { refused: 0, limit };
  if (total > limit && !s.cfg.force) {
    for (const { d } of counted) if (s.cfg.dryRun) planDelete(s, d);
    s.deps.logger.warn(`refusing to delete ${total} of ${replicaEntries} replica entries (limit ${limit}); use --force or raise --max-delete`);
    return { refused: total, limit };
  }
  if (s.errors.length > 0 && !s.cfg.dryRun) {
    s.deps.logger.warn(`skipping ${plural(total, "deletion")} because this run had ${plural(s.errors.length, "error")}`);
    return { refused: 0, limit };
  }
  if (s.deferDeletes !== null && !s.cfg.dryRun) {
    s.deps.logger.warn(`skipping ${plural(total, "deletion")} because ${s.deferDeletes}; the next run makes them`);
    return { refused: 0, limit };
  }
  for (const { d } of counted) {
    if (!deleteOne(s, d) || !d.then) continue;
    await replace(s, d.then);
  }
  return { refused: 0, limit };
}

/** What a dry run shows for one deletion: each entry the real run would remove, or the one move aside to --backup-dir. */
function planDelete(s: RunState, d: PendingDelete): void {
  if (s.cfg.backupDir) {
    record(s, "backup", d.path, null);
    return;
  }
  if (d.kind !== "dir") {
    record(s, "delete", d.path, null);
    return;
  }
  const all: { path: string; kind: Kind }[] = [];
  subtree(dstAbs(s, d.path), d.path, all);
  for (const e of all) record(s, e.kind === "dir" ? "rmdir" : "delete", e.path, null);
}

/** Deletes one path (moves it aside with --backup-dir); false when that failed, as an error of the run. */
function deleteOne(s: RunState, d: PendingDelete): boolean {
  if (s.cfg.dryRun) {
    planDelete(s, d);
    return true;
  }
  try {
    openParent(s, d.path);
    if (s.cfg.backupDir) moveToBackup(s, d.path);
    else removeTree(dstAbs(s, d.path), d.path, (r) => record(s, r.kind === "dir" ? "rmdir" : "delete", r.path, r.size));
    if (d.kind === "dir") s.dirs?.forget(d.path);
    removeRow(s, d.path, d.kind);
    s.touched.add(parentOf(d.path));
    return true;
  } catch (err) {
    const message = err instanceof SynchroError ? err.message : printable(`deleting: ${(err as Error).message}`);
    s.deps.logger.error(`${printable(d.path)}: ${message}`);
    record(s, "error", d.path, null, { error: message });
    return false;
  }
}
