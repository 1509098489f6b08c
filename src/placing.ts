import { rename } from "node:fs";
import { discardStaged, type Staged } from "./apply.ts";
import { parentOf } from "./run.ts";

/**
 * A rename over an existing replica file waits on ext4, which writes the new file's data out
 * first (auto_da_alloc): 0.5 ms each, 535 ms of the main thread in a re-sync after 1,000 files
 * changed. So a copy's final rename may run on libuv's threads while the walk goes on, and its
 * index row and op are written when it lands.
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
}

export const newPlacings = (): Placings => ({ inFlight: new Map(), into: new Map(), failure: null });

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
  p: Placings, path: string, staged: Staged, dstAbs: string, landed: () => void, failed: (err: unknown) => void,
): Promise<void> {
  rethrow(p);
  while (p.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(p.inFlight.values());
  rethrow(p);
  const dir = parentOf(path);
  p.into.set(dir, (p.into.get(dir) ?? 0) + 1);
  const done = new Promise<void>((resolve) => {
    rename(staged.tmp, dstAbs, (err) => {
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
