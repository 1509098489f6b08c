import type { Entry, Kind } from "./walk.ts";
import { joinPath } from "./plan.ts";
import { sameFacts } from "./digest.ts";
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
  /** What each name's row must hold once settled (null: no row). While walking: every name; after: the unsettled ones. */
  want: Map<string, Entry | null>;
  /** Names whose row does not hold what `want` says yet. */
  unsettled: Set<string>;
  /** The directory's own walk is over: only its copies in flight and its deletes can still settle. */
  walked: boolean;
}

/** Starts following a directory whose rows did not match its listing when it was planned. */
export function track(
  s: RunState, dir: string, digest: string, prints: Uint8Array, entries: readonly Entry[], rows: readonly Entry[], isExcluded: (path: string, kind: Kind) => boolean,
): void {
  const want = new Map<string, Entry | null>();
  const unsettled = new Set<string>();
  const byName = new Map(rows.map((r) => [r.name, r]));
  for (const e of entries) {
    if (isExcluded(joinPath(dir, e.name), e.kind)) continue;
    want.set(e.name, e);
    const r = byName.get(e.name);
    if (!r || !sameFacts(e, r)) unsettled.add(e.name);
  }
  for (const r of rows) {
    if (want.has(r.name) || isExcluded(joinPath(dir, r.name), r.kind)) continue;
    want.set(r.name, null);
    unsettled.add(r.name);
  }
  s.tracked.set(dir, { digest, prints, want, unsettled, walked: false });
}

/** A row of `dir` was written (entry) or removed (null). */
export function noteRow(s: RunState, dir: string, name: string, entry: Entry | null): void {
  const t = s.tracked.get(dir);
  if (!t) return;
  const want = t.want.get(name);
  // After the walk only unsettled names are kept: a write to any other was not foreseen.
  if (want === undefined) {
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
