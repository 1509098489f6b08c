import { errnoOf } from "./errors.ts";
import { printable } from "./printable.ts";
import { hashFile } from "./hash.ts";
import { inodeAndCtime, statEntry, type Entry, type Kind } from "./walk.ts";
import { sameFileMeta, type Action } from "./plan.ts";
import {
  discardStaged, isRealDir, isSmallFile, makeDir, makeSymlink, makeWritable, placeFile, removeTree, setMeta, SourceChanged, stageFile, type Staged,
} from "./apply.ts";
import { StagerGone } from "./stager.ts";
import { tryRename } from "./renames.ts";
import { moveToBackup } from "./backup.ts";
import type { Replacement } from "./deletes.ts";
import { copyStarted, type CopyProgress } from "./progress.ts";
import { drain, renameLater } from "./placing.ts";
import { placeQueuedOutside } from "./place-queue.ts";
import { dstAbs, dstPlain, failed, holdPath, parentOf, putRow, record, removeRow, srcAbs, type HeldPath, type RunState } from "./run.ts";

/**
 * A copy is tried this often when the source keeps changing under it. The last try keeps what
 * it read, as rsync does: a file that never stops changing (a log being written) still gets a
 * copy, a prefix of it when it is appended to (one rewritten in place may mix old and new).
 */
const COPY_ATTEMPTS = 3;

/**
 * Copies one file, re-reading the source's stat after each try so a file being written is never
 * recorded as synced. One copied as last read is recorded with the stat it had before that read,
 * which it no longer has: the next run copies it again.
 */
async function copyWithRetry(
  s: RunState, path: string, dst: string, entry: Entry, onChunk: (copied: number) => void,
): Promise<{ entry: Entry; staged: Staged } | null> {
  let want = entry;
  for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt++) {
    const last = attempt === COPY_ATTEMPTS;
    try {
      const staged = await stageFile(srcAbs(s, path), dst, want, () => statEntry(srcAbs(s, path), want.name), s.deps.signal, onChunk, last);
      if (!staged.changed) return { entry: want, staged };
      s.deps.logger.warn(`${printable(path)}: kept changing while being copied (${COPY_ATTEMPTS} tries); copied as last read, and again by the next run`);
      return { entry: { ...want, size: staged.changed.size }, staged };
    } catch (err) {
      if (!(err instanceof SourceChanged)) throw err;
      s.deps.logger.debug(`${printable(path)}: changed while being copied (attempt ${attempt} of ${COPY_ATTEMPTS})`);
      const current = statEntry(srcAbs(s, path), want.name);
      if (!current || current.kind !== "file") return null;
      want = current;
    }
  }
  // Only a last try that found no regular file to read (a fifo put in its place) gets here.
  s.deps.logger.warn(`${printable(path)}: kept changing while being copied (${COPY_ATTEMPTS} tries); left for the next run`);
  return null;
}

/**
 * Clears the way for a new entry of another type: a file or a link (a directory in the way waits
 * for the delete phase, see deferReplacement). rename() already replaces a file or a link
 * atomically, so only what stands in the way of a new directory is removed.
 */
function replaceExisting(s: RunState, path: string, replaces: Kind | undefined, creating: Kind): void {
  if (!replaces || s.cfg.dryRun) return;
  if (s.cfg.backupDir) {
    moveToBackup(s, path);
    removeRow(s, path, replaces);
    return;
  }
  if (creating !== "dir") return;
  removeTree(dstAbs(s, path), path, (r) => record(s, r.kind === "dir" ? "rmdir" : "delete", r.path, r.size));
  removeRow(s, path, replaces);
}

/**
 * A file or link where a replica directory stands: the directory goes with the run's other
 * deletions, under one delete limit and never after errors, and its replacement is made then
 * (src/deletes.ts). `indexed` as for any delete: the index, not a replica listing, knows it.
 */
function deferReplacement(s: RunState, action: Replacement, scan: boolean): void {
  s.pendingDeletes.push({ path: action.path, kind: "dir", indexed: !scan, after: s.renamedAway.size, then: { ...action, replaces: undefined } });
}

