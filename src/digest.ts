import { createHash } from "node:crypto";
import type { Entry, Kind } from "./walk.ts";
import { joinPath } from "./plan.ts";

/**
 * The re-sync fast path. A directory's digest hashes its listing: every entry's kind, size,
 * mtime, mode, inode, ctime and link target, salted with the excludes in force. It is stored
 * only when the index rows matched that listing field for field, and it moves and dies with
 * those rows. So when a directory lists to the same digest again, its rows still match and
 * planning it would find nothing to do: the run skips reading them. ctime is in the hash, and
 * no one can set it back, so a change that restores size and mtime still shows.
 * SHA-1 from node:crypto, not the content hash: that one is WebAssembly, which costs a no-op
 * run and the walk-ahead worker 15 ms each to load, and runs unoptimised at first.
 */

const KIND_CODES: Record<Kind, number> = { file: 0, dir: 1, symlink: 2 };
const FIELDS = 6;

/** The salt: a change of excludes changes what planning sees, so every digest must miss once. */
export const digestSalt = (excludes: readonly string[]): string => JSON.stringify(excludes);

export function listingDigest(salt: string, entries: readonly Entry[]): string {
  const nums = new Float64Array(entries.length * FIELDS);
  let text = salt;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const o = i * FIELDS;
    nums[o] = KIND_CODES[e.kind];
    nums[o + 1] = e.size;
    nums[o + 2] = e.mtime;
    nums[o + 3] = e.mode;
    nums[o + 4] = e.ino;
    nums[o + 5] = e.ctime;
    // Names hold neither "/" nor NUL, and targets no NUL: the text parses one way only.
    text += "/" + e.name + "\0" + (e.target ?? "");
  }
  return createHash("sha1").update(new Uint8Array(nums.buffer)).update(text).digest("hex");
}

export const sameFacts = (e: Entry, r: Entry): boolean =>
  e.kind === r.kind && e.size === r.size && e.mtime === r.mtime && e.mode === r.mode && e.ino === r.ino && e.ctime === r.ctime && e.target === r.target;

/**
 * Whether a directory's index rows hold exactly its listing, excluded names aside (planning
 * neither copies nor deletes those). Stricter than planning: a row within a millisecond, or
 * with an old inode, still plans nothing or a refresh, but it is not a match.
 */
export function matchesIndex(dir: string, entries: readonly Entry[], rows: readonly Entry[], isExcluded: (path: string, kind: Kind) => boolean): boolean {
  const byName = new Map<string, Entry>();
  for (const r of rows) if (!isExcluded(joinPath(dir, r.name), r.kind)) byName.set(r.name, r);
  let matched = 0;
  for (const e of entries) {
    if (isExcluded(joinPath(dir, e.name), e.kind)) continue;
    const r = byName.get(e.name);
    if (!r || !sameFacts(e, r)) return false;
    matched++;
  }
  return matched === byName.size;
}
