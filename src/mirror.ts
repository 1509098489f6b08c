import { readdirSync } from "node:fs";
import { printable } from "./printable.ts";
import { SynchroError } from "./errors.ts";
import { hostName, permissionRefused } from "./runtime.ts";
import { MARKER_DIR, type Config } from "./config.ts";
import { statEntry } from "./walk.ts";
import { emptyCounts, newRunState, walkAndApply, type RunDeps, type SyncSummary } from "./run.ts";
import { silentLogger } from "./events.ts";
import { plural } from "./words.ts";
import { settingChanges } from "./settings.ts";
import { walkDirs } from "./rescan.ts";
import { pruneBackups } from "./backup.ts";
import type { RunRecord, RunResult } from "./store/runs.ts";
import { isBusy, isCorrupt, type Pair } from "./store/store.ts";
import { ensureMarkerId, makeMarkerDir, markerPath, readMarker } from "./replica/marker.ts";
import { tryLock, type LockHolder, type ReplicaLock } from "./replica/lock.ts";

export type RunConfig = Config & { sourceExists: boolean };

/** What one run covers. Watch passes the directories its events named, and holds the lock between runs. */
export interface RunScope {
  /** Rescan only these source directories (relative paths, "" is the root); absent means the whole tree. */
  dirs?: Iterable<string>;
  /** The caller holds the replica's lock for longer than this run (in RunDeps.lockSlot): do not release it at the end. */
  keepLock?: boolean;
}

/** Waits, or stops early on abort; the abort listener is removed either way, so --wait loops do not pile them up. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

const describeHolder = (replica: string, holder: LockHolder | null): string => {
  if (!holder) return `on ${replica}`;
  const host = holder.host && holder.host !== hostName() ? ` on host ${holder.host}` : "";
  return `(pid ${holder.pid}${host}) on ${replica}`;
};

/**
 * One writer per replica, whatever index it uses: the lock is in the replica's marker
 * (src/replica/lock.ts), made here if this is the replica's first run. A held lock means
 * LOCKED, unless --wait. A session's lock from an earlier run is kept while it is still the
 * one at the replica's path (a disk mounted again has a new one, which must be taken).
 */
async function takeLock(cfg: RunConfig, deps: RunDeps): Promise<ReplicaLock> {
  const slot = deps.lockSlot;
  if (slot?.held?.isCurrent()) return slot.held;
  slot?.held?.release();
  if (slot) slot.held = null;
  makeMarkerDir(cfg.replica);
  let told: string | null = null;
  for (;;) {
    const attempt = await tryLock(cfg.replica, { pid: process.pid, host: hostName(), since: deps.now() });
    if ("lock" in attempt) {
      if (slot) slot.held = attempt.lock;
      return attempt.lock;
    }
    const holder = describeHolder(cfg.replica, attempt.holder);
    if (!cfg.wait) throw new SynchroError("LOCKED", `already running ${holder}; use --wait to queue`, { pid: attempt.holder?.pid ?? null });
    if (told !== holder) deps.logger.info(printable(`waiting for the sync already running ${holder}`));
    told = holder;
    await sleep(250, deps.signal);
    if (deps.signal?.aborted) throw new SynchroError("ABORTED", "interrupted while waiting for the lock");
  }
}

/** What the replica's root and marker say before a run. */
interface ReplicaCheck {
  /** The replica root is missing (a first run, or --force after it vanished). */
  missing: boolean;
  /** The index describes another replica than the one there now: list it in full, as on a first run. */
  rescan: boolean;
  /** The id in the replica's marker, null when it has none. */
  marker: string | null;
}

/**
 * A replica whose root or marker vanished while the index says it was full is most likely an
 * unmounted disk (its empty mount point left behind): writing would silently fill the parent
 * file system with part of a copy, and once the disk was back the index would no longer
 * describe it. A marker with another id is another replica (rotating backup disks): the index
 * does not describe it, so it is listed in full. A pair whose index knows no marker yet (an
 * index older than markers) gets one on its next run.
 */