/** Makes a replacement in the delete phase, once the directory in its way is gone: the run's Replace (src/deletes.ts). */
export async function applyReplacement(s: RunState, action: Replacement): Promise<void> {
  try {
    if (action.op === "create") await copyAction(s, action);
    else symlinkAction(s, action);
  } catch (err) {
    failed(s, action.path, err);
  }
}

type CopyAct = Extract<Action, { op: "create" | "update" }>;

async function copyAction(s: RunState, action: CopyAct): Promise<void> {
  const { path } = action;
  if (s.cfg.dryRun) {
    record(s, action.op, path, action.entry.size);
    return;
  }
  if (action.op === "create") replaceExisting(s, path, action.replaces, "file");
  const progress = copyStarted(s, path, action.entry.size);
  // With --backup-dir an update moves the old file aside only when the new one is complete, so a
  // failed copy leaves the replica's file where the index says it is.
  const backup = action.op === "update" && s.cfg.backupDir ? () => moveToBackup(s, path) : undefined;
  const held = holdPath(s, path);
  let done;
  try {
    done = await copyWithRetry(s, path, held.dst, action.entry, progress.chunk).finally(progress.end);
  } catch (err) {
    held.release();
    throw err;
  }
  if (done) await place(s, action.op, path, done.entry, done.staged, held, backup);
  else held.release();
}

/**
 * Renames a complete copy into place and records it: later, off this thread, when the run allows
 * (src/placing.ts). `held` is its final name in the directory it was staged in, released once
 * the rename has landed or failed.
 */
async function place(s: RunState, op: CopyAct["op"], path: string, entry: Entry, staged: Staged, held: HeldPath, backup?: () => void): Promise<void> {
  const landed = (written: { hash: string | null; rIno: number; rCtime: number }) => {
    s.touched.add(parentOf(path));
    putRow(s, path, entry, written);
    s.bytes += entry.size;
    record(s, op, path, entry.size);
  };
  if (!s.placings || backup) {
    let written;
    try {
      written = placeFile(staged, held.dst, backup);
    } finally {
      held.release();
    }
    landed(written);
    return;
  }
  const started = renameLater(
    s.placings, path, staged, held.dst, op === "update",
    () => {
      let written;
      try {
        written = { hash: staged.hash, ...inodeAndCtime(held.dst) };
      } catch (err) {
        // Gone again the moment it landed (someone else's delete): this path's error, not the run's.
        failed(s, path, err);
        return;
      } finally {
        held.release();
      }
      landed(written);
    },
    (err) => {
      held.release();
      failed(s, path, err);
    },
  );
  // It throws before the rename starts only (an earlier landing's index failure): nothing will release it then.
  await started.catch((err) => {
    held.release();
    throw err;
  });
}

/**
 * Rename detection reads the index and the replica under another path, so the copies queued
 * before this directory and every rename in flight must land first (see placeQueuedOutside);
 * only a create whose inode the index knows can be a rename at all.
 */
async function renameDetected(s: RunState, path: string, entry: Entry): Promise<boolean> {
  if (unplaced(s) && s.pair >= 0 && s.deps.store.entries.byIno(s.pair, entry.ino).length > 0) {
    await placeQueuedOutside(s, parentOf(path));
    if (s.placings) await drain(s.placings);
  }
  return tryRename(s, path, entry);
}

/** Whether a copy is still on its way: queued to be placed, or its rename in flight. */
const unplaced = (s: RunState): boolean => s.queue.items.length > 0 || (s.placings !== null && s.placings.inFlight.size > 0);

/** A copy started ahead of its turn, waiting to be placed: a small file on the stage worker (src/stager.ts), or a large one on libuv's threads. */
export interface PendingCopy {
  action: CopyAct;
  staged: Promise<Staged>;
  /** The directory it is staged in, held until the copy is placed or discarded. */
  held: HeldPath;
  /** A large copy's share of the progress line, until it is placed or discarded. */
  progress?: CopyProgress;
}

/**
 * Whether this action may be copied ahead of its turn: a file's copy with nothing to clear first.
 * Small files go to the stage worker once it is up; large ones run on libuv's threads, several at
 * once. Never on dry runs, nor with --backup-dir, whose old file moves aside just before the rename.
 */
export function canStage(s: RunState, action: Action): action is CopyAct {
  if (action.op !== "update" && (action.op !== "create" || action.replaces)) return false;
  if (isSmallFile(action.entry)) return s.stager?.ready() === true;
  return !s.cfg.dryRun && !s.cfg.backupDir;
}

