import { isRealDir } from "./apply.ts";
import { statEntry, type Entry } from "./walk.ts";
import { baseName, dstPlain, finishWalk, openReplicaRoot, parentOf, srcAbs, walkAndApply, type RunState } from "./run.ts";
import { syncFrom } from "./sync-dir.ts";
import { ensureReplicaDir } from "./actions.ts";

/** A directory to rescan, found by climbing from a dirty path to something the index can vouch for. */
interface Target {
  dir: string;
  entry: Entry;
}


function excludedOnTheWay(s: RunState, dir: string): boolean {
  for (let p = dir; p !== ""; p = parentOf(p)) if (s.cfg.isExcluded(p, "dir")) return true;
  return false;
}

/**
 * A dirty directory is rescanned on its own only when the source and the index agree it is the
 * same directory (same inode) and every replica component down to it is a real directory.
 * Otherwise it is new, gone or replaced, and its parent's listing decides: the planner then walks
 * a new or replaced directory in full and turns a vanished one into a delete.
 */
function resolveTarget(s: RunState, dir: string, root: Entry): Target | null {
  if (excludedOnTheWay(s, dir)) return null;
  for (let d = dir; d !== ""; d = parentOf(d)) {
    const entry = statEntry(srcAbs(s, d), baseName(d));
    const row = s.deps.store.entries.get(s.pair, d);
    if (entry?.kind !== "dir" || row?.kind !== "dir" || row.ino !== entry.ino) continue;
    if (replicaPathIsReal(s, d)) return { dir: d, entry };
  }
  return { dir: "", entry: root };
}

function replicaPathIsReal(s: RunState, dir: string): boolean {
  for (let p = dir; p !== ""; p = parentOf(p)) if (!isRealDir(dstPlain(s, p))) return false;
  return true;
}

/** Already walked in this run: the directory itself, or an ancestor walked in full. */
function covered(s: RunState, dir: string): boolean {
  const walked = s.walked!;
  if (walked.has(dir)) return true;
  for (let p = dir; p !== ""; ) {
    p = parentOf(p);
    if (walked.get(p)) return true;
  }
  return false;
}

/**
 * A watch batch: rescans only the given source directories against the index, each one level
 * deep (new subtrees in full), then deletes last exactly like a full run. Deletions can only
 * come from the listings walked, so nothing outside these directories is removed.
 */
export async function walkDirs(s: RunState, rootEntry: Entry, dirs: Iterable<string>): Promise<{ refused: number; limit: number }> {
  if (!s.cfg.dryRun && !isRealDir(s.cfg.replica)) return walkAndApply(s, rootEntry, true);
  openReplicaRoot(s);
  s.walked = new Map();
  const targets = new Map<string, Target>();
  for (const dir of dirs) {
    const t = resolveTarget(s, dir, rootEntry);
    if (t) targets.set(t.dir, t);
  }
  // Parents first, so a directory its parent already walked in full is not walked twice.
  for (const t of [...targets.values()].sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0))) {
    if (covered(s, t.dir)) continue;
    const trusted = t.dir === "" || ensureReplicaDir(s, t.dir, null);
    await syncFrom(s, t.dir, t.entry, !trusted, null, !trusted);
  }
  return finishWalk(s, rootEntry, false);
}
