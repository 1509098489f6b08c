import {
  chmodSync, closeSync, constants, copyFileSync, fchmodSync, fstatSync, futimesSync, lstatSync, lutimesSync, mkdirSync,
  openSync, read, readSync, readdirSync, readlinkSync, renameSync, rmdirSync, symlinkSync, unlinkSync, utimesSync, write, writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { SynchroError, errnoOf } from "./errors.ts";
import { hashBuffer, newHasher } from "./hash.ts";
import { entryFromStats, existsQuiet, inodeAndCtime, mtimeOf, type Entry, type Kind } from "./walk.ts";
import { fdPath } from "./replica/dirs.ts";

/**
 * The only module that writes the replica. Every file lands under a temporary name in its
 * own directory and is renamed into place; nothing here follows a symlink found in the replica.
 */
const TEMP_PREFIX = ".synchro-";
const TEMP_SUFFIX = ".tmp";
export const isTempName = (name: string): boolean => name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX);
/**
 * Unique per process and per file: a random prefix drawn once plus a counter. A randomBytes()
 * call per file cost 7.7 µs of a 220 µs copy; O_EXCL still refuses any name that exists.
 */
const TEMP_RUN = randomBytes(4).toString("hex");
let tempCount = 0;
const tempPathIn = (dirAbs: string): string => `${dirAbs}/${TEMP_PREFIX}${TEMP_RUN}${(tempCount++).toString(36)}${TEMP_SUFFIX}`;

/** Files up to this size are read whole, hashed and written in one go; larger ones are copied by chunks. */
const SMALL_FILE = 1 << 20;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;

export interface Written {
  hash: string | null;
  rIno: number;
  rCtime: number;
}

export class SourceChanged extends Error {}

/**
 * utimes takes double seconds, about 0.24 µs apart at today's epoch, and libuv truncates them to
 * whole microseconds: aiming at the middle of the microsecond keeps it from landing one below.
 */
const seconds = (micros: number): number | Date => (micros < 0 ? beforeEpoch(micros) : (micros + 0.5) / 1e6);
/** Node's utimes takes a negative number of seconds to mean "now"; a Date (ms precision) is taken as is. */
const beforeEpoch = (micros: number): Date => new Date(Math.floor(micros / 1000));

function unlinkQuiet(abs: string): void {
  try {
    unlinkSync(abs);
  } catch {
    // Already gone, or the error that brought us here is the one worth reporting.
  }
}

/** Sets mode and mtime through a descriptor opened with O_NOFOLLOW, so a planted symlink is never followed. */
export function setMeta(abs: string, entry: Entry): void {
  if (entry.kind === "symlink") {
    setSymlinkTime(abs, entry.mtime);
    return;
  }
  const fd = openSync(abs, constants.O_RDONLY | O_NOFOLLOW | (entry.kind === "dir" ? O_DIRECTORY : 0));
  try {
    setMetaOn(fd, entry);
  } finally {
    closeSync(fd);
  }
}

function setMetaOn(fd: number, entry: Entry): void {
  fchmodSync(fd, entry.mode);
  setTimesAt(fd, entry.mtime);
}

function setTimesAt(fd: number, mtime: number): void {
  try {
    futimesSync(fd, Date.now() / 1000, seconds(mtime));
  } catch (err) {
    // Deno refuses times before 1970 through a descriptor (EINVAL) but takes them by path. The
    // descriptor's own /proc link names exactly the file we opened, so no planted link is followed.
    if (mtime >= 0 || errnoOf(err) !== "EINVAL") throw err;
    utimesSync(`/proc/self/fd/${fd}`, new Date(), seconds(mtime));
  }
}

function setSymlinkTime(abs: string, mtime: number): void {
  try {
    lutimesSync(abs, Date.now() / 1000, seconds(mtime));
  } catch (err) {
    // Some runtimes lack lutimes; a link's own mtime is cosmetic, its target text is what matters.
    if (errnoOf(err) !== "ENOSYS" && !(err instanceof TypeError)) throw err;
  }
}

function sameSource(a: Entry, b: Entry | null): boolean {
  return b !== null && a.size === b.size && a.mtime === b.mtime && a.ctime === b.ctime && a.ino === b.ino;
}

