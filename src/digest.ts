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

/**
 * Per-entry prints, kept beside a directory's digest: 64 bits an entry, over the same facts and
 * salt. When a directory no longer lists to its digest, they tell which entries changed, so a
 * re-sync reads the rows of those alone instead of the whole directory (a file rewritten in each
 * of 700 directories read 100k rows for 1,000 changes). Two 32-bit hashes of different
 * construction (murmur3's and xxhash32's rounds), so that the pair fails only where both do.
 */
export const PRINT_BYTES = 8;

// Two 32-bit seeds from the salt's SHA-1: with one 32-bit seed, two exclude lists could share
// it (1 in 2^32), and then an entry no longer excluded would print as unchanged and not be copied.
let seeded: { salt: string; a: number; b: number } | null = null;

function seedOf(salt: string): { a: number; b: number } {
  if (seeded?.salt === salt) return seeded;
  const d = createHash("sha1").update(salt).digest();
  seeded = { salt, a: d.readUInt32LE(0), b: d.readUInt32LE(4) };
  return seeded;
}

function murmurRound(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function murmurFinal(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function xxRound(h: number, k: number): number {
  h = (h + Math.imul(k, 0xc2b2ae3d)) | 0;
  return Math.imul((h << 17) | (h >>> 15), 0x27d4eb2f);
}

function xxFinal(h: number): number {
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae3d);
  return (h ^ (h >>> 16)) >>> 0;
}

// The two running hashes of the print being made: module state, so the rounds need no arrays.
let ha = 0;
let hb = 0;
let words = 0;

function round(w: number): void {
  ha = murmurRound(ha, w);
  hb = xxRound(hb, w);
  words++;
}

function roundNumber(n: number): void {
  round(n >>> 0);
  round(Math.floor(n / 4294967296) | 0);
}

function roundText(text: string): void {
  for (let i = 0; i < text.length; i++) round(text.charCodeAt(i));
}

/** An entry's print as two 32-bit words: its numbers as halves, then its name and target. */
function printOf(seed: { a: number; b: number }, e: Entry): void {
  ha = seed.a | 0;
  hb = seed.b | 0;
  words = 0;
  round(KIND_CODES[e.kind]);
  round(e.mode);
  roundNumber(e.size);
  roundNumber(e.mtime);
  roundNumber(e.ino);
  roundNumber(e.ctime);
  roundText(e.name);
  // A length between name and target keeps "ab" + "c" apart from "a" + "bc".
  round(e.name.length | 0x10000);
  if (e.target !== null) roundText(e.target);
  round(e.target === null ? -1 : e.target.length);
  ha = murmurFinal(ha ^ words);
  hb = xxFinal(hb ^ words);
}

/** The prints of a listing, in its order. */
export function listingPrints(salt: string, entries: readonly Entry[]): Uint8Array {
  const out = new Uint32Array(entries.length * 2);
  const seed = seedOf(salt);
  for (let i = 0; i < entries.length; i++) {
    printOf(seed, entries[i]!);
    out[i * 2] = ha;
    out[i * 2 + 1] = hb;
  }
  return new Uint8Array(out.buffer);
}

/** What changed in a listing against the prints of the one its rows last held. */
export interface PrintDiff {
  /** Entries whose facts are not among the stored prints: new or changed. */
  changed: Entry[];
  /** Stored prints no entry has now, first word to second: each a changed entry's old row, or a row whose entry is gone. */
  unmatched: Map<number, number>;
  /** The listing's own prints, as listingPrints gives them. */
  prints: Uint8Array;
}

/** Prints as a lookup, first word to second; null when two share a first word. */
export function printSet(prints: Uint8Array): Map<number, number> | null {
  const words = new Uint32Array(prints.buffer.slice(prints.byteOffset, prints.byteOffset + prints.byteLength));
  const set = new Map<number, number>();
  for (let i = 0; i < words.length; i += 2) {
    if (set.has(words[i]!)) return null;
    set.set(words[i]!, words[i + 1]!);
  }
  return set;
}

/** Whether an entry, name and facts, is among a set of prints. */
export function hasPrint(salt: string, set: Map<number, number>, e: Entry): boolean {
  printOf(seedOf(salt), e);
  return set.get(ha) === hb;
}

/** Null when two stored prints share a first word (about one directory in 10^6 at 100 entries): plan it in full. */
export function diffPrints(salt: string, entries: readonly Entry[], stored: Uint8Array): PrintDiff | null {
  const unmatched = printSet(stored);
  if (!unmatched) return null;
  const prints = listingPrints(salt, entries);
  const now = new Uint32Array(prints.buffer);
  const changed: Entry[] = [];
  for (let i = 0; i < entries.length; i++) {
    if (unmatched.get(now[i * 2]!) === now[i * 2 + 1]) unmatched.delete(now[i * 2]!);
    else changed.push(entries[i]!);
  }
  return { changed, unmatched, prints };
}

/** Crosses a changed entry's row off a diff's unmatched prints; false if it was not among them. */
export function crossOff(salt: string, diff: PrintDiff, row: Entry): boolean {
  printOf(seedOf(salt), row);
  if (diff.unmatched.get(ha) !== hb) return false;
  diff.unmatched.delete(ha);
  return true;
}
