import { close, constants, openSync, rename } from "node:fs";
import { discardStaged, type Staged } from "./apply.ts";
import { parentOf } from "./run.ts";

/**
 * A rename over an existing replica file waits on ext4, which starts writing the new file's data
 * out (auto_da_alloc) and frees the old one: 176-188 µs each on this machine's disk (0.5 ms in an
 * earlier state of it), 57-60 µs with the old file held (see holdReplaced). So a copy's final
 * rename may run on libuv's threads while the walk goes on, and its index row and op are written
 * when it lands. Renaming on the stage worker instead, idle most of a re-sync, measured slower
 * on ext4: 1.13 against 1.05 s for 1,000 changed files (12 alternating runs), one rename after
 * another where libuv's threads overlap them.
 *
 * The replica and the index then disagree about a path for as long as its rename is in flight,
 * so everything that reads either for another path waits for all of them first: rename
 * detection when it has a candidate, replacing a directory (refused after any error, and a
 * rename may yet fail), the deletes, the final settle of directory times, and a read-only
 * directory's own settle (its mode would refuse the rename). A directory settled
 * before its renames landed is settled again at the end (the landing marks it touched).
 */
export const MAX_IN_FLIGHT = 64;

export interface Placings {
  /** Replica path -> its rename, until it has landed and been recorded. */
  inFlight: Map<string, Promise<void>>;
  /** How many of them go into each directory. */
  into: Map<string, number>;
  /** The index failed while a landing was recorded: thrown at the next start or drain, as if it had failed there. */
  failure: { err: unknown } | null;
  /** O_PATH where a replaced file is held across its rename (see holdReplaced), else 0. */
  holdFlag: number;
}

export const newPlacings = (holdFlag = 0): Placings => ({ inFlight: new Map(), into: new Map(), failure: null, holdFlag });

/** Whether a rename into `dir` is still in flight. */
export const landingInto = (p: Placings, dir: string): boolean => (p.into.get(dir) ?? 0) > 0;

function rethrow(p: Placings): void {
  if (!p.failure) return;
  const { err } = p.failure;
  p.failure = null;
  throw err;
}

/**
 * Starts renaming `staged` to `dstAbs`. `landed` records it once in place; `failed` reports a
 * rename that failed, after its temporary file is removed. If either throws (the index failed),
 * the error ends the run at its next start or drain.
 */
export async function renameLater(
  p: Placings, path: string, staged: Staged, dstAbs: string, replacing: boolean, landed: () => void, failed: (err: unknown) => void,
): Promise<void> {
  rethrow(p);
  while (p.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(p.inFlight.values());
  rethrow(p);
  const dir = parentOf(path);
  p.into.set(dir, (p.into.get(dir) ?? 0) + 1);
  const old = replacing ? holdReplaced(dstAbs, p.holdFlag) : null;
  const done = new Promise<void>((resolve) => {
    rename(staged.tmp, dstAbs, (err) => {
      if (old !== null) close(old, ignore);
      p.inFlight.delete(path);
      const left = p.into.get(dir)! - 1;
      if (left > 0) p.into.set(dir, left);
      else p.into.delete(dir);
      try {
        if (err) {
          discardStaged(staged);
          failed(err);
        } else landed();
      } catch (e) {
        p.failure ??= { err: e };
      }
      resolve();
    });
  });
  p.inFlight.set(path, done);
}

/**
 * A rename frees the file it replaces before it lets go of the directory, and on this machine's
 * ext4 (no journal, mounted with discard) freeing waits for the disk's discard. The next
 * temporary file in that directory waited with it: 170 µs a create, against 40 µs when the old
 * file is held open across the rename and freed by that close, on libuv's threads, instead
 * (1,000 updates in 10 directories, 4 alternating runs: 223–242 ms against 102–183 ms).
 * O_PATH opens nothing a device or fifo could notice, and with O_NOFOLLOW a planted symlink
 * is held itself (src/runtime.ts says where the flag is used).
 */
function holdReplaced(dstAbs: string, oPath: number): number | null {
  if (oPath === 0) return null;
  try {
    return openSync(dstAbs, oPath | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
}

const ignore = (): void => {};

/** Waits until every rename in flight has landed and been recorded. */
export async function drain(p: Placings): Promise<void> {
  while (p.inFlight.size > 0) await Promise.all([...p.inFlight.values()]);
  rethrow(p);
}

/** Waits for the renames into one directory. */
export async function drainDir(p: Placings, dir: string): Promise<void> {
  const into = [...p.inFlight].filter(([path]) => parentOf(path) === dir).map(([, done]) => done);
  if (into.length > 0) await Promise.all(into);
}
