import { SynchroError, errnoOf } from "./errors.ts";
import { printable } from "./printable.ts";
import { loadHasher } from "./hash.ts";
import { inodeAndCtime, listDir, statEntry, type Entry, type Kind, type Listing } from "./walk.ts";
import { planDir, joinPath, sameMtime } from "./plan.ts";
import { isRealDir, isTempName, removeEmptyDir, removeTree, setMeta } from "./apply.ts";
import { applyAction, canStage, discardCopies, ensureReplicaDir, placeCopy, startCopy, type Subdir } from "./actions.ts";
import { afterQueued, placeQueued, queueCopy, takeQueuedCopies } from "./place-queue.ts";
import { stageMin, startStager } from "./stager.ts";
import { drainDir, landingInto } from "./placing.ts";
import { listingPrints, matchesIndex, listingDigest } from "./digest.ts";
import { staleRows, track, walked } from "./redigest.ts";
import { diffListing, readChanged, storedPrints, type Changed } from "./changed-entries.ts";
import { notePlanned } from "./progress.ts";
import { baseName, dstAbs, dstDir, failed, maybeYield, putRow, record, removeRow, srcAbs, turnDue, type RunState } from "./run.ts";

/**
 * One source directory at a time: list it (or take the walk-ahead worker's listing), plan it
 * against the index (or the replica, on a scan) unless its digest vouches for it, apply the
 * plan, walk into its subdirectories, and settle its own mode and mtime.
 */

/** Actions that write a replica entry (or may, for a check). */
const WRITES = new Set(["create", "update", "symlink", "mkdir", "meta", "check"]);

/**
 * One action that failed: a source entry that vanished is info (its row stays, so the next run
 * deletes its copy); anything else an error of the run. A stop goes on up. `staleRow` is the
 * path's row on a scan, where the replica may not hold what it says: a write that failed there
 * must not leave it claiming so, or the next run, trusting the index, would skip the path.
 */
function actionFailed(s: RunState, path: string, err: unknown, staleRow?: Kind): void {
  if (err instanceof SynchroError && err.code === "ABORTED") throw err;
  if (errnoOf(err) === "ENOENT" && !statEntry(srcAbs(s, path), baseName(path))) {
    s.deps.logger.info(`${printable(path)}: vanished from the source during the run`);
    return;
  }
  failed(s, path, err);
  if (staleRow) removeRow(s, path, staleRow);
}

/** Starts the stage worker once a full walk has planned enough copies to repay its start-up. */
async function considerStager(s: RunState): Promise<void> {
  if (!s.mayStage || s.progress.plannedFiles < stageMin()) return;
  s.mayStage = false;
  s.stager = startStager();
  if (stageMin() === 0) await s.stager?.started;
}

/**
 * A walk from `dir` at the top of a run: everything it queued is placed before it returns, and
 * after a stop or a failure discarded, so that no copy stays behind as a temporary file.
 */
export async function syncFrom(s: RunState, dir: string, dirEntry: Entry, scan: boolean, theirs: Entry | null = null, deep = true): Promise<void> {
  try {
    await syncDir(s, dir, dirEntry, scan, theirs, deep);
    await placeQueued(s);
  } finally {
    await discardCopies(s, takeQueuedCopies(s));
  }
}

/**
 * Walks one source directory, and everything below it when `deep`. `scan` means the replica is
 * listed, not trusted from the index. A shallow walk (a watch batch) still walks new, renamed and
 * replaced subdirectories in full, and an existing one whose own mode or mtime changed, shallowly.
 */