/** A complete copy under its temporary name, mode and mtime set: only the rename is left. */
export interface Staged {
  tmp: string;
  hash: string;
  /**
   * Only from a copy `asRead`: the source changed while it was read, and the copy holds the
   * `size` bytes read (up to the size the entry gave, or the end of a file that shrank).
   */
  changed?: { size: number };
}

/**
 * Copies one regular file to a temporary name beside `dstAbs` and returns it with its hash.
 * Throws SourceChanged when the source moved under us (the temp file is removed); `restat`
 * gives the source's stat now, for a large file (a small one is checked by its descriptor).
 * An abort (Ctrl+C) between chunks of a large file throws ABORTED and removes the temp file.
 * `onChunk` hears the bytes copied so far, for progress. `asRead` keeps a copy whose source
 * changed meanwhile, as it was read, and says so (`changed`): the last of a file's tries.
 */
export async function stageFile(
  srcAbs: string, dstAbs: string, entry: Entry, restat: () => Entry | null, signal?: AbortSignal, onChunk?: (copied: number) => void, asRead = false,
): Promise<Staged> {
  if (isSmallFile(entry)) return stageSmall(srcAbs, dstAbs, entry, asRead);
  const tmp = tempPathIn(dirname(dstAbs));
  try {
    const { hash, size } = await copyLarge(srcAbs, tmp, entry.size, asRead, signal, onChunk);
    const changed = size !== entry.size || !sameSource(entry, restat());
    if (changed && !asRead) throw new SourceChanged(`changed while being copied`);
    setMeta(tmp, entry);
    return changed ? { tmp, hash, changed: { size } } : { tmp, hash };
  } catch (err) {
    unlinkQuiet(tmp);
    throw err;
  }
}

/** Whether stageFile copies this file in one read and one write, with no await: what the stage worker takes. */
export const isSmallFile = (entry: Entry): boolean => entry.size <= SMALL_FILE;

/** stageFile for a small file: read whole, hashed, written under a temporary name in one go. */
export function stageSmall(srcAbs: string, dstAbs: string, entry: Entry, asRead = false): Staged {
  const tmp = tempPathIn(dirname(dstAbs));
  try {
    const { data, changed } = readSource(srcAbs, entry, asRead);
    const hash = hashBuffer(data);
    writeSmall(tmp, data, entry);
    return changed ? { tmp, hash, changed: { size: data.length } } : { tmp, hash };
  } catch (err) {
    unlinkQuiet(tmp);
    throw err;
  }
}

/**
 * Reads a small source file whole and proves, by an fstat of the same descriptor after the read,
 * that the bytes are the file the walk saw: same inode, size, mtime and ctime. A file replaced
 * by a rename meanwhile was still copied faithfully as the version we record; the next run sees
 * the new inode. One fstat instead of readFileSync's own plus an lstat by path: a first copy
 * made 5 stats per file, now 3. O_NONBLOCK: a fifo put in the file's place cannot block the read.
 * `asRead` returns what was read even so, and says the source changed.
 */
function readSource(srcAbs: string, entry: Entry, asRead: boolean): { data: Buffer; changed: boolean } {
  const fd = openSync(srcAbs, constants.O_RDONLY | O_NONBLOCK);
  try {
    const buf = Buffer.allocUnsafe(entry.size);
    let n = 0;
    while (n < entry.size) {
      const k = readSync(fd, buf, n, entry.size - n, n);
      if (k === 0) break;
      n += k;
    }
    // A file that grew is caught here by its size, one that shrank by its size or its short read.
    const now = entryFromStats(entry.name, fstatSync(fd, { bigint: true }), null);
    const changed = n !== entry.size || !sameSource(entry, now);
    if (changed && !asRead) throw new SourceChanged(`changed while being copied`);
    return { data: n === entry.size ? buf : buf.subarray(0, n), changed };
  } finally {
    closeSync(fd);
  }
}

/** Removes a staged copy that will not be placed (the run stopped first). */
export const discardStaged = (staged: Staged): void => unlinkQuiet(staged.tmp);

/**
 * Renames a staged copy into place. `beforeReplace` runs first: only once the new content is
 * complete may the old one move aside (--backup-dir). On any failure the temp file is removed
 * and the old file stays.
 */
