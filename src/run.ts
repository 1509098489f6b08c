import { SynchroError } from "./errors.ts";
import { printable } from "./printable.ts";
import type { Config } from "./config.ts";
import type { Logger, SyncEvent } from "./events.ts";
import { dirIdOf, sameDir, statEntry, type DirId, type Entry, type Kind } from "./walk.ts";
import { indexRow } from "./plan.ts";
import { isRealDir, makeDir, makeWritable, setMeta } from "./apply.ts";
import { isCorrupt, type Store } from "./store/store.ts";
import type { OpAction } from "./store/ops.ts";
import type { Trigger, RunResult } from "./store/runs.ts";
import { applyDeletes, type PendingDelete } from "./deletes.ts";
import type { Stager } from "./stager.ts";
import { drain, newPlacings, type Placings } from "./placing.ts";
import type { LockSlot } from "./replica/lock.ts";
import { pathOnlyOpenFlag, permissionRefused } from "./runtime.ts";
import { digestSalt } from "./digest.ts";
import { startWalkAhead, type WalkAhead, type WarmWorker } from "./walk-ahead.ts";
import { noteRow, storeSettled, untrack, type Tracked } from "./redigest.ts";
import { syncFrom } from "./sync-dir.ts";
import { applyReplacement } from "./actions.ts";
import { newPlaceQueue, type PlaceQueue } from "./place-queue.ts";
import { storedPrints } from "./changed-entries.ts";
import { emitProgress, newProgress, progressTick, type ProgressState } from "./progress.ts";
import { openReplicaDirs, type ReplicaDirs } from "./replica/dirs.ts";
import { dstAbs } from "./replica/paths.ts";

export { dstAbs, dstDir, dstPlain, holdPath, type HeldPath } from "./replica/paths.ts";

export interface RunDeps {
  store: Store;
  logger: Logger;
  now: () => number;
  trigger: Trigger;
  onEvent?: (event: SyncEvent) => void;
  signal?: AbortSignal;
  /** A walk-ahead worker the session started early; the first full walk takes it. */
  warm?: WarmWorker | null;
  /** See Effects.ownsProcess. */
  ownsProcess?: boolean;
  /** Where a session keeps the replica's lock between runs (see RunScope.keepLock). */
  lockSlot?: LockSlot;
}

export type Counts = Record<OpAction | "adopt", number>;

export interface SyncSummary {
  source: string;
  replica: string;
  run: number | null;
  trigger: Trigger;
  dryRun: boolean;
  full: boolean;
  result: RunResult;
  startedAt: string;
  durationMs: number;
  counts: Counts;
  bytes: number;
  errors: { path: string; error: string }[];
  /**
   * Source names that are not valid UTF-8, which the runtime cannot open: each a warning, escaped
   * as in log lines (`\xNN` for each byte that is not UTF-8). Neither copied nor, in the replica,
   * deleted; they do not make a run partial.
   */
  skippedNames: string[];
  /** On --dry-run: the itemized plan, one action per path. */
  plan?: { action: OpAction; path: string; size: number | null; from?: string }[];
}

/** What a run did to the replica: every operation but adoptions (files found already in place). */
export const operationsIn = (summary: { counts: Counts }): number =>
  Object.entries(summary.counts).reduce((n, [k, v]) => (k === "adopt" ? n : n + v), 0);

export const emptyCounts = (): Counts => ({ create: 0, update: 0, delete: 0, mkdir: 0, rmdir: 0, symlink: 0, meta: 0, rename: 0, backup: 0, error: 0, adopt: 0 });

/**
 * V8 runs steps of its garbage collection as tasks between event-loop turns. Since copies are
 * queued across directories (src/place-queue.ts) the main thread of a first copy seldom waits,
 * so the loop turned only at each yield: at every 20 ms a first copy of 100k small files peaked
 * at 142-147 MiB of RSS, at every 5 ms 130-134 MiB, as before the queue. So the loop turns this
 * often (which also keeps Ctrl+C prompt). The index commits at a turn only once its transaction
 * is as old as the store's own rule for writes: committing at every 20 ms yield, a first copy of
 * 100k small files wrote the same hot pages to the WAL about 12 times as often (318 ms of the
 * main thread in a profile on ext4) and took 1.05-1.11 × rsync's time against 1.01-1.05.
 */
const TURN_EVERY_MS = 5;

