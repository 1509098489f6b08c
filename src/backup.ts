import { readdirSync } from "node:fs";
import { moveAside, removeTree } from "./apply.ts";
import { dstAbs, record, type RunState } from "./run.ts";

/**
 * --backup-dir: what a sync would delete or overwrite moves to <dir>/<run stamp>/<path>,
 * like rsync's --backup-dir and Syncthing's simple versioning.
 */
export function moveToBackup(s: RunState, path: string): void {
  const to = `${s.cfg.backupDir}/${s.backupStamp}/${path}`;
  if (moveAside(dstAbs(s, path), to)) record(s, "backup", path, null, { from: to });
  s.dirs?.forget(path);
}

/** Stamps are ISO times with ':' and '.' as '-': 2026-11-25T03-04-05-678Z. */
function stampTime(name: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/.exec(name);
  return m ? Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`) : NaN;
}

/** --keep <days>: drops whole run folders older than that; anything not named like a stamp is left alone. */
export function pruneBackups(s: RunState, keepDays: number): number {
  const root = s.cfg.backupDir;
  if (!root) return 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  const cutoff = s.deps.now() - keepDays * 86_400_000;
  let pruned = 0;
  for (const name of names) {
    const t = stampTime(name);
    if (Number.isNaN(t) || t >= cutoff) continue;
    removeTree(`${root}/${name}`, name, () => {});
    pruned++;
  }
  return pruned;
}
