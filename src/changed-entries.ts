import { crossOff, diffPrints, type PrintDiff } from "./digest.ts";
import { joinPath } from "./plan.ts";
import type { Entry } from "./walk.ts";
import type { RunState } from "./run.ts";

/**
 * Reading a directory's rows costs about 1.5 µs a row, a point lookup about 5 µs; past this
 * share of changed entries the whole directory is read instead.
 */
export const MOST_CHANGED = 0.25;

/** A listing set against its directory's stored prints: what changed, with what a planner needs besides. */
export interface ListingDiff extends PrintDiff {
  /** Subdirectories whose entry did not change: walked into as an unchanged parent's are, unplanned. */
  unchangedDirs: Entry[];
  /** How many entries the listing has. */
  count: number;
}

/** What planning a directory needs when only some of its entries changed. */
export interface Changed extends ListingDiff {
  /** The changed entries' rows, where they have one. */
  rows: Entry[];
}

/**
 * Sets a listing against the prints stored with its directory's digest; null when there are
 * none, when two prints share a first word, or when most of it changed. The walk-ahead worker
 * does the same for its share of the tree.
 */
export function diffListing(salt: string, entries: readonly Entry[], stored: Uint8Array | undefined): ListingDiff | null {
  if (!stored) return null;
  const diff = diffPrints(salt, entries, stored);
  if (!diff || diff.changed.length > entries.length * MOST_CHANGED) return null;
  const changed = new Set(diff.changed.map((e) => e.name));
  const unchangedDirs = entries.filter((e) => e.kind === "dir" && !changed.has(e.name));
  return { ...diff, unchangedDirs, count: entries.length };
}

/** Every directory's stored prints, read once a run first needs them. */
export function storedPrints(s: RunState): Map<string, Uint8Array> {
  s.prints ??= s.deps.store.entries.prints(s.pair);
  return s.prints;
}

/**
 * A directory that held its listing at its digest's last store, and lists differently now: its
 * stored prints named the entries that changed, and only their rows are read. Null when a
 * stored print is left that no changed entry's row accounts for: a row whose entry is gone,
 * which only reading the whole directory finds.
 */
export function readChanged(s: RunState, dir: string, diff: ListingDiff): Changed | null {
  const rows: Entry[] = [];
  for (const e of diff.changed) {
    const row = s.deps.store.entries.get(s.pair, joinPath(dir, e.name));
    if (!row) continue;
    rows.push(row);
    crossOff(s.salt, diff, row);
  }
  if (diff.unmatched.size > 0) return null;
  s.plannedInPart++;
  return { ...diff, rows };
}
