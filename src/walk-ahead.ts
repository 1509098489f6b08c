import type { Worker } from "node:worker_threads";
import { readdirSync } from "node:fs";
import { isDirId, type DirId } from "./walk.ts";
import { FREE, MAIN, TAKEN, WAITING, WORKER, weightOf, type AheadBatch, type AheadInput, type AheadResult } from "./walk-ahead-protocol.ts";
import { isWorkerFailure, startWorker, type WorkerFailure } from "./worker-start.ts";

/**
 * Node's lstat is single-threaded per thread and the walk is most of a re-sync: 100k lstats
 * cost 600 ms here, alone as much as rsync's whole run. So a worker lists part of the tree on the
 * other core and checks each directory's digest itself: for an unchanged directory only its
 * subdirectories cross over. The tree is cut into roots where it first forks. The main thread
 * walks roots from the first and the worker from the last, each claiming a root as it enters it,
 * so they meet wherever their speeds put the split (a fixed 40% left the main thread doing 65%
 * of the lstats, as the worker starts about 100 ms later). The main thread takes the worker's
 * results instead of listing; anything the worker cannot give (it failed, it stopped) is listed
 * as before.
 */

/**
 * Below this many indexed entries a worker's start-up (85 ms to its first message here) costs
 * more than it saves. Read per run so tests can send small trees through the worker.
 */
const minEntries = (): number => Number(process.env.SYNCHRO_WALK_AHEAD_MIN ?? 20_000);
/**
 * The weight (entries, see weightOf) the worker may hold before the main thread takes it: about
 * 10 MB of listings. Read per run so tests can make the worker wait.
 */
const aheadLimit = (): number => Number(process.env.SYNCHRO_WALK_AHEAD_LIMIT ?? 50_000);

export interface WalkAhead {
  /** Whether the worker walks `dir`, one of the roots or beneath one. Asked on entering a root, it claims that root for the main thread if the worker has not. */
  owns(dir: string): boolean;
  /** The worker's result for `dir`, or null when it has none (then list it yourself). */
  take(dir: string): Promise<AheadResult | null>;
  /** Resolves once the worker has stopped claiming and listing: for tests that need every root it will take. */
  finished: Promise<void>;
  /** For --verbose: how much the worker gave, or why it gave nothing. */
  summary(): string;
  close(): void;
}

/**
 * A worker's own start-up is Node's: 80 ms here before its first lstat, while the main thread
 * has been walking since its own start-up ended, so the main thread did most of the lstats.
 * A session with an index this large starts the worker at once, before the index is opened,
 * and the run's walk hands it its input. The size is a guess (rows run 200-300 bytes a file):
 * a guess too high costs a worker that boots on the other core and is stopped unused.
 */
export function mayWarm(stateBytes: number): boolean {
  return stateBytes >= minEntries() * 150;
}

/** A walk-ahead worker started before its run: the first run takes it, and a session closed with it untaken stops it. */
export interface WarmWorker {
  take(): Worker | null;
  close(): void;
}

export function warmWalkAhead(): WarmWorker | null {
  let worker: Worker | null;
  try {
    worker = startWorker("walk-ahead-worker");
  } catch {
    return null;
  }
  // Idle until taken, it must not keep the process alive; nor may its failure throw as unhandled.
  worker.unref();
  const lost = () => (worker = null);
  worker.on("error", lost);
  worker.on("exit", lost);
  return {
    take() {
      const w = worker;
      worker = null;
      w?.off("error", lost).off("exit", lost).ref();
      return w;
    },
    close() {
      void worker?.terminate();
      worker = null;
    },
  };
}

/** Fewer roots than this are cut again, one level down, so that the two threads can meet between small pieces. */
const MIN_ROOTS = 8;

/** What the split needs to know of the walk: which subdirectories it enters. */
interface Enters {
  isExcluded: (path: string, kind: "dir") => boolean;
  /** The replica's root, which the walk never enters (see listDir). */
  avoid: DirId | null;
}

/** The subdirectories of `dir` that a walk enters, as paths, in the walk's order; null when it cannot be read. */
function subdirsOf(source: string, dir: string, enters: Enters): string[] | null {
  try {
    return readdirSync(dir === "" ? source : `${source}/${dir}`, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => (dir === "" ? d.name : `${dir}/${d.name}`))
      .filter((p) => !enters.isExcluded(p, "dir") && !(enters.avoid && isDirId(`${source}/${p}`, enters.avoid)))
      .sort();
  } catch {
    return null;
  }
}

/**
 * The roots: the subdirectories of the first directory, from the root down a chain of single
 * subdirectories, with two or more; while there are fewer than MIN_ROOTS, each is replaced by its
 * own subdirectories (the main thread then lists the directory between them itself).
 */