async function syncDir(s: RunState, dir: string, dirEntry: Entry, scan: boolean, theirs: Entry | null = null, deep = true): Promise<void> {
  s.walked?.set(dir, deep);
  const ahead = s.ahead?.owns(dir) ? await s.ahead.take(dir) : null;
  if (ahead?.clean && !scan) return walkUnchanged(s, dir, dirEntry, ahead.subdirs, ahead.count, deep);
  if (ahead && "changes" in ahead && !scan) {
    // The worker found which entries changed; unless a gone entry needs the whole listing, that is enough.
    const changed = readChanged(s, dir, ahead.changes);
    if (changed) return planAndApply(s, dir, dirEntry, scan, theirs, deep, { digest: ahead.digest, listing: null, changed });
  }
  const listing = ahead && "listing" in ahead ? ahead.listing : listDir(srcAbs(s, dir), s.replicaId, s.home);
  if (listing.error?.code === "ENOENT" || listing.error?.code === "ENOTDIR") {
    // Gone between its parent's listing and now: like a vanished file, info and exit 0. A replica
    // dir this run just made is empty and goes now; anything older waits for the deferred deletes.
    s.deps.logger.info(`${printable(dir)}: vanished from the source during the run`);
    s.vanishedDirs++;
    const indexed = s.deps.store.entries.get(s.pair, dir) !== null;
    if (!indexed && !s.cfg.dryRun && removeEmptyDir(dstAbs(s, dir))) {
      s.dirs?.forget(dir);
      record(s, "rmdir", dir, null);
    }
    else s.pendingDeletes.push({ path: dir, kind: "dir", indexed, after: s.renamedAway.size });
    return;
  }
  if (listing.error) {
    // Unreadable is not empty: nothing below it is planned, so nothing there is deleted.
    failed(s, dir || ".", Object.assign(new Error(listing.error.message), { code: listing.error.code, path: srcAbs(s, dir) }));
    return;
  }
  reportSkipped(s, dir, listing);
  const digest = s.pair < 0 || listing.skipped.length > 0 ? null : ahead && "listing" in ahead ? ahead.digest : listingDigest(s.salt, listing.entries);
  if (!scan && digest !== null && s.digests?.get(dir) === digest) return walkUnchanged(s, dir, dirEntry, listing.entries, listing.entries.length, deep);
  // Not again where the worker's diff already fell short: that listing has a gone entry.
  const retry = ahead !== null && "changes" in ahead;
  const diff = !scan && !retry && digest !== null && s.digests?.has(dir) ? diffListing(s.salt, listing.entries, storedPrints(s).get(dir)) : null;
  const changed = diff ? readChanged(s, dir, diff) : null;
  return planAndApply(s, dir, dirEntry, scan, theirs, deep, { digest, listing, changed });
}

/** A directory to plan: its listing, or (`changed`) only what changed in it since its rows last held the listing. */
interface ToPlan {
  digest: string | null;
  listing: Listing | null;
  changed: Changed | null;
}

/** Plans one directory against the index (or the replica, on a scan), applies the plan, then walks into its subdirectories. */
async function planAndApply(s: RunState, dir: string, dirEntry: Entry, scan: boolean, theirs: Entry | null, deep: boolean, what: ToPlan): Promise<void> {
  const { digest, listing, changed } = what;
  const keep = new Set(listing?.skipped.filter((k) => k.reason !== "vanished").map((k) => k.name));
  const replica = scan ? listReplica(s, dir) : null;
  // Against the replica, whole rows: their replica inode and ctime say which files synchro did not write.
  const index = changed ? changed.rows : s.pair < 0 ? [] : scan ? s.deps.store.entries.listDir(s.pair, dir) : s.deps.store.entries.listFacts(s.pair, dir);
  noteDigest(s, dir, listing?.entries ?? [], index, digest, changed);
  const source = changed ? changed.changed : listing!.entries;
  const actions = planDir({ dir, source, index, replica, checksum: s.cfg.checksum, isExcluded: s.cfg.isExcluded });
  notePlanned(s, changed ? changed.count : source.length, actions);
  await considerStager(s);
  const replicaByName = replica ? new Map(replica.map((e) => [e.name, e])) : null;
  // On a scan, the row of an entry whose write failed may claim what the replica does not hold.
  const staleRow = (path: string): Kind | undefined => {
    if (!scan || s.cfg.dryRun) return undefined;
    const name = baseName(path);
    return index.find((r) => r.name === name)?.kind;
  };
  const subdirs: Subdir[] = [];
  // Content hashes (WebAssembly, 15 ms to load) only where something is to be done: a no-op never loads them.
  if (actions.length > 0) await loadHasher();
  for (const action of actions) {
    if (turnDue(s)) await maybeYield(s, action.path);
    const name = baseName(action.path);
    try {
      if (action.op === "delete") {
        if (!keep.has(name)) s.pendingDeletes.push({ path: action.path, kind: action.kind, indexed: !scan, after: s.renamedAway.size });
        continue;
      }
      if (action.op === "forget") {
        if (!s.cfg.dryRun) removeRow(s, action.path, action.kind);
        continue;
      }
      if (canStage(s, action)) {
        const copy = await startCopy(s, action, scan);
        if (copy) await queueCopy(s, copy, () => placeCopy(s, copy).catch((err) => actionFailed(s, action.path, err, staleRow(action.path))));
        continue;
      }
      const sub = await applyAction(s, action, scan, replicaByName?.get(name) ?? null);
      if (sub) subdirs.push(sub);
    } catch (err) {
      actionFailed(s, action.path, err, WRITES.has(action.op) ? staleRow(action.path) : undefined);
    }
  }
  // This directory's last copies go to the worker now, not once the queue next waits on it.
  s.stager?.flush();
  const rows = deep ? null : new Map(index.map((r) => [r.name, r]));
  // Depth first in name order, planned and unchanged subdirectories alike: the walk-ahead worker listed them so.
  const next: [string, () => Promise<void>][] = subdirs.map((sub) => [baseName(sub.path), () => walkPlanned(s, sub, rows, deep)]);
  for (const e of changed?.unchangedDirs ?? []) next.push([e.name, () => descendUnchanged(s, joinPath(dir, e.name), e, deep)]);
  if (changed) next.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [, walk] of next) await walk();
  await settleLater(s, dir, dirEntry, theirs);
}

