import type { Entry } from "./walk.ts";

/** One small file for the stage worker to copy under a temporary name beside `dst`. */
export interface StageRequest {
  id: number;
  src: string;
  dst: string;
  entry: Entry;
}

/** A staged copy, or why there is none: `changed` when the source moved during the copy. */
export type StageReply =
  | { id: number; tmp: string; hash: string }
  | { id: number; error: { changed: boolean; message: string; code?: string; path?: string } };
