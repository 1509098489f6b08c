import { SynchroError } from "./errors.ts";
import { printable } from "./printable.ts";
import { decimal, parseInterval } from "./config.ts";
import { openSession, type SyncOptions } from "./session.ts";
import { statEntry } from "./walk.ts";
import { silentLogger } from "./events.ts";
import { watchForPath, watchTree, type Closer } from "./fswatch.ts";
import { operationsIn, type SyncSummary } from "./run.ts";

export interface WatchOptions extends SyncOptions {
  /** Seconds between safety rescans of the whole tree (default 3600). */
  interval?: number | string;
  /** How long, in ms, a changed directory must stay quiet before it is rescanned (default 150). */
  debounce?: number | string;
  /** Called after every run: the initial sync, each batch of changes, each full rescan. */
  onBatch?: (batch: WatchBatch) => void;
}

export interface WatchBatch {
  reason: "initial" | "changes" | "rescan";
  /** How many dirty directories this batch was asked to rescan (0 for a full run). */
  dirs: number;
  summary: SyncSummary | null;
  /** A refused or failed run: logged, and watching goes on. */
  error: SynchroError | null;
}

export interface WatchTotals {
  runs: number;
  operations: number;
}

export interface WatchHandle {
  /** Settles when watching stops: after close(), on the abort signal, or on a fatal error (rejects). */
  readonly done: Promise<WatchTotals>;
  close(): Promise<WatchTotals>;
}

export const DEFAULT_DEBOUNCE_MS = 150;
export const DEFAULT_RESCAN_S = 3600;
/** A directory that never goes quiet (a log being appended to) is still rescanned this often. */
const MAX_WAIT_FACTOR = 20;
/** While the source is missing: a mount makes no inotify event in its parent, so recheck this slowly too. */
const MISSING_RECHECK_MS = 5000;

function parseDebounce(value: number | string | undefined): number {
  if (value === undefined) return DEFAULT_DEBOUNCE_MS;
  // No floor beyond 0: a debounce is a delay after an event, not the period of a loop.
  const n = decimal(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new SynchroError("BAD_OPTION", `--debounce must be a number of milliseconds, 0 or more, like 150; got '${value}'`);
  }
  return n;
}

/**
 * Continuous mirroring. The watcher is set up first and the initial sync runs next, so no
 * change is lost in between. Events mark directories dirty; a directory quiet for the
 * debounce window is rescanned against the index, like `sync` but only there. The whole tree
 * is rescanned only when it must be: at start, on overflow or a watcher error, when the source
 * root is replaced or comes back, and every `interval` seconds.
 */
