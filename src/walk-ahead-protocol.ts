import type { Entry, Listing } from "./walk.ts";

/** What the worker is given: its subtrees, and what it needs to tell an unchanged directory. */
export interface AheadInput {
  source: string;
  roots: string[];
  salt: string;
  digests: [string, string][];
  excludes: string[];
  /** An Int32Array's buffer: how many results the main thread has taken. */
  consumed: SharedArrayBuffer;
}

/** One directory: either unchanged (only its subdirectories matter) or listed in full. */
export type AheadResult =
  | { dir: string; clean: true; count: number; subdirs: Entry[] }
  | { dir: string; clean: false; listing: Listing; digest: string | null };

/** Results per message, and how many directories the worker may list before the main thread takes them. */
export const BATCH = 16;
export const AHEAD_LIMIT = 512;