function split(source: string, enters: Enters): string[] {
  let dir = "";
  for (let depth = 0; depth < 8; depth++) {
    const subdirs = subdirsOf(source, dir, enters);
    if (subdirs === null || subdirs.length === 0) return [];
    if (subdirs.length === 1) {
      dir = subdirs[0]!;
      continue;
    }
    let roots = subdirs;
    for (let round = 0; round < 2 && roots.length < MIN_ROOTS; round++) {
      roots = roots.flatMap((r) => {
        const below = subdirsOf(source, r, enters);
        return below && below.length > 0 ? below : [r];
      });
    }
    return roots;
  }
  return [];
}

export function startWalkAhead(opts: {
  source: string;
  salt: string;
  digests: Map<string, string>;
  /** Read only once the worker is to start: a small tree never needs them. */
  prints: () => Map<string, Uint8Array>;
  excludes: readonly string[];
  isExcluded: (path: string, kind: "dir") => boolean;
  indexed: number;
  /** A worker the session started early (see warmWalkAhead), used instead of starting one. */
  warm?: WarmWorker | null;
  /** The replica's root: neither a root nor listed, wherever a mount shows it inside the source. */
  avoid?: DirId | null;
}): WalkAhead | null {
  if (opts.indexed < minEntries()) return null;
  const avoid = opts.avoid ?? null;
  const roots = split(opts.source, { isExcluded: opts.isExcluded, avoid });
  if (roots.length === 0) return null;
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const owners = new Int32Array(new SharedArrayBuffer(4 * roots.length));
  const input: AheadInput = {
    source: opts.source,
    roots,
    salt: opts.salt,
    digests: [...opts.digests],
    prints: [...opts.prints()],
    excludes: [...opts.excludes],
    avoid,
    shared: shared.buffer as SharedArrayBuffer,
    owners: owners.buffer as SharedArrayBuffer,
    limit: aheadLimit(),
  };
  let worker: Worker | undefined;
  try {
    worker = opts.warm?.take() ?? startWorker("walk-ahead-worker");
    worker.postMessage(input);
  } catch {
    // An input that cannot be sent leaves a worker waiting for it, which would keep the process alive.
    void worker?.terminate();
    return null;
  }
  // Per root, in the order the worker listed it: the main thread takes them in the same order.
  const queues: (AheadResult | undefined)[][] = roots.map(() => []);
  const heads: number[] = roots.map(() => 0);
  const ended: boolean[] = roots.map(() => false);
  let done = false;
  let wake: (() => void) | null = null;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const notify = () => {
    wake?.();
    wake = null;
  };
  const stop = () => {
    done = true;
    finish();
    notify();
  };
  // A worker that cannot start or fails only loses the speed-up: the main thread lists instead.
  let failure: string | null = null;
  worker.on("message", (m: AheadBatch | "done" | WorkerFailure) => {
    if (m === "done") return stop();
    if (isWorkerFailure(m)) {
      failure = m.failed;
      return stop();
    }
    const queue = queues[m.root]!;
    for (const r of m.results) queue.push(r);
    if (m.end) ended[m.root] = true;
    notify();
  });
  let taken = 0;
  worker.on("error", (err) => {
    failure = String((err as Error)?.message ?? err);
    stop();
  });
  worker.on("exit", stop);
  const rootIndex = new Map(roots.map((r, i) => [r, i]));
  const rootOf = (dir: string): number => {
    for (let p = dir; ; ) {
      const i = rootIndex.get(p);
      if (i !== undefined) return i;
      const cut = p.lastIndexOf("/");
      if (cut < 0) return -1;
      p = p.slice(0, cut);
    }
  };
  return {
    owns(dir) {
      const i = rootOf(dir);
      if (i < 0) return false;
      if (roots[i] === dir) Atomics.compareExchange(owners, i, FREE, MAIN);
      return Atomics.load(owners, i) === WORKER;
    },
    async take(dir) {
      const i = rootOf(dir);
      if (i < 0) return null;
      for (;;) {
        const queue = queues[i]!;
        while (heads[i]! < queue.length) {
          const at = heads[i]!;
          const r = queue[at]!;
          queue[at] = undefined;
          heads[i] = at + 1;
          Atomics.add(shared, TAKEN, weightOf(r));
          Atomics.notify(shared, TAKEN);
          // Results of subtrees the main thread did not enter are passed over.
          if (r.dir === dir) {
            taken++;
            return r;
          }
        }
        if (ended[i] || done) return null;
        // The worker flushes before it holds back, and checks its limit before it claims a root, so
        // what it holds then belongs to roots after this one and it cannot be waiting here. Should
        // the orders ever differ, being awaited lets it go on rather than both threads wait.
        Atomics.store(shared, WAITING, 1);
        Atomics.notify(shared, TAKEN);
        await new Promise<void>((resolve) => (wake = resolve));
        Atomics.store(shared, WAITING, 0);
      }
    },
    finished,
    summary: () => {
      if (failure !== null) return `walk-ahead worker failed (${failure}); the main thread listed its part`;
      const claimed = roots.filter((_, i) => Atomics.load(owners, i) === WORKER).length;
      return `walk-ahead worker listed ${taken} of the directories under ${claimed} of ${roots.length} subtrees`;
    },
    close() {
      stop();
      void worker.terminate();
    },
  };
}