/** A planned directory's settle, behind its queued copies; made out here so that it holds none of the plan's state. */
function settleLater(s: RunState, dir: string, dirEntry: Entry, theirs: Entry | null): Promise<void> {
  return afterQueued(s, dir, async () => {
    if (s.tracked.has(dir)) walked(s, dir, s.placings !== null && landingInto(s.placings, dir));
    if (dir !== "") await finishDir(s, dir, dirEntry, theirs);
  });
}


/** Walks into a subdirectory its parent planned: made, replaced or changed. */
async function walkPlanned(s: RunState, sub: Subdir, rows: Map<string, Entry> | null, deep: boolean): Promise<void> {
  // A later action in the parent moved the replica's copy away (its old inode was renamed in the
  // source, and a new directory took the name): make it again and fill it from scratch.
  if (s.renamedAway.has(sub.path) && !s.cfg.dryRun) {
    try {
      if (!ensureReplicaDir(s, sub.path, null)) sub = { ...sub, scan: true, fresh: true, theirs: null };
    } catch (err) {
      failed(s, sub.path, err);
      return;
    }
  }
  const row = rows?.get(baseName(sub.path));
  if (deep || sub.fresh || !row || row.ino !== sub.entry.ino) await syncDir(s, sub.path, sub.entry, sub.scan, sub.theirs);
  else if (row.mode !== sub.entry.mode || row.mtime !== sub.entry.mtime) await syncDir(s, sub.path, sub.entry, false, null, false);
}

/**
 * Sets a directory's mode and mtime once its contents are written; a read-only source dir still syncs.
 * On a scan, `theirs` is the replica's directory as listed: a mode or mtime changed there is repaired
 * too. Like every directory settle, silently: rsync -a itself leaves new directories' mtimes a few ms off.
 */
async function finishDir(s: RunState, dir: string, entry: Entry, theirs: Entry | null): Promise<void> {
  if (s.cfg.dryRun) return;
  // A read-only directory's mode would refuse the renames still on their way into it.
  if (s.placings && (entry.mode & 0o200) === 0) await drainDir(s.placings, dir);
  if (s.vouched.delete(dir) && !s.touched.has(dir)) return;
  const drifted = theirs?.kind === "dir" && (theirs.mode !== entry.mode || !sameMtime(theirs.mtime, entry.mtime));
  const row = s.deps.store.entries.get(s.pair, dir);
  const changed = !row || drifted || row.mode !== entry.mode || row.mtime !== entry.mtime || s.touched.has(dir);
  if (changed) {
    try {
      setMeta(dstAbs(s, dir), entry);
      s.touched.delete(dir);
    } catch (err) {
      failed(s, dir, err);
      return;
    }
  }
  if (changed || row.ino !== entry.ino || row.ctime !== entry.ctime) {
    putRow(s, dir, entry, inodeAndCtime(dstAbs(s, dir)));
  }
}

/**
 * A directory whose listing hashes to its stored digest: its rows still match, so planning it
 * would yield only a descend per subdirectory, done here as the descend action does it. A
 * shallow walk goes into none of them (their mode, mtime and inode are unchanged) unless the
 * replica's had to be remade.
 */
async function walkUnchanged(s: RunState, dir: string, dirEntry: Entry, entries: readonly Entry[], count: number, deep: boolean): Promise<void> {
  notePlanned(s, count, []);
  await maybeYield(s, dir);
  for (const e of entries) if (e.kind === "dir") await descendUnchanged(s, joinPath(dir, e.name), e, deep);
  // Not a scan, so there is no replica listing to compare the dir's own meta with.
  if (dir !== "") await afterQueued(s, dir, () => finishDir(s, dir, dirEntry, null));
}