function guardReplica(cfg: RunConfig, known: Pair | null, indexed: number): ReplicaCheck {
  if (statEntry(cfg.replica, "")?.kind !== "dir") {
    if (indexed > 0 && !cfg.force) {
      throw new SynchroError("REPLICA_VANISHED", `replica ${cfg.replica} is gone but the index holds ${plural(indexed, "entry", "entries")}; is a disk unmounted? Nothing was written (use --force to copy everything again)`);
    }
    return { missing: true, rescan: false, marker: null };
  }
  const marker = readMarker(cfg.replica);
  const expected = indexed > 0 ? (known?.marker ?? null) : null;
  if (expected !== null && marker === null && !cfg.force) {
    throw new SynchroError("REPLICA_VANISHED", `the replica marker ${markerPath(cfg.replica, "id")} is missing but the index holds ${plural(indexed, "entry", "entries")}; is the replica's disk unmounted? Nothing was written. Mount it and run again; if the replica is really lost, --force copies everything again and makes a new marker`);
  }
  return { missing: false, rescan: expected !== null && marker !== expected, marker };
}

/** Makes the marker's id if the replica has none, and has the index keep it for the pair. Under the lock. */
function adoptMarker(cfg: RunConfig, deps: RunDeps, pair: Pair, check: ReplicaCheck): void {
  const id = ensureMarkerId(cfg.replica);
  if (id === pair.marker) return;
  if (check.rescan && check.marker !== null) {
    deps.logger.info(`the replica ${printable(cfg.replica)} has another synchro marker than the index knows (another disk?): listing it in full, as on a first run`);
  }
  deps.store.setMarker(pair.id, id);
}

/** A root's entries but a marker: a source that is itself a replica holds one, which is never mirrored. */
const ownEntries = (root: string): string[] => readdirSync(root).filter((name) => name !== MARKER_DIR);

/** Refuses to mirror a vanished or emptied source over a replica the index says was full. */
function guardSource(cfg: RunConfig, indexed: number): void {
  const exists = statEntry(cfg.source, "")?.kind === "dir";
  if (!exists) {
    if (indexed > 0) {
      throw new SynchroError("SOURCE_VANISHED", `source ${cfg.source} is gone but the index holds ${plural(indexed, "entry", "entries")}; is a disk unmounted? The replica was not touched (--force cannot mirror a missing source: recreate it empty and use --force to empty the replica)`);
    }
    throw new SynchroError("SOURCE_MISSING", `source does not exist: ${cfg.source}`);
  }
  if (indexed > 0 && !cfg.force && ownEntries(cfg.source).length === 0) {
    throw new SynchroError("SOURCE_EMPTY", `source ${cfg.source} is empty but the index holds ${plural(indexed, "entry", "entries")}; the replica was not touched (use --force to mirror the empty source)`);
  }
}

/**
 * A run cut short (kill -9, power cut, Ctrl+C, a thrown error) may have left temp files,
 * unrecorded copies and directories made before their index row (written once their contents
 * are); a scan that was refused left replica-only entries that no index row remembers. Either
 * way the next run lists the replica again.
 */
const mustRescan = (previous: RunRecord): boolean =>
  previous.endedAt === null || previous.result === "aborted" || previous.result === "failed" || (previous.full && previous.result !== "ok");

/** Tells the caller that the run began (see RunStart), once whichever way it begins. */
type Announce = (run: number | null) => void;

/** One sync run; an index another process keeps locked past the busy timeout is INDEX_LOCKED, not a crash. */
export async function syncOnce(cfg: RunConfig, deps: RunDeps, scope: RunScope = {}): Promise<SyncSummary> {
  let announced = false;
  const announce: Announce = (run) => {
    if (announced) return;
    announced = true;
    deps.onEvent?.({ type: "start", run, source: cfg.source, replica: cfg.replica, trigger: deps.trigger, dryRun: cfg.dryRun });
  };
  try {
    return await guardedRun(cfg, deps, scope, announce);
  } catch (err) {
    if (isCorrupt(err)) deps.store.distrust();
    if (isBusy(err)) throw new SynchroError("INDEX_LOCKED", `the index ${deps.store.file} is locked by another process; nothing more was synced`);
    if (err instanceof SynchroError && err.exitCode === 3) refuse(cfg, deps, err, announce);
    // A permission Deno refused, whatever wrapped it (the marker, the lock): the one thing to tell.
    throw permissionRefused(err) ?? err;
  }
}

/** A refusal is a run too: recorded (unless dry), and begun for the caller before its reason is told. */
function refuse(cfg: RunConfig, deps: RunDeps, err: SynchroError, announce: Announce): void {
  if (!cfg.dryRun) recordRefusal(cfg, deps, err);
  announce(typeof err.data.run === "number" ? err.data.run : null);
}

/**
 * A run refused before it began (a vanished or emptied source, an unmounted replica, the delete
 * limit decided up front, another run holding the replica) is a run of its own in the history,
 * with the reason the user was told: the 3am run that did nothing must say why. One refused
 * after it began has its row already (`data.run`).
 */