/** Mutable state of one run, threaded through the walk. */
export interface RunState {
  cfg: Config;
  deps: RunDeps;
  pair: number;
  runId: number | null;
  counts: Counts;
  bytes: number;
  errors: { path: string; error: string }[];
  skippedNames: string[];
  plan: NonNullable<SyncSummary["plan"]>;
  pendingDeletes: PendingDelete[];
  /** Replica paths whose entry a rename moved elsewhere this run, each with its rename's number (1, 2, ...). */
  renamedAway: Map<string, number>;
  /** Replica dirs whose mtime our own writes disturbed; reset after the run's last write. */
  touched: Set<string>;
  backupStamp: string;
  lastTurn: number;
  /** How many entries the replica held before this run: the base of a percentage delete limit. */
  replicaEntries: number;
  replicaSeen: number;
  progress: ProgressState;
  /** On a targeted (watch) run: each directory walked, true when its whole subtree was. */
  walked: Map<string, boolean> | null;
  /** Directories entered from a parent that matched its digest: their index row is known to match. */
  vouched: Set<string>;
  /** Salts every listing digest: see src/digest.ts. */
  salt: string;
  /** The stored listing digests, when this run may trust them (not on --checksum). */
  digests: Map<string, string> | null;
  /** The prints stored with them, read when first needed (src/changed-entries.ts). */
  prints: Map<string, Uint8Array> | null;
  /** Directories planned from their changed entries alone, for --verbose. */
  plannedInPart: number;
  /** A worker listing part of the tree on the other core, during a full-tree walk. */
  ahead: WalkAhead | null;
  /** A worker staging small copies on the other core (src/stager.ts); a full walk (`mayStage`) starts it once it has planned enough copies. */
  stager: Stager | null;
  mayStage: boolean;
  /** Final renames of copies in flight on libuv's threads (src/placing.ts); null where every rename is made in place. */
  placings: Placings | null;
  /** Copies started ahead of their turn and the directory settles behind them, in walk order (src/place-queue.ts). */
  queue: PlaceQueue;
  /** Directories this run planned and is bringing back to match their listing (src/redigest.ts). */
  tracked: Map<string, Tracked>;
  /** Where the source walk returns to when it lists from inside a directory (see listDir), or null not to. */
  home: string | null;
  /** Replica directories opened without following links, through which every write goes (src/replica/dirs.ts); null on a dry run, which writes nothing. */
  dirs: ReplicaDirs | null;
  /** The source root's device and inode when the run started: another file system mounted there, or none, is not the source the walk listed. */
  sourceId: DirId | null;
  /** Source directories a parent listed that were gone when the walk came to them. */
  vanishedDirs: number;
  /** Why this run's deletions wait for the next run, if they do. */
  deferDeletes: string | null;
  /** The replica root's identity, which the source walk never enters (see listDir); null while there is none. */
  replicaId: DirId | null;
}

export const srcAbs = (s: RunState, path: string): string => (path === "" ? s.cfg.source : `${s.cfg.source}/${path}`);
export const baseName = (path: string): string => path.slice(path.lastIndexOf("/") + 1);
export const parentOf = (path: string): string => {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
};

/**
 * Deletes and renames can land in a directory whose walk is over and whose read-only mode is
 * already back; as non-root the unlink is then refused. Open it again for this run:
 * settleTouchedDirs puts its mode and mtime back at the end.
 */
export function openParent(s: RunState, path: string): void {
  if (s.cfg.dryRun) return;
  const dir = parentOf(path);
  const current = statEntry(dstAbs(s, dir), "");
  if (!current || current.kind !== "dir" || (current.mode & 0o200) !== 0) return;
  makeWritable(dstAbs(s, dir), current.mode);
  s.touched.add(dir);
}

export function record(s: RunState, action: OpAction, path: string, size: number | null, extra: { from?: string; error?: string } = {}): void {
  s.counts[action]++;
  if (s.cfg.dryRun) {
    s.plan.push({ action, path, size, ...(extra.from ? { from: extra.from } : {}) });
    s.deps.onEvent?.({ type: "plan", action, path, size, ...extra });
    return;
  }
  if (action === "error") {
    s.errors.push({ path, error: extra.error ?? "unknown error" });
    s.tracked.delete(parentOf(path));
    s.tracked.delete(path);
  }
  if (s.runId !== null) {
    const op = { run: s.runId, time: s.deps.now(), action, path, size, from: extra.from ?? null, error: extra.error ?? null };
    s.deps.store.write(() => s.deps.store.ops.add(op));
  }
  s.deps.onEvent?.({ type: "op", action, path, size, ...extra });
}

export function putRow(s: RunState, path: string, entry: Entry, written: { hash?: string | null; rIno?: number | null; rCtime?: number | null }): void {
  if (s.cfg.dryRun) return;
  const row = indexRow(entry, written.hash ?? null, written.rIno ?? null, written.rCtime ?? null);
  s.deps.store.write(() => s.deps.store.entries.put(s.pair, path, row));
  noteRow(s, parentOf(path), baseName(path), entry);
}

/** Removes a path's row and, for a directory, every row beneath it. */
export function removeRow(s: RunState, path: string, kind: Kind): void {
  s.deps.store.write(() => s.deps.store.entries.remove(s.pair, path));
  noteRow(s, parentOf(path), baseName(path), null);
  // Only a directory has rows beneath it; untrack looks at every followed directory.
  if (kind === "dir") untrack(s, path);
}

