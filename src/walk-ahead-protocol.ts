import type { DirId, Entry, Listing } from "./walk.ts";
import type { ListingDiff } from "./changed-entries.ts";

/** What the worker is given: the subtrees it may claim, and what it needs to tell an unchanged directory. */
export interface AheadInput {
  source: string;
  roots: string[];
  salt: string;
  digests: [string, string][];
  /** The prints stored with the digests, so the worker can tell what changed in a directory. */
  prints: [string, Uint8Array][];
  excludes: string[];
  /** The replica's root, which the worker never lists (see listDir). */
  avoid: DirId | null;
  /** An Int32Array's buffer, see the SHARED_* slots. */
  shared: SharedArrayBuffer;
  /** An Int32Array's buffer: who walks each root (FREE, MAIN or WORKER), set once by whoever enters it first. */
  owners: SharedArrayBuffer;
  /** The weight (see weightOf) the worker may hold before the main thread takes it. */
  limit: number;
}

/**
 * One directory: unchanged (only its subdirectories matter), changed in part (only what changed
 * crosses over, with the diff against its stored prints), or listed in full.
 */
export type AheadResult =
  | { dir: string; clean: true; count: number; subdirs: Entry[] }
  | { dir: string; clean: false; changes: ListingDiff; digest: string }
  | { dir: string; clean: false; listing: Listing; digest: string | null };

/** One message: results from one root, in the order the main thread will ask for them. */
export interface AheadBatch {
  root: number;
  results: AheadResult[];
  /** The root's last message: a directory not among its results will not come. */
  end: boolean;
}

export const FREE = 0;
export const MAIN = 1;
export const WORKER = 2;

/** Slots of the shared Int32Array: the weight the main thread has taken, and whether it waits on the worker. */
export const TAKEN = 0;
export const WAITING = 1;

/** Memory a result holds until taken, counted in entries: a listing's entries, or an unchanged directory's subdirectories. */
export const weightOf = (r: AheadResult): number =>
  1 + (r.clean ? r.subdirs.length : "changes" in r ? r.changes.changed.length + r.changes.unchangedDirs.length + r.changes.unmatched.size : r.listing.entries.length);

/** Results per message. */
export const BATCH = 16;