/**
 * Starts a copy and returns at once; placeCopy finishes it. A create that rename detection
 * serves is renamed here instead (null): until a staged copy is placed, the replica and its
 * index rows are as they were, so the renames see what a sequential run would.
 */
export async function startCopy(s: RunState, action: CopyAct, scan: boolean): Promise<PendingCopy | null> {
  if (action.op === "create" && !scan && (await renameDetected(s, action.path, action.entry))) return null;
  const { path, entry } = action;
  const held = holdPath(s, path);
  if (isSmallFile(entry)) return { action, held, staged: s.stager!.stage(srcAbs(s, path), held.dst, entry) };
  const progress = copyStarted(s, path, entry.size);
  const staged = stageFile(srcAbs(s, path), held.dst, entry, () => statEntry(srcAbs(s, path), entry.name), s.deps.signal, progress.chunk);
  // Awaited only at its turn to be placed: a failure until then is not an unhandled rejection.
  staged.catch(() => {});
  return { action, held, staged, progress };
}

/** Renames a staged copy into place and records it; a source that changed meanwhile is copied again here. */
export async function placeCopy(s: RunState, copy: PendingCopy): Promise<void> {
  s.stager?.flush();
  let staged: Staged;
  try {
    staged = await copy.staged;
  } catch (err) {
    copy.progress?.end();
    copy.held.release();
    if (!(err instanceof SourceChanged) && !(err instanceof StagerGone)) throw err;
    await copyAction(s, copy.action);
    return;
  }
  try {
    await place(s, copy.action.op, copy.action.path, copy.action.entry, staged, copy.held);
  } finally {
    copy.progress?.end();
  }
}

/** A stopped run's staged copies: each is waited for and its temporary file removed, so none is left behind. */
export async function discardCopies(s: RunState, copies: readonly PendingCopy[]): Promise<void> {
  s.stager?.flush();
  await Promise.all(
    copies.map((c) =>
      c.staged
        .then(discardStaged, () => {})
        .finally(() => {
          c.held.release();
          c.progress?.end();
        }),
    ),
  );
}

/** The replica file's content hash, or null when it is not there (removed behind synchro's back): then it is copied again. */
function replicaHash(s: RunState, path: string): string | null {
  try {
    return hashFile(dstAbs(s, path));
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return null;
    throw err;
  }
}

async function checkAction(s: RunState, action: Extract<Action, { op: "check" }>): Promise<void> {
  const { path, entry } = action;
  const row = action.row && s.pair >= 0 ? s.deps.store.entries.get(s.pair, path) : null;
  const sourceHash = hashFile(srcAbs(s, path));
  const known = !action.againstReplica && row?.hash ? row.hash : replicaHash(s, path);
  if (sourceHash !== known) {
    await copyAction(s, { op: "update", path, entry });
    return;
  }
  const modeDiffers = row ? row.mode !== entry.mode : false;
  if (modeDiffers || action.againstReplica) {
    await metaAction(s, path, entry, sourceHash, modeDiffers);
    return;
  }
  putRow(s, path, entry, { hash: sourceHash, rIno: row?.rIno ?? null, rCtime: row?.rCtime ?? null });
}

async function metaAction(s: RunState, path: string, entry: Entry, hash: string | null, announce = true): Promise<void> {
  if (!s.cfg.dryRun) {
    try {
      setMeta(dstAbs(s, path), entry);
    } catch (err) {
      // O_NOFOLLOW met a symlink planted where the file was: replace it with a real copy.
      if (errnoOf(err) !== "ELOOP" || entry.kind !== "file") throw err;
      await copyAction(s, { op: "update", path, entry });
      return;
    }
    putRow(s, path, entry, { hash, ...inodeAndCtime(dstAbs(s, path)) });
  }
  if (announce) record(s, "meta", path, null);
}

function symlinkAction(s: RunState, action: Extract<Action, { op: "symlink" }>): void {
  if (!s.cfg.dryRun) {
    replaceExisting(s, action.path, action.replaces, "symlink");
    putRow(s, action.path, action.entry, makeSymlink(dstAbs(s, action.path), action.entry));
    s.touched.add(parentOf(action.path));
  }
  record(s, "symlink", action.path, null);
}

