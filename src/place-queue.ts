import { SynchroError } from "./errors.ts";
import { failed, maybeYield, parentOf, turnDue, type RunState } from "./run.ts";
import { isSmallFile } from "./apply.ts";
import type { PendingCopy } from "./actions.ts";

/**
 * Copies started ahead of their turn (canStage in src/actions.ts) are placed in walk order, and
 * each directory's own settle (its mode, mtime and digest, once its walk is over) waits behind
 * the copies queued before it. Until this queue each directory placed its copies before the walk
 * went on, so at every directory the stage worker sat idle while the main thread placed the last
 * of them and listed and planned the next: a first copy of 100k small files kept both threads
 * about 25% idle. Replacing a directory places everything queued first, and rename detection
 * everything queued before its own directory (placeQueuedOutside), as each waits for the
 * renames in flight.
 */

/**
 * Staged copies waiting to be placed, at most: enough to keep the stage worker busy, few enough to
 * bound memory. A first copy of 100k small files (dirs of 143) took a median of 4.52 s at 512
 * against 4.89 s at 128 (5 alternating runs each) and peaked 6 MiB higher; 1,024 measured 1-2%
 * faster again and 4 MiB higher still.
 */
const STAGE_DEPTH = 512;
/** Large copies in flight at once, each with its 4 MiB buffer: see copyInChunks in src/apply.ts. */
const LARGE_IN_FLIGHT = 4;
/**
 * Items of either kind, at most: behind a long large copy the walk would otherwise queue a settle
 * for every directory after it, and a stop would leave all of them unsettled.
 */
const QUEUED_MAX = 1024;

interface Queued {
  path: string;
  /** Null for a directory's settle. */
  copy: PendingCopy | null;
  large: boolean;
  /** Set once the copy is staged (or failed to be): placing it then waits for nothing. */
  ready: boolean;
  run: () => Promise<void>;
}

export interface PlaceQueue {
  items: Queued[];
  copies: number;
  large: number;
}

export const newPlaceQueue = (): PlaceQueue => ({ items: [], copies: 0, large: 0 });

/** Runs the oldest item: a copy waits for its stage. A stop heard first leaves it queued, for takeQueuedCopies. */
async function runOldest(s: RunState): Promise<void> {
  const q = s.queue;
  if (turnDue(s)) await maybeYield(s, q.items[0]!.path);
  const item = q.items.shift()!;
  if (item.copy) q.copies--;
  if (item.large) q.large--;
  await item.run();
}

/** Runs what needs no waiting: settles, and copies already staged. */
async function runReady(s: RunState): Promise<void> {
  while (s.queue.items.length > 0 && s.queue.items[0]!.ready) await runOldest(s);
}

/** Queues a copy; `place` puts it in place and records it (or its failure), in turn. */
export async function queueCopy(s: RunState, copy: PendingCopy, place: () => Promise<void>): Promise<void> {
  const q = s.queue;
  const large = !isSmallFile(copy.action.entry);
  const item: Queued = { path: copy.action.path, copy, large, ready: false, run: place };
  copy.staged.then(() => (item.ready = true), () => (item.ready = true));
  q.items.push(item);
  q.copies++;
  if (large) q.large++;
  if (q.items[0]!.ready) await runReady(s);
  while (q.copies >= STAGE_DEPTH || q.large >= LARGE_IN_FLIGHT) await runOldest(s);
}

/**
 * Runs the settle of directory `path` once everything queued before it is placed: now, if nothing
 * is. It may then run inside another path's action, so its failure is recorded as its own.
 */
export async function afterQueued(s: RunState, path: string, settle: () => Promise<void>): Promise<void> {
  const run = () =>
    settle().catch((err) => {
      if (err instanceof SynchroError && err.code === "ABORTED") throw err;
      failed(s, path || ".", err);
    });
  if (s.queue.items[0]?.ready) await runReady(s);
  if (s.queue.items.length === 0) return run();
  s.queue.items.push({ path, copy: null, large: false, ready: true, run });
  while (s.queue.items.length >= QUEUED_MAX) await runOldest(s);
}

/** Places every queued copy and runs every settle, in order. */
export async function placeQueued(s: RunState): Promise<void> {
  while (s.queue.items.length > 0) await runOldest(s);
}

/**
 * Places what was queued before the walk reached `dir`: afterwards only copies into `dir` may be
 * queued, as when each directory placed its own before the walk went on. Rename detection needs
 * exactly that: a replica directory it moves holds no temporary file, and no settle waits for
 * a directory it moved, while a file of `dir` being replaced may still move first (a rotated log).
 */
export async function placeQueuedOutside(s: RunState, dir: string): Promise<void> {
  const { items } = s.queue;
  let n = items.length;
  while (n > 0 && items[n - 1]!.copy !== null && parentOf(items[n - 1]!.path) === dir) n--;
  for (; n > 0; n--) await runOldest(s);
}

/** Empties the queue after a stop or a failure: its copies, for the caller to discard; the settles are dropped. */
export function takeQueuedCopies(s: RunState): PendingCopy[] {
  const copies = s.queue.items.flatMap((i) => (i.copy ? [i.copy] : []));
  s.queue = newPlaceQueue();
  return copies;
}