function recordRefusal(cfg: RunConfig, deps: RunDeps, err: SynchroError): void {
  if (typeof err.data.run === "number") return;
  try {
    const pair = deps.store.pair(cfg.source, cfg.replica, true)!;
    err.data.run = deps.store.runs.refused(pair.id, deps.trigger, deps.now(), err.message);
    deps.store.commit();
  } catch {
    // The index cannot take it (locked, read-only): the refusal itself is what the user must hear.
  }
}

type Refusal = { refused: number; limit: number };

/** Stores the settings a run uses as the pair's own; a change from what it stored before is logged. */
function rememberSettings(cfg: RunConfig, deps: RunDeps, pair: number): void {
  const before = deps.store.settings(pair);
  const changes = settingChanges(before, cfg.settings);
  for (const change of changes) deps.logger.info(`this pair's setting changed: ${change}`);
  if (before === null || changes.length > 0) deps.store.saveSettings(pair, cfg.settings);
}

/** A run, refused at the delete limit when over it. */
async function guardedRun(cfg: RunConfig, deps: RunDeps, scope: RunScope, announce: Announce): Promise<SyncSummary> {
  const { summary, refused } = await runOnce(cfg, deps, scope, announce);
  if (refused.refused > 0 && !cfg.dryRun) throw deleteLimit(refused, summary);
  return summary;
}

const limitMessage = (refused: Refusal): string =>
  `refusing to delete ${refused.refused} entries (limit ${refused.limit}); use --force or raise --max-delete`;

const deleteLimit = (refused: Refusal, summary: SyncSummary): SynchroError =>
  new SynchroError("DELETE_LIMIT", limitMessage(refused), { summary, run: summary.run });

/**
 * Whether this run is to list a replica that holds entries: a first run into a folder synchro
 * never saw, --full, or a run after a crash. What such a run deletes is known only once both
 * trees are listed, and the replica's files are not (or no longer known to be) synchro's, so it
 * plans the whole run first (see planFirst).
 */
function listsAFullReplica(cfg: RunConfig, deps: RunDeps, scope: RunScope, known: Pair | null, indexed: number, replica: ReplicaCheck): boolean {
  if (cfg.dryRun || cfg.force || replica.missing || ("percent" in cfg.maxDelete && cfg.maxDelete.percent >= 100)) return false;
  const last = known ? deps.store.runs.last(known.id) : null;
  const scans = indexed === 0 || replica.rescan || deps.store.rebuiltFrom !== null || (last !== null && mustRescan(last)) || (cfg.full && !scope.dirs);
  return scans && ownEntries(cfg.replica).length > 0;
}

/**
 * Plans the whole run as a dry run before the first write, so that a run over the delete limit is
 * refused having changed nothing: a first run into a folder of the user's own would otherwise
 * overwrite the files it shares with the source before it found what it must delete. Its
 * warnings are the run's only when it refuses, told once the refused run has begun; otherwise
 * the real run says them again.
 */
async function planFirst(cfg: RunConfig, deps: RunDeps, scope: RunScope, announce: Announce): Promise<void> {
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (m: string) => warnings.push(m) };
  const dry = await runOnce({ ...cfg, dryRun: true }, { ...deps, logger, onEvent: undefined }, scope, () => {});
  if (dry.refused.refused === 0) return;
  const { plan: _plan, ...rest } = dry.summary;
  const err = deleteLimit(dry.refused, { ...rest, dryRun: false, result: "refused", counts: emptyCounts(), bytes: 0 });
  refuse(cfg, deps, err, announce);
  for (const w of warnings) deps.logger.warn(w);
  throw err;
}

/** Guards, lock, walk/plan/apply (the whole tree, or the scope's directories), deletes last, and the run's record in the index. */
async function runOnce(cfg: RunConfig, deps: RunDeps, scope: RunScope, announce: Announce): Promise<{ summary: SyncSummary; refused: Refusal }> {
  const { store } = deps;
  const known = store.pair(cfg.source, cfg.replica, false);
  const indexed = known ? store.entries.count(known.id) : 0;
  guardSource(cfg, indexed);
  const replica = guardReplica(cfg, known, indexed);
  if (listsAFullReplica(cfg, deps, scope, known, indexed, replica)) await planFirst(cfg, deps, scope, announce);
  if (cfg.dryRun) return runHeld(cfg, deps, scope, known, indexed, replica, announce);
  const pair = store.pair(cfg.source, cfg.replica, true)!;
  const lock = await takeLock(cfg, deps);
  try {
    adoptMarker(cfg, deps, pair, replica);
    return await runHeld(cfg, deps, scope, pair, indexed, replica, announce);
  } finally {
    if (!scope.keepLock) {
      lock.release();
      if (deps.lockSlot) deps.lockSlot.held = null;
    }
  }
}