export async function watch(options: WatchOptions): Promise<WatchHandle> {
  const debounce = parseDebounce(options.debounce);
  const interval = options.interval === undefined ? DEFAULT_RESCAN_S : parseInterval(options.interval);
  const maxWait = Math.max(2000, debounce * MAX_WAIT_FACTOR);
  const session = await openSession(options);
  const { cfg } = session;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const abort = new AbortController();

  const dirty = new Map<string, { first: number; last: number }>();
  const totals: WatchTotals = { runs: 0, operations: 0 };
  let tree: Closer | null = null;
  let rootIno: number | null = null;
  let waiter: { watch: Closer; recheck: ReturnType<typeof setInterval> } | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let periodic: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> | null = null;
  let fullPending = false;
  let limitLogged = false;
  let closed = false;
  let settle!: (t: WatchTotals) => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<WatchTotals>((resolve, reject) => ((settle = resolve), (fail = reject)));

  const skip = (dir: string) => cfg.isExcluded(dir, "dir");

  function startTree(): void {
    const root = statEntry(cfg.source, "");
    if (root?.kind !== "dir") return;
    rootIno = root.ino;
    tree = watchTree(cfg.source, skip, { changed: mark, overflow: () => requestFull("the watcher dropped events"), error: watchError });
  }

  function stopTree(): void {
    tree?.close();
    tree = null;
  }

  function watchError(err: unknown, dir: string): void {
    const code = (err as { code?: string }).code;
    if (code === "ENOSPC" || /limit/i.test(String((err as Error).message))) {
      if (limitLogged) return;
      limitLogged = true;
      logger.warn(
        `the inotify watch limit is reached; changes under some directories are found only by the rescan every ${interval} s. ` +
          "Raise it with: sudo sysctl fs.inotify.max_user_watches=524288 (persist it in /etc/sysctl.d/)",
      );
    } else logger.warn(printable(`cannot watch ${dir || "."}: ${(err as Error).message ?? err}; rescanning in full`));
    requestFull();
  }

  function mark(dir: string): void {
    if (closed || waiter) return;
    const t = now();
    const d = dirty.get(dir);
    if (d) d.last = t;
    else dirty.set(dir, { first: t, last: t });
    arm();
  }

  function requestFull(why?: string): void {
    if (closed) return;
    if (why) logger.warn(`${why}; rescanning the whole tree`);
    fullPending = true;
    arm(0);
  }

  /** One timer at a time, set for the earliest directory due; it re-arms itself for the rest. */
  function arm(delay?: number): void {
    if (closed || running || waiter) return;
    if (delay === undefined) {
      if (dirty.size === 0) return;
      if (timer) return;
      let due = Infinity;
      for (const d of dirty.values()) due = Math.min(due, d.last + debounce, d.first + maxWait);
      delay = Math.max(0, due - now());
    } else if (timer) clearTimeout(timer);
    timer = setTimeout(fire, delay);
  }

  function fire(): void {
    timer = null;
    if (closed || running) return;
    const t = now();
    const due: string[] = [];
    for (const [dir, d] of dirty) if (fullPending || t - d.last >= debounce || t - d.first >= maxWait) due.push(dir);
    if (!fullPending && due.length === 0) return arm();
    for (const dir of due) dirty.delete(dir);
    runBatch(fullPending ? null : due, fullPending ? "rescan" : "changes");
  }

  function runBatch(dirs: string[] | null, reason: WatchBatch["reason"]): void {
    running = batch(dirs, reason)
      .catch((err) => {
        if (!(err instanceof SynchroError && err.code === "ABORTED")) fail(err);
        // close() returns `done`, just rejected with err: the caller hears it there. Left
        // unhandled here, the rejection ended the process with a stack trace and exit 1.
        close().catch(() => {});
      })
      .finally(() => {
        running = null;
        arm();
      });
  }

  async function batch(dirs: string[] | null, reason: WatchBatch["reason"]): Promise<void> {
    const root = statEntry(cfg.source, "");
    if (root?.kind !== "dir" && reason !== "initial") return startWaiting();
    if (root && rootIno !== null && root.ino !== rootIno) {
      logger.warn(`the source folder ${printable(cfg.source)} was replaced; watching it again and rescanning the whole tree`);
      stopTree();
      startTree();
      dirs = null;
    }
    if (dirs === null) fullPending = false;
    try {
      const summary = await session.run("watch", abort.signal, { dirs: dirs ?? undefined, keepLock: true });
      totals.runs++;
      totals.operations += operationsIn(summary);
      options.onBatch?.({ reason, dirs: dirs?.length ?? 0, summary, error: null });
    } catch (err) {
      if (!(err instanceof SynchroError)) throw err;
      const ended = { reason, dirs: dirs?.length ?? 0, summary: (err.data.summary as SyncSummary) ?? null, error: err };
      if (err.code === "ABORTED") {
        // Stopped mid-run: what it made counts in the session's totals.
        if (ended.summary) {
          totals.runs++;
          totals.operations += operationsIn(ended.summary);
          options.onBatch?.(ended);
        }
        throw err;
      }
      // Deno grants no permission mid-run: a refused one would refuse every batch.
      if (err.code === "DENO_PERMISSION") throw err;
      if (reason === "initial" && (err.code === "LOCKED" || err.code === "SOURCE_MISSING")) throw err;
      if (err.code === "SOURCE_VANISHED" || err.code === "SOURCE_MISSING") {
        startWaiting();
        options.onBatch?.(ended);
        return;
      }
      // Refused (empty source, delete limit): the replica is untouched; the next change or rescan tries again.
      if (dirs === null) fullPending = true;
      logger.error(err.message);
      options.onBatch?.(ended);
    } finally {
      if (dirs === null) schedulePeriodic();
    }
  }

  function schedulePeriodic(): void {
    if (periodic) clearTimeout(periodic);
    if (closed) return;
    // setTimeout fires at once beyond 2^31-1 ms (24.8 days): cap it rather than rescan in a loop.
    periodic = setTimeout(() => requestFull(), Math.min(interval * 1000, 2 ** 31 - 1));
  }

  /** The source root is gone: touch nothing, drop the tree's watchers and wait without spinning. */
  function startWaiting(): void {
    if (waiter || closed) return;
    logger.warn(`the source folder ${printable(cfg.source)} is gone; the replica is untouched. Waiting for the source to come back`);
    stopTree();
    dirty.clear();
    const check = () => {
      if (statEntry(cfg.source, "")?.kind === "dir") stopWaiting();
    };
    waiter = { watch: watchForPath(cfg.source, check), recheck: setInterval(check, MISSING_RECHECK_MS) };
  }

  function stopWaiting(): void {
    if (!waiter) return;
    waiter.watch.close();
    clearInterval(waiter.recheck);
    waiter = null;
    logger.info(`the source folder ${printable(cfg.source)} is back; resuming`);
    startTree();
    requestFull();
  }

  async function close(): Promise<WatchTotals> {
    if (!closed) {
      closed = true;
      abort.abort();
      for (const t of [timer, periodic]) if (t) clearTimeout(t);
      if (waiter) {
        waiter.watch.close();
        clearInterval(waiter.recheck);
      }
      stopTree();
      await running;
      // Closing the session lets go of the replica's lock, held since the first batch.
      session.close();
      settle(totals);
    }
    return done;
  }

  options.signal?.addEventListener("abort", () => void close(), { once: true });
  startTree();
  logger.info(`watching ${printable(cfg.source)} → ${printable(cfg.replica)} (debounce ${debounce} ms, full rescan every ${interval} s)`);
  runBatch(null, "initial");
  return { done, close };
}