/**
 * Errors only a write raises. synchro never writes the source, so they are the replica's whatever
 * path the error names: a kernel copy (fs.copyFile) that fills the replica's disk names the source
 * file as its `path` and the replica's as its `dest`.
 */
const WRITE_ERRORS = new Set(["ENOSPC", "EDQUOT", "EROFS", "EFBIG"]);

/** Which side a failing call touched: the replica for a write error, else the side of the path it names. */
function sideOf(s: RunState, e: { code?: string; path?: string }): string {
  if (e.code && WRITE_ERRORS.has(e.code)) return "writing replica";
  return typeof e.path === "string" && e.path.startsWith(s.cfg.source + "/") ? "reading source" : "writing replica";
}

/** An fs error as one line: its side, and its message with the names in it escaped (see printable). */
function describe(s: RunState, err: unknown): string {
  if (err instanceof SynchroError) return err.message;
  const e = err as { code?: string; path?: string; message?: string };
  return printable(e.code ? `${sideOf(s, e)}: ${e.message}` : String(e.message ?? err));
}

/** Whether the loop is due a turn: checked before awaiting maybeYield where it runs once a file, as an async call costs a promise even when it returns at once. */
export const turnDue = (s: RunState): boolean => s.deps.now() - s.lastTurn >= TURN_EVERY_MS;

export async function maybeYield(s: RunState, path: string): Promise<void> {
  if (!turnDue(s)) return;
  s.deps.store.commitIfDue();
  progressTick(s, path);
  await new Promise((r) => setImmediate(r));
  s.lastTurn = s.deps.now();
  if (s.deps.signal?.aborted) throw new SynchroError("ABORTED", "interrupted");
}

export function failed(s: RunState, path: string, err: unknown): void {
  const refused = permissionRefused(err);
  if (refused) throw refused;
  // A corrupt page met mid-run: the index must not be stamped clean, so the next open checks it.
  if (isCorrupt(err)) s.deps.store.distrust();
  const message = describe(s, err);
  s.deps.logger.error(`${printable(path)}: ${message}`);
  record(s, "error", path, null, { error: message });
}

/**
 * Node options that name no file, the only ones under which the walk may list from inside a
 * directory: a worker that starts meanwhile resolves a relative --require from there, and
 * diagnostics (reports, profiles, heap snapshots) are written there.
 */
const FILELESS_OPTION = /^(?:--(?:max-semi-space-size|max-old-space-size|stack-size|no-warnings|no-deprecation|enable-source-maps|expose-gc)(?:=\S*)?|\d+)$/;

/** Where the walk returns to after listing from inside a directory, or null when it must not (see listDir). */
function walkHome(deps: RunDeps): string | null {
  if (!deps.ownsProcess) return null;
  const options = [...(process.env.NODE_OPTIONS ?? "").split(/\s+/).filter(Boolean), ...process.execArgv];
  if (!options.every((o) => FILELESS_OPTION.test(o))) return null;
  try {
    return process.cwd();
  } catch {
    // The working directory is gone: list by full paths.
    return null;
  }
}

/**
 * Before any deletion: is the source still the one the walk started in? A disk unmounted during
 * the run leaves its empty mount point (another device) or nothing, and the directories not yet
 * walked read as gone: mirroring that would delete them from the replica. Refused like a source
 * that vanished before the run. A directory that vanished under a source that is still there
 * (someone deleted it meanwhile) only puts this run's deletions off, as rclone does after errors.
 */
function checkSourceStill(s: RunState): void {
  const now = dirIdOf(s.cfg.source);
  if (now === null || s.sourceId === null || !sameDir(now, s.sourceId)) {
    throw new SynchroError("SOURCE_VANISHED", `source ${s.cfg.source} is gone or another file system was mounted there during the run; is a disk unmounted? Nothing was deleted`);
  }
  if (s.vanishedDirs > 0) s.deferDeletes = `${s.vanishedDirs} source director${s.vanishedDirs === 1 ? "y" : "ies"} vanished during the run`;
}