/**
 * A directory to walk into; `theirs` is the replica's own entry for it, when the replica was listed.
 * `fresh` when the replica had nothing there to trust (made, renamed or remade): walked in full.
 */
export interface Subdir {
  path: string;
  entry: Entry;
  scan: boolean;
  fresh: boolean;
  theirs?: Entry | null;
}

/** Runs one planned action; returns the directory to walk into next, if the action was a directory. */
export async function applyAction(s: RunState, action: Action, scan: boolean, theirs: Entry | null): Promise<Subdir | null> {
  switch (action.op) {
    case "create":
    case "symlink":
    case "mkdir":
      if (action.op !== "mkdir" && action.replaces === "dir") {
        deferReplacement(s, action, scan);
        return null;
      }
      if (!scan && !action.replaces && (await renameDetected(s, action.path, action.entry))) {
        // A dry run moved nothing, so the index has nothing under the new name to compare with.
        return action.op === "mkdir" && !s.cfg.dryRun ? { path: action.path, entry: action.entry, scan: false, fresh: true } : null;
      }
      if (action.op === "create") await copyAction(s, action);
      else if (action.op === "symlink") symlinkAction(s, action);
      else {
        if (!s.cfg.dryRun) {
          replaceExisting(s, action.path, action.replaces, "dir");
          makeDir(dstAbs(s, action.path));
          s.touched.add(parentOf(action.path));
          s.touched.add(action.path);
        }
        record(s, "mkdir", action.path, null);
      }
      // A new dir is empty, but the index may still hold rows for what stood there before
      // (a replaced dir, a link planted in its place): list it, it costs one readdir.
      return action.op === "mkdir" ? { path: action.path, entry: action.entry, scan: true, fresh: true } : null;
    case "update":
      await copyAction(s, action);
      return null;
    case "check":
      await checkAction(s, action);
      return null;
    case "meta":
      await metaAction(s, action.path, action.entry, null);
      return null;
    case "adopt":
    case "refresh": {
      const row = scan ? null : s.deps.store.entries.get(s.pair, action.path);
      const hash = row && sameFileMeta(row, action.entry) ? row.hash : null;
      putRow(s, action.path, action.entry, { hash, rIno: theirs?.ino ?? row?.rIno ?? null, rCtime: theirs?.ctime ?? row?.rCtime ?? null });
      if (action.op === "adopt") s.counts.adopt++;
      return null;
    }
    case "descend": {
      // Called on scans too (no short-circuit): a read-only replica dir must be opened either way.
      const remade = !ensureReplicaDir(s, action.path, theirs);
      return { path: action.path, entry: action.entry, scan: scan || remade, fresh: remade, theirs };
    }
    default:
      return null;
  }
}

/**
 * In index mode the replica dir is trusted, but never blindly: one lstat per directory proves it
 * is a real directory. A symlink planted there is removed (not followed) and the subtree rescanned.
 * Returns false when the replica dir had to be made again, so its contents must be rescanned.
 */
export function ensureReplicaDir(s: RunState, path: string, theirs: Entry | null, indexedMode?: number): boolean {
  // The check only reads: by plain path, so that a walk that writes nothing opens no directory
  // to anchor in (a no-op re-sync checks every directory). What it then writes is anchored.
  if (theirs?.kind === "dir" || isRealDir(dstPlain(s, path))) {
    if (!s.cfg.dryRun) {
      // A read-only directory is opened up for writes below it; finishDir restores its mode.
      // On a scan the replica's own mode counts: a replica made by cp -a has no index rows yet.
      const mode = theirs ? theirs.mode : (indexedMode ?? s.deps.store.entries.get(s.pair, path)?.mode);
      if (mode !== undefined && (mode & 0o200) === 0) {
        makeWritable(dstAbs(s, path), mode);
        s.touched.add(path);
      }
    }
    return true;
  }
  if (s.cfg.dryRun) return false;
  const abs = dstAbs(s, path);
  removeTree(abs, path, (r) => record(s, r.kind === "dir" ? "rmdir" : "delete", r.path, r.size));
  s.dirs?.forget(path);
  makeDir(abs);
  record(s, "mkdir", path, null);
  s.touched.add(path);
  return false;
}