/**
 * Walks into a subdirectory whose entry its parent's digest or prints vouch for: its row holds
 * `e`, so no index read is needed for it. A shallow walk goes in only if the replica's had to be remade.
 */
async function descendUnchanged(s: RunState, path: string, e: Entry, deep: boolean): Promise<void> {
  if (s.cfg.isExcluded(path, "dir")) return;
  let remade: boolean;
  try {
    remade = !ensureReplicaDir(s, path, null, e.mode);
  } catch (err) {
    // As on the planned path: one replica dir that cannot be repaired is an error, not the end of the run.
    failed(s, path, err);
    return;
  }
  if (!deep && !remade) return;
  s.vouched.add(path);
  await syncDir(s, path, e, remade);
}

/**
 * Keeps a directory's digest while its rows match its listing; drops it before any of them
 * changes, and follows the rows so that the digest comes back once they match again.
 */
function noteDigest(s: RunState, dir: string, entries: readonly Entry[], index: Entry[], digest: string | null, changed: Changed | null): void {
  if (s.cfg.dryRun || s.pair < 0 || digest === null) {
    if (!s.cfg.dryRun && s.pair >= 0) s.deps.store.write(() => s.deps.store.entries.setDigest(s.pair, dir, null));
    return;
  }
  if (changed) {
    s.deps.store.write(() => s.deps.store.entries.setDigest(s.pair, dir, null));
    track(s, dir, digest, changed.prints, changed.changed, []);
    return;
  }
  const prints = listingPrints(s.salt, entries);
  if (matchesIndex(dir, entries, index, s.cfg.isExcluded)) {
    s.deps.store.write(() => s.deps.store.entries.setDigest(s.pair, dir, digest, prints));
    return;
  }
  s.deps.store.write(() => s.deps.store.entries.setDigest(s.pair, dir, null));
  const { stale, gone } = staleRows(dir, entries, index, s.cfg.isExcluded);
  track(s, dir, digest, prints, stale, gone);
}

function reportSkipped(s: RunState, dir: string, listing: Listing): void {
  for (const k of listing.skipped) {
    const path = joinPath(dir, k.name);
    if (k.reason === "special") s.deps.logger.warn(`${printable(path)}: special file (fifo, socket or device) skipped`);
    else if (k.reason === "vanished") s.deps.logger.info(`${printable(path)}: vanished from the source during the run`);
    else if (k.reason === "replica") s.deps.logger.warn(`${printable(path)}: is the replica itself (a mount inside the source); skipped, with everything in it`);
    else if (k.reason === "undecodable") skippedName(s, dir, k.shown!);
    else failed(s, path, Object.assign(new Error(`cannot read (${k.error})`), { code: k.error, path: srcAbs(s, path) }));
  }
}

/**
 * A name that is not valid UTF-8 cannot be opened from this runtime's text paths: a warning, not
 * an error, so that one such name does not block every run's deletions. Its listing keeps it
 * (planAndApply's `keep`), so the replica's entry of the same name is never deleted.
 */
function skippedName(s: RunState, dir: string, shown: string): void {
  const path = dir === "" ? shown : `${printable(dir)}/${shown}`;
  s.deps.logger.warn(`${path}: the name is not valid UTF-8, which synchro cannot copy yet; skipped, and left alone in the replica`);
  s.skippedNames.push(path);
}

/** Lists the replica side of a directory, removing temporary files a crashed run left behind. */
function listReplica(s: RunState, dir: string): Entry[] {
  // A dry run made no directory: where a file or a link stands, the run would make a new, empty one.
  if (s.cfg.dryRun && dir !== "" && !isRealDir(dstAbs(s, dir))) return [];
  let at: string;
  try {
    at = dstDir(s, dir);
  } catch (err) {
    // Opened without following links: missing is empty, a link or a file in the way is this directory's error.
    if (errnoOf(err) === "ENOENT") return [];
    throw err;
  }
  const listing = listDir(at);
  if (listing.error) {
    if (listing.error.code === "ENOENT") return [];
    throw Object.assign(new Error(listing.error.message), { code: listing.error.code, path: dstAbs(s, dir) });
  }
  const entries: Entry[] = [];
  for (const e of listing.entries) {
    if (e.kind === "file" && isTempName(e.name)) {
      if (!s.cfg.dryRun) {
        removeTree(dstAbs(s, joinPath(dir, e.name)), joinPath(dir, e.name), () => {});
        // The unlink moved the dir's mtime, which the index may already think is right.
        s.touched.add(dir);
      }
      continue;
    }
    entries.push(e);
  }
  s.replicaSeen += entries.length;
  return entries;
}

