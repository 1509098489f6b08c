import { crossOff, diffPrints } from "./digest.ts";
import { joinPath } from "./plan.ts";
import type { Entry } from "./walk.ts";
import type { RunState } from "./run.ts";

/**
 * Reading a directory's rows costs about 1.5 µs a row, a point lookup about 5 µs; past this
 * share of changed entries the whole directory is read instead.
 */
const MOST_CHANGED = 0.25;

/** What planning a directory needs when only some of its entries changed. */
export interface Changed {
  /** The entries to plan: new or changed since the rows last held the listing. */
  entries: Entry[];
  /** Their rows, where they have one. */
  rows: Entry[];
  /** Every row of the directory as it stands: the unchanged entries' own facts, and `rows`. */
  allRows: Entry[];
  /** Subdirectories whose entry did not change: walked into as an unchanged parent's are, unplanned. */
  unchangedDirs: Entry[];
  /** The listing's own prints, to store with its digest once the rows hold it. */
  prints: Uint8Array;
}

/**
 * A directory that held its listing at its digest's last store, and lists differently now: its
 * stored prints name the entries that changed, and only their rows are read. Null when that
 * cannot be known (no prints), when entries are gone (their rows would have to be found), or
 * when most of it changed: then it is read and planned in full.
 */
export function changedEntries(s: RunState, dir: string, entries: readonly Entry[]): Changed | null {
  s.prints ??= s.deps.store.entries.prints(s.pair);
  const stored = s.prints.get(dir);
  if (!stored) return null;
  const diff = diffPrints(s.salt, entries, stored);
  if (!diff || diff.changed.length > entries.length * MOST_CHANGED) return null;
  const rows: Entry[] = [];
  const rowOf = new Map<string, Entry>();
  for (const e of diff.changed) {
    const row = s.deps.store.entries.get(s.pair, joinPath(dir, e.name));
    if (!row) continue;
    rows.push(row);
    rowOf.set(e.name, row);
    crossOff(s.salt, diff, row);
  }
  // A stored print no entry has and no changed entry's row accounts for: a row whose entry is gone.
  if (diff.unmatched.size > 0) return null;
  const changed = new Set(diff.changed.map((e) => e.name));
  const allRows: Entry[] = [];
  const unchangedDirs: Entry[] = [];
  for (const e of entries) {
    if (!changed.has(e.name)) {
      allRows.push(e);
      if (e.kind === "dir") unchangedDirs.push(e);
    } else {
      const row = rowOf.get(e.name);
      if (row) allRows.push(row);
    }
  }
  s.plannedInPart++;
  return { entries: diff.changed, rows, allRows, unchangedDirs, prints: diff.prints };
}