/** The run itself, once the guards passed and (unless it is a dry run) it holds the replica's lock. */
async function runHeld(
  cfg: RunConfig, deps: RunDeps, scope: RunScope, pair: Pair | null, indexed: number, replica: ReplicaCheck, announce: Announce,
): Promise<{ summary: SyncSummary; refused: Refusal }> {
  const { store, now } = deps;
  // A run starts once it holds the lock: time spent in --wait is not the run's.
  const started = now();
  const runId = cfg.dryRun || !pair ? null : store.runs.start(pair.id, deps.trigger, started);
  announce(runId);
  if (runId !== null) rememberSettings(cfg, deps, pair!.id);
  const previous = !pair ? null : runId !== null ? store.runs.previous(pair.id, runId) : store.runs.last(pair.id);
  const mustScan = indexed === 0 || replica.missing || replica.rescan || store.rebuiltFrom !== null || (previous !== null && mustRescan(previous));
  const scan = mustScan || (cfg.full && !scope.dirs);
  // A run that queued behind another (--wait) counts again: that one may have changed the index.
  const s = newRunState(cfg, deps, pair?.id ?? -1, runId, cfg.wait && pair ? store.entries.count(pair.id) : indexed);
  let result: RunResult = "failed";
  let reason: string | null = null;
  let refused: Refusal = { refused: 0, limit: 0 };
  const summaryOf = (result: RunResult): SyncSummary => ({
    source: cfg.source,
    replica: cfg.replica,
    run: runId,
    trigger: deps.trigger,
    dryRun: cfg.dryRun,
    full: scan,
    result,
    startedAt: new Date(started).toISOString(),
    durationMs: now() - started,
    counts: s.counts,
    bytes: s.bytes,
    errors: s.errors,
    skippedNames: s.skippedNames,
    ...(cfg.dryRun ? { plan: s.plan } : {}),
  });
  try {
    const root = statEntry(cfg.source, "")!;
    refused = scope.dirs && !scan ? await walkDirs(s, root, scope.dirs) : await walkAndApply(s, root, scan);
    result = refused.refused > 0 ? "refused" : s.errors.length > 0 ? "partial" : "ok";
    if (refused.refused > 0) reason = limitMessage(refused);
  } catch (err) {
    result = !(err instanceof SynchroError) ? "failed" : err.code === "ABORTED" ? "aborted" : err.exitCode === 3 ? "refused" : "failed";
    reason = err instanceof SynchroError ? err.message : `unexpected error: ${(err as Error)?.message ?? String(err)}`;
    if (err instanceof SynchroError) {
      err.data.run = runId;
      // A stopped or refused run still made what it made: its summary goes with the error, so
      // that a session's total (Ctrl+C in an --interval loop, or watch) counts it.
      err.data.summary ??= summaryOf(result);
    }
    throw err;
  } finally {
    s.dirs?.close();
    finishRun(cfg, deps, s, runId, { result, reason }, scan);
  }
  return { summary: summaryOf(result), refused };
}

function finishRun(cfg: RunConfig, deps: RunDeps, s: ReturnType<typeof newRunState>, runId: number | null, end: { result: RunResult; reason: string | null }, scan: boolean): void {
  const { store, now } = deps;
  store.commit();
  if (runId === null) return;
  store.runs.finish(runId, now(), end.result, s.counts, s.bytes, s.errors.length, scan, end.reason);
  store.ops.prune(now() - cfg.historyDays * 86_400_000);
  // Pruning old versions is housekeeping: its failure must not turn a good run into a failed one.
  if (cfg.keepDays !== null) {
    try {
      const n = pruneBackups(s, cfg.keepDays);
      const days = `${cfg.keepDays} day${cfg.keepDays === 1 ? "" : "s"}`;
      if (n > 0) deps.logger.info(printable(`pruned ${n} old version folder${n === 1 ? "" : "s"} from ${cfg.backupDir} (older than ${days})`));
    } catch (err) {
      deps.logger.warn(printable(`could not prune old versions in ${cfg.backupDir}: ${(err as Error).message}`));
    }
  }
}