export function placeFile(staged: Staged, dstAbs: string, beforeReplace?: () => void): Written {
  try {
    beforeReplace?.();
    renameSync(staged.tmp, dstAbs);
  } catch (err) {
    unlinkQuiet(staged.tmp);
    throw err;
  }
  return { hash: staged.hash, ...inodeAndCtime(dstAbs) };
}

/**
 * Writes a small file, checks the source did not move, and sets mode and mtime, all through
 * the one descriptor: no second open and close as writeFileSync + setMeta took.
 */
function writeSmall(tmp: string, data: Buffer, entry: Entry): void {
  // 'wx' is O_CREAT|O_EXCL: it never opens an existing file or follows a link at the temp name.
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeFileSync(fd, data);
    setMetaOn(fd, entry);
  } finally {
    closeSync(fd);
  }
}

/**
 * Four large copies at once, each through a buffer of 256 KiB, stay within this VM's L2 caches
 * (2 MiB a core): with 1 MiB or 4 MiB buffers the same copies took 0.2-0.6 s more system time
 * per GiB here, and smaller ones cost more calls.
 */
const CHUNK = 256 << 10;

const readAt = (fd: number, buf: Buffer, length: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buf, 0, length, pos, (err, n) => (err ? reject(err) : resolve(n))));

async function writeAt(fd: number, buf: Buffer, n: number, pos: number): Promise<void> {
  for (let off = 0; off < n; ) {
    off += await new Promise<number>((resolve, reject) => write(fd, buf, off, n - off, pos + off, (err, k) => (err ? reject(err) : resolve(k))));
  }
}

/** Opens a large source without blocking: a fifo put in the file's place is a changed source, not a hang. */
function openSource(srcAbs: string): number {
  const from = openSync(srcAbs, constants.O_RDONLY | O_NONBLOCK);
  if (fstatSync(from).isFile()) return from;
  closeSync(from);
  throw new SourceChanged("changed while being copied");
}

/**
 * Copies a large file by chunks on libuv's threads, hashing each on this one. The loop is ours
 * and bounded by the size the walk saw: a file that ends sooner (truncated, as logrotate's
 * copytruncate does) is a changed source at once, or with `asRead` copied as far as it goes,
 * and one that grew is caught by the caller's stat after the copy. Not the kernel's
 * copy_file_range through fs.copyFile: libuv calls it until it has copied the size it saw at
 * the start, and it returns 0 for ever once the file is shorter, so a truncation mid-copy spun
 * a thread at 100% CPU that no signal could stop (exit waits for libuv's threads).
 *
 * Asynchronous so that several large copies can be in flight at once (src/actions.ts): on this
 * VM four at a time wrote 4 × 256 MiB in 1.5-1.9 s against 2.7-3.1 s one after another, when
 * new page-cache pages cost the most and several writers take them in parallel. Each copy gets
 * its own hasher and buffer; Ctrl+C stops it between chunks.
 */