/** `indexed` is the index's entry count for the pair, which the caller has already read (a count walks every row). */
export function newRunState(cfg: Config, deps: RunDeps, pair: number, runId: number | null, indexed: number): RunState {
  const stamp = new Date(deps.now()).toISOString().replace(/[:.]/g, "-");
  return {
    cfg, deps, pair, runId, counts: emptyCounts(), bytes: 0, errors: [], skippedNames: [], plan: [], pendingDeletes: [],
    renamedAway: new Map(), touched: new Set(), backupStamp: stamp, lastTurn: deps.now(),
    replicaEntries: indexed,
    replicaSeen: 0,
    progress: newProgress(deps.now(), indexed),
    walked: null,
    vouched: new Set(),
    salt: digestSalt(cfg.excludes),
    digests: pair < 0 || cfg.checksum ? null : deps.store.entries.digests(pair),
    prints: null,
    plannedInPart: 0,
    ahead: null,
    stager: null,
    mayStage: false,
    placings: null,
    queue: newPlaceQueue(),
    tracked: new Map(),
    home: walkHome(deps),
    dirs: cfg.dryRun ? null : openReplicaDirs(cfg.replica),
    sourceId: dirIdOf(cfg.source),
    vanishedDirs: 0,
    deferDeletes: null,
    replicaId: dirIdOf(cfg.replica),
  };
}

/**
 * A read-only source root gives a read-only replica root, and as non-root no update can then be
 * renamed into it: open it for this run, as ensureReplicaDir does below. settleTouchedDirs puts
 * its mode back at the end.
 */
export function openReplicaRoot(s: RunState): void {
  if (s.cfg.dryRun) return;
  const root = statEntry(s.cfg.replica, "");
  if (root?.kind !== "dir" || (root.mode & 0o200) !== 0) return;
  makeWritable(s.cfg.replica, root.mode);
  s.touched.add("");
}

/** Walks the source from the root, planning against the index (or the replica on a scan), then deletes last. */
export async function walkAndApply(s: RunState, rootEntry: Entry, scan: boolean): Promise<{ refused: number; limit: number }> {
  emitProgress(s, "");
  if (!s.cfg.dryRun && !isRealDir(s.cfg.replica)) {
    makeDir(s.cfg.replica);
    s.touched.add("");
    s.replicaId = dirIdOf(s.cfg.replica);
  }
  openReplicaRoot(s);
  const { cfg } = s;
  s.ahead = scan || !s.digests ? null : startWalkAhead({ ...cfg, salt: s.salt, digests: s.digests, prints: () => storedPrints(s), indexed: s.replicaEntries, warm: s.deps.warm ?? null, avoid: s.replicaId });
  // --backup-dir moves each old file aside just before its rename: that stays on this thread.
  s.mayStage = !cfg.dryRun && !cfg.backupDir;
  // Not on a scan: there a check may read a replica file whose rename is still in flight.
  s.placings = scan || cfg.dryRun || cfg.backupDir ? null : newPlacings(pathOnlyOpenFlag(cfg.replica));
  try {
    await syncFrom(s, "", rootEntry, scan);
  } finally {
    try {
      // Even on a stop or a failure: what has been renamed is recorded before the run ends.
      if (s.placings) await drain(s.placings);
    } finally {
      s.placings = null;
      const { ahead, stager } = s;
      s.ahead = null;
      s.stager = null;
      s.mayStage = false;
      // Closed before anything is logged: a worker left open keeps the process alive, and a
      // caller's logger may throw.
      ahead?.close();
      stager?.close();
      if (ahead) s.deps.logger.debug(ahead.summary());
      const n = s.plannedInPart;
      if (n > 0) s.deps.logger.debug(`${n} changed director${n === 1 ? "y was" : "ies were"} planned from their changed entries alone`);
      if (stager) s.deps.logger.debug(stager.summary());
    }
  }
  return finishWalk(s, rootEntry, scan);
}

/** After the walk: the root's own meta, deletes last, then directory times our writes disturbed. */
export async function finishWalk(s: RunState, rootEntry: Entry, scan: boolean): Promise<{ refused: number; limit: number }> {
  if (!s.cfg.dryRun) {
    const root = statEntry(s.cfg.replica, "");
    if (root && (root.mode !== rootEntry.mode || root.mtime !== rootEntry.mtime)) s.touched.add("");
  }
  if (scan) s.replicaEntries = Math.max(s.replicaEntries, s.replicaSeen);
  // What the walk wrote is committed, and a stop that came in during the last copies heard, before any delete.
  s.deps.store.commit();
  s.lastTurn = -Infinity;
  await maybeYield(s, "");
  checkSourceStill(s);
  const outcome = await applyDeletes(s, applyReplacement);
  if (!s.cfg.dryRun) storeSettled(s);
  settleTouchedDirs(s, rootEntry);
  emitProgress(s, "", true);
  return outcome;
}

/** Deletes, renames and late writes disturb directory mtimes after their own finish; put them back. */
function settleTouchedDirs(s: RunState, rootEntry: Entry): void {
  if (s.cfg.dryRun) return;
  for (const dir of s.touched) {
    const entry = dir === "" ? rootEntry : s.deps.store.entries.get(s.pair, dir);
    if (!entry || !isRealDir(dstAbs(s, dir))) continue;
    try {
      setMeta(dstAbs(s, dir), entry);
    } catch (err) {
      failed(s, dir || ".", err);
    }
  }
  s.touched.clear();
}
