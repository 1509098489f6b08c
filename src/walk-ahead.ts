import { Worker } from "node:worker_threads";
import { readdirSync } from "node:fs";
import type { AheadInput, AheadResult } from "./walk-ahead-protocol.ts";

/**
 * Node's lstat is single-threaded per thread and the walk is most of a re-sync: 100k lstats
 * cost 600 ms here, alone as much as rsync's whole run. So a worker lists the last 40% of the
 * first fork in the tree on the other core, in the order the main thread will want it, and checks each
 * directory's digest itself: for an unchanged directory only its subdirectories cross over.
 * The main thread walks the rest meanwhile, then takes the worker's results instead of listing.
 * Anything the worker cannot give (it failed, it did not get there) is listed as before.
 */

/**
 * Below this many indexed entries a worker's start-up (85 ms to its first message here) costs
 * more than it saves. Read per run so tests can send small trees through the worker.
 */
const minEntries = (): number => Number(process.env.SYNCHRO_WALK_AHEAD_MIN ?? 20_000);

/** Built beside the bundle; tests running the sources use the built copy too (npm test builds first). */
const WORKER_URL = new URL(import.meta.url.endsWith(".ts") ? "../dist/walk-ahead-worker.mjs" : "./walk-ahead-worker.mjs", import.meta.url);

export interface WalkAhead {
  /** Whether `dir` is the worker's: one of its roots or beneath one. */
  owns(dir: string): boolean;
  /** The worker's result for `dir`, or null when it has none (then list it yourself). */
  take(dir: string): Promise<AheadResult | null>;
  /** For --verbose: how much the worker gave, or why it gave nothing. */
  summary(): string;
  close(): void;
}

/**
 * Where the tree first forks: the first directory, from the root down a chain of single
 * subdirectories, with two or more. The worker gets the last 40% of them.
 */
function split(source: string, isExcluded: (path: string, kind: "dir") => boolean): string[] {
  let dir = "";
  for (let depth = 0; depth < 8; depth++) {
    let subdirs: string[];
    try {
      subdirs = readdirSync(dir === "" ? source : `${source}/${dir}`, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => (dir === "" ? d.name : `${dir}/${d.name}`))
        .filter((p) => !isExcluded(p, "dir"))
        .sort();
    } catch {
      return [];
    }
    if (subdirs.length === 1) {
      dir = subdirs[0]!;
      continue;
    }
    // 40%, not half: the worker starts about 100 ms after the main thread.
    return subdirs.slice(subdirs.length - Math.max(1, Math.round(subdirs.length * 0.4)));
  }
  return [];
}

export function startWalkAhead(opts: {
  source: string;
  salt: string;
  digests: Map<string, string>;
  excludes: readonly string[];
  isExcluded: (path: string, kind: "dir") => boolean;
  indexed: number;
}): WalkAhead | null {
  if (opts.indexed < minEntries()) return null;
  const roots = split(opts.source, opts.isExcluded);
  if (roots.length === 0) return null;
  const consumed = new SharedArrayBuffer(4);
  const counter = new Int32Array(consumed);
  const input: AheadInput = { source: opts.source, roots, salt: opts.salt, digests: [...opts.digests], excludes: [...opts.excludes], consumed };
  let worker: Worker;
  try {
    worker = new Worker(WORKER_URL, { workerData: input });
  } catch {
    return null;
  }
  const queue: AheadResult[] = [];
  let head = 0;
  let done = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  worker.on("message", (m: AheadResult[] | "done") => {
    if (m === "done") done = true;
    else queue.push(...m);
    notify();
  });
  // A worker that cannot start or fails only loses the speed-up: the main thread lists instead.
  let failure: string | null = null;
  let taken = 0;
  worker.on("error", (err) => {
    failure = String((err as Error)?.message ?? err);
    done = true;
    notify();
  });
  worker.on("exit", () => {
    done = true;
    notify();
  });
  const rootSet = new Set(roots);
  return {
    owns(dir) {
      for (let p = dir; ; ) {
        if (rootSet.has(p)) return true;
        const i = p.lastIndexOf("/");
        if (i < 0) return false;
        p = p.slice(0, i);
      }
    },
    async take(dir) {
      for (;;) {
        while (head < queue.length) {
          const r = queue[head]!;
          queue[head++] = undefined as never;
          Atomics.add(counter, 0, 1);
          Atomics.notify(counter, 0);
          if (head > 4096 && head * 2 > queue.length) {
            queue.splice(0, head);
            head = 0;
          }
          // Results of subtrees the main thread did not enter are passed over.
          if (r.dir === dir) {
            taken++;
            return r;
          }
        }
        if (done) return null;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    summary: () =>
      failure !== null
        ? `walk-ahead worker failed (${failure}); the main thread listed its part`
        : `walk-ahead worker listed ${taken} of the directories under ${roots.length} subtrees`,
    close() {
      done = true;
      void worker.terminate();
    },
  };
}
