import type { Worker } from "node:worker_threads";
import { SourceChanged, type Staged } from "./apply.ts";
import type { Entry } from "./walk.ts";
import type { StageReply, StageRequest } from "./stage-protocol.ts";
import { isWorkerFailure, startWorker, type WorkerFailure } from "./worker-start.ts";

/**
 * A first copy of many small files is nearly all syscalls, and rsync spreads its own over three
 * processes. So the part of each small copy that no one else can see (read, hash, write under a
 * temporary name, set mode and mtime) runs on a worker thread, while the main thread walks, plans
 * and puts each staged file in place. Placing (the rename and its index row) stays on the main
 * thread and in plan order (src/place-queue.ts): until its rename, a staged copy is only a
 * temporary file.
 */

/**
 * A run starts the worker once it has planned this many file copies. Its start-up takes about
 * 85 ms on the other core, and copies planned until then are made on this thread. Re-syncing
 * 100k files, 7 alternating runs each: with 1,000 changed a median of 0.69 s at 100 against 0.73 s
 * at 1,000 (where the worker started at the last copy); with 200 changed, 0.45 s either way. Read per run so
 * tests can use small trees; at 0 the run also waits for the worker to start, so that every
 * small copy goes through it.
 */
export const stageMin = (): number => Number(process.env.SYNCHRO_STAGE_MIN ?? 100);

/** Requests per message: one postMessage per file cost more than a small file's write. */
const BATCH = 16;

/** The worker is gone: what it had not staged is copied on the main thread instead. */
export class StagerGone extends Error {}

export interface Stager {
  /** False until the worker has started, and again if it fails: copy on the main thread then. */
  ready(): boolean;
  /** Settles once the worker has started or failed to. */
  started: Promise<void>;
  /** Queues one small file; the promise settles once the worker has staged it (call flush() before awaiting). */
  stage(src: string, dst: string, entry: Entry): Promise<Staged>;
  /** Sends what is queued. */
  flush(): void;
  /** For --verbose: how many copies the worker staged, or why it stopped. */
  summary(): string;
  close(): void;
}

type Waiter = { resolve: (s: Staged) => void; reject: (e: Error) => void };

function toError(e: Extract<StageReply, { error: unknown }>["error"]): Error {
  if (e.changed) return new SourceChanged(e.message);
  return Object.assign(new Error(e.message), { ...(e.code ? { code: e.code } : {}), ...(e.path ? { path: e.path } : {}) });
}

export function startStager(): Stager | null {
  let worker: Worker;
  try {
    worker = startWorker("stage-worker");
  } catch {
    return null;
  }
  let up = false;
  let gone = false;
  let nextId = 0;
  let staged = 0;
  let failure: string | null = null;
  let onStarted!: () => void;
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  let queue: StageRequest[] = [];
  const waiting = new Map<number, Waiter>();
  const fail = (why: string) => {
    if (!gone && why !== "closed") failure = why;
    onStarted();
    up = false;
    gone = true;
    for (const w of waiting.values()) w.reject(new StagerGone(why));
    waiting.clear();
    queue = [];
  };
  worker.on("message", (m: "ready" | StageReply[] | WorkerFailure) => {
    if (isWorkerFailure(m)) {
      fail(m.failed);
      void worker.terminate();
      return;
    }
    if (m === "ready") {
      up = !gone;
      onStarted();
      return;
    }
    for (const r of m) {
      const w = waiting.get(r.id);
      if (!w) continue;
      waiting.delete(r.id);
      if ("error" in r) w.reject(toError(r.error));
      else {
        staged++;
        w.resolve({ tmp: r.tmp, hash: r.hash });
      }
    }
  });
  worker.on("error", (err) => fail(String((err as Error)?.message ?? err)));
  worker.on("exit", () => fail("the stage worker exited"));
  const stager: Stager = {
    ready: () => up,
    started,
    stage(src, dst, entry) {
      if (gone) return Promise.reject(new StagerGone("the stage worker is gone"));
      const id = nextId++;
      const result = new Promise<Staged>((resolve, reject) => waiting.set(id, { resolve, reject }));
      // Awaited only when its turn to be placed comes, maybe 512 copies later (STAGE_DEPTH): until then a
      // failure (an unreadable source) must not count as an unhandled rejection, which ends the process.
      result.catch(() => {});
      queue.push({ id, src, dst, entry });
      if (queue.length >= BATCH) stager.flush();
      return result;
    },
    flush() {
      if (queue.length === 0 || gone) return;
      worker.postMessage(queue);
      queue = [];
    },
    summary: () =>
      failure !== null ? `stage worker failed (${failure}); the main thread copied the rest` : `stage worker staged ${staged} small copies`,
    close() {
      fail("closed");
      void worker.terminate();
    },
  };
  return stager;
}
