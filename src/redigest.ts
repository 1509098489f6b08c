import type { Entry, Kind } from "./walk.ts";
import { joinPath } from "./plan.ts";
import { hasPrint, printSet, sameFacts } from "./digest.ts";
import type { RunState } from "./run.ts";

/**
 * A directory that a run changed has no digest (src/digest.ts) until its rows match its listing
 * again; without this, the next run would read and plan it in full once more, so the first no-op
 * after a first copy re-planned the whole tree and each re-sync re-planned what the one before
 * it changed. So a run follows the rows of each directory it plans: every row it writes or
 * removes there must end as the listing says. Once the directory is walked and nothing in it is
 * left unsettled (a rename in flight, a delete still to run, a copy that failed or met a changed
 * source), the listing's digest is stored again. Anything unforeseen gives up, which costs only
 * a full plan of that directory next time.
 */
export interface Tracked {
  digest: string;
  /** The listing's prints, stored with the digest. */
  prints: Uint8Array;
  /** While walking, the same prints as a lookup, made when first needed: a row written for any other name must hold one of them. */
  listed: Map<number, number> | null;
  /** What each name's row must come to hold (null: no row), for the names this run has to change. */
  want: Map<string, Entry | null>;
  /** Names whose row does not hold what `want` says yet. */
  unsettled: Set<string>;
  /** The directory's own walk is over: only its copies in flight and its deletes can still settle. */
  walked: boolean;
}

/**
 * Starts following a directory planned while its rows did not hold its listing: `stale` are the
 * entries whose row differs or is missing, `gone` the names of rows the listing lacks.
 */
export function track(s: RunState, dir: string, digest: string, prints: Uint8Array, stale: readonly Entry[], gone: readonly string[]): void {
  const want = new Map<string, Entry | null>();
  for (const e of stale) if (!s.cfg.isExcluded(joinPath(dir, e.name), e.kind)) want.set(e.name, e);
  for (const name of gone) want.set(name, null);
  s.tracked.set(dir, { digest, prints, listed: null, want, unsettled: new Set(want.keys()), walked: false });
}

/** The entries whose row differs from them or is missing, and the rows no entry has: what `track` follows. */
export function staleRows(dir: string, entries: readonly Entry[], rows: readonly Entry[], isExcluded: (path: string, kind: Kind) => boolean): { stale: Entry[]; gone: string[] } {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const listed = new Set(entries.map((e) => e.name));
  const stale = entries.filter((e) => {
    const r = byName.get(e.name);
    return !r || !sameFacts(e, r);
  });
  const gone = rows.filter((r) => !listed.has(r.name) && !isExcluded(joinPath(dir, r.name), r.kind)).map((r) => r.name);
  return { stale, gone };
}

/** A row of `dir` was written (entry) or removed (null). */
export function noteRow(s: RunState, dir: string, name: string, entry: Entry | null): void {
  const t = s.tracked.get(dir);
  if (!t) return;
  const want = t.want.get(name);
  if (want === undefined) {
    // A row this run did not mean to change: harmless while walking (a subdirectory's row written
    // again after writes inside it) if it holds what the listing says, else not foreseen.
    if (!t.walked && entry !== null) {
      // Two prints sharing a first word (null) cannot vouch for anything.
      t.listed ??= printSet(t.prints) ?? new Map();
      if (hasPrint(s.salt, t.listed, entry)) return;
    }
    s.tracked.delete(dir);
    return;
  }
  const settled = want === null ? entry === null : entry !== null && sameFacts(want, entry);
  if (settled) t.unsettled.delete(name);
  else t.unsettled.add(name);
}

/** Stops following `path` as a directory and everything beneath it: its rows moved, were removed wholesale, or failed. */
export function untrack(s: RunState, path: string): void {
  s.tracked.delete(path);
  if (s.tracked.size === 0) return;
  const below = path === "" ? "" : `${path}/`;
  for (const dir of s.tracked.keys()) if (dir.startsWith(below)) s.tracked.delete(dir);
}

/** The directory's walk is over: store its digest if nothing is left to settle, else keep only what is. */
export function walked(s: RunState, dir: string, inFlight: boolean): void {
  const t = s.tracked.get(dir);
  if (!t) return;
  if (t.unsettled.size === 0 && !inFlight) {
    store(s, dir, t);
    return;
  }
  t.walked = true;
  t.listed = null;
  for (const name of t.want.keys()) if (!t.unsettled.has(name)) t.want.delete(name);
}

/** At the end of a run, after its renames have landed and its deletes have run. */
export function storeSettled(s: RunState): void {
  for (const [dir, t] of s.tracked) if (t.walked && t.unsettled.size === 0) store(s, dir, t);
  s.tracked.clear();
}

function store(s: RunState, dir: string, t: Tracked): void {
  s.tracked.delete(dir);
  s.deps.store.write(() => s.deps.store.entries.setDigest(s.pair, dir, t.digest, t.prints));
}