async function copyLarge(
  srcAbs: string, tmp: string, size: number, asRead: boolean, signal?: AbortSignal, onChunk?: (copied: number) => void,
): Promise<{ hash: string; size: number }> {
  const from = openSource(srcAbs);
  try {
    const to = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
    try {
      const hasher = await newHasher();
      const buf = Buffer.allocUnsafe(CHUNK);
      let pos = 0;
      while (pos < size) {
        const n = await readAt(from, buf, Math.min(CHUNK, size - pos), pos);
        if (n === 0 && asRead) break;
        if (n === 0) throw new SourceChanged("changed while being copied");
        hasher.update(buf.subarray(0, n));
        await writeAt(to, buf, n, pos);
        onChunk?.((pos += n));
        if (signal?.aborted) throw new SynchroError("ABORTED", "interrupted");
      }
      return { hash: hasher.digest("hex"), size: pos };
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}

export function makeSymlink(dstAbs: string, entry: Entry): Written {
  const tmp = tempPathIn(dirname(dstAbs));
  try {
    symlinkSync(entry.target!, tmp);
    setSymlinkTime(tmp, entry.mtime);
    renameSync(tmp, dstAbs);
  } catch (err) {
    unlinkQuiet(tmp);
    throw err;
  }
  return { hash: null, ...inodeAndCtime(dstAbs) };
}

/** Creates a directory owner-writable; its real mode and mtime are set after its contents. */
export function makeDir(dstAbs: string): Written {
  mkdirSync(dstAbs, { mode: 0o700 });
  return { hash: null, ...inodeAndCtime(dstAbs) };
}

/** True when `abs` is a real directory, not a symlink to one (lstat, never followed). */
export function isRealDir(abs: string): boolean {
  try {
    return lstatSync(abs).isDirectory();
  } catch {
    return false;
  }
}

export function makeWritable(dirAbs: string, mode: number): void {
  const fd = openSync(dirAbs, constants.O_RDONLY | O_NOFOLLOW | O_DIRECTORY);
  try {
    fchmodSync(fd, mode | 0o700);
  } finally {
    closeSync(fd);
  }
}

export interface Removed {
  path: string;
  kind: Kind;
  size: number | null;
}

/**
 * Removes a replica entry, depth first, never through a link: each directory is opened with
 * O_NOFOLLOW and emptied through its descriptor (src/replica/dirs.ts), so a directory swapped for
 * a symlink between the lstat and the open fails the open, and one swapped after it is still the
 * directory we opened. `abs` must name the entry from its parent's anchor.
 */
export function removeTree(abs: string, rel: string, onRemoved: (r: Removed) => void): void {
  let st;
  try {
    st = lstatSync(abs);
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return;
    throw err;
  }
  if (!st.isDirectory()) {
    unlinkSync(abs);
    onRemoved({ path: rel, kind: st.isSymbolicLink() ? "symlink" : "file", size: st.isFile() ? st.size : null });
    return;
  }
  const fd = openSync(abs, constants.O_RDONLY | O_NOFOLLOW | O_DIRECTORY);
  try {
    const mode = fstatSync(fd).mode;
    if ((mode & 0o200) === 0) fchmodSync(fd, (mode & 0o7777) | 0o700);
    const here = fdPath(fd, abs);
    for (const name of readdirSync(here)) removeTree(`${here}/${name}`, `${rel}/${name}`, onRemoved);
  } finally {
    closeSync(fd);
  }
  rmdirSync(abs);
  onRemoved({ path: rel, kind: "dir", size: null });
}

/** Removes a replica dir only if it is empty (rmdir never follows a link); false if something is in it. */
export function removeEmptyDir(abs: string): boolean {
  try {
    rmdirSync(abs);
    return true;
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return true;
    if (errnoOf(err) === "ENOTEMPTY" || errnoOf(err) === "EEXIST" || errnoOf(err) === "ENOTDIR") return false;
    throw err;
  }
}

/**
 * Moves a replica entry aside (for --backup-dir) instead of destroying it. A backup dir on
 * another file system cannot take a rename (EXDEV): the entry is copied, and removed only
 * once the whole copy is there, so a failing copy loses nothing. Returns false when there was
 * nothing to move.
 */
export function moveAside(abs: string, toAbs: string): boolean {
  // Someone may have deleted the replica's copy by hand: nothing to keep, and no reason to fail.
  if (!existsQuiet(abs)) return false;
  mkdirSync(dirname(toAbs), { recursive: true });
  try {
    renameSync(abs, toAbs);
  } catch (err) {
    if (errnoOf(err) !== "EXDEV") throw err;
    copyAside(abs, toAbs);
    removeTree(abs, "", () => {});
  }
  return true;
}

/** Copies what `cp -a` keeps (content, links, modes, mtimes); lstat at each level, so no link is followed. */
function copyAside(abs: string, toAbs: string): void {
  const st = lstatSync(abs, { bigint: true });
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(abs), toAbs);
    setSymlinkTime(toAbs, mtimeOf(st));
    return;
  }
  if (st.isDirectory()) {
    mkdirSync(toAbs, { mode: 0o700 });
    for (const name of readdirSync(abs)) copyAside(`${abs}/${name}`, `${toAbs}/${name}`);
  } else {
    copyFileSync(abs, toAbs, constants.COPYFILE_EXCL);
  }
  chmodSync(toAbs, Number(st.mode) & 0o7777);
  utimesSync(toAbs, new Date(), seconds(mtimeOf(st)));
}

export function renameEntry(fromAbs: string, toAbs: string): void {
  renameSync(fromAbs, toAbs);
}
