import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { SynchroError, errnoOf } from "../errors.ts";
import { MARKER_DIR } from "../config.ts";

/**
 * The replica's marker: a folder `.synchro` at its root that says "this is a synchro replica",
 * like Syncthing's `.stfolder`. A replica disk that is unmounted leaves an empty mount point
 * behind, which looks like a replica that lost every file; the marker tells the two apart. Its
 * `id` file holds a random id that the index keeps for the pair, so a different synchro replica
 * mounted at the same place (rotating backup disks) is known for one the index does not
 * describe. Its `lock` file is the replica's run lock (./lock.ts). The marker is never
 * mirrored, deleted, counted or reported as drift: the config excludes it on both sides.
 */

const ID_FILE = "id";
const NOTE = `
This folder marks a replica written by synchro (a one-way folder mirror). Do not delete it.
synchro checks this id before each run: if the folder is missing, the replica's disk is
probably unmounted and synchro refuses to write. The file \`lock\` keeps two runs of synchro
off this replica at the same time.
`;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;

export const markerPath = (replica: string, name = ""): string => (name ? `${replica}/${MARKER_DIR}/${name}` : `${replica}/${MARKER_DIR}`);

const unusable = (what: string, err?: unknown): SynchroError =>
  new SynchroError("MARKER_UNUSABLE", err === undefined ? what : `${what}: ${errnoOf(err) ?? (err as Error).message}`);

/** Whether the marker folder is there; throws when something else stands in its place (a file, or a link that could lead writes outside the replica). */
function markerDirExists(replica: string): boolean {
  const dir = markerPath(replica);
  try {
    if (lstatSync(dir).isDirectory()) return true;
  } catch (err) {
    if (errnoOf(err) === "ENOENT" || errnoOf(err) === "ENOTDIR") return false;
    throw unusable(`cannot read the replica marker ${dir}`, err);
  }
  throw unusable(`${dir} is not a folder; synchro keeps its replica marker there, so move it away and run again`);
}

/** The id in the replica's marker, or null when it has none (no marker folder, no id file, or an empty one). */
export function readMarker(replica: string): string | null {
  if (!markerDirExists(replica)) return null;
  const file = markerPath(replica, ID_FILE);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return null;
    throw unusable(`cannot read the replica marker ${file}`, err);
  }
  try {
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString("utf8").split("\n")[0]!.trim() || null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes the marker folder (and the replica root, whose parent the config checked, as a first
 * run's walk would, with the same mode until the run settles it).
 */
export function makeMarkerDir(replica: string): void {
  if (markerDirExists(replica)) return;
  const dir = markerPath(replica);
  try {
    mkdirSync(replica, { mode: 0o700 });
  } catch (err) {
    if (errnoOf(err) !== "EEXIST") throw unusable(`cannot make the replica folder ${replica}`, err);
  }
  try {
    if (!mkdirIn(replica, dir)) markerDirExists(replica);
  } catch (err) {
    throw err instanceof SynchroError ? err : unusable(`cannot make the replica marker ${dir}`, err);
  }
}

/**
 * mkdir of `dir` in the folder `parent`; false when it is already there. A read-only parent (a
 * copy of a read-only source root) is opened for the mkdir and closed again, as the walk does
 * for its own writes; the run puts the root's mtime back once it is done.
 */
function mkdirIn(parent: string, dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o755 });
    return true;
  } catch (err) {
    if (errnoOf(err) === "EEXIST") return false;
    if (errnoOf(err) !== "EACCES") throw err;
  }
  const fd = openSync(parent, constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    const mode = fstatSync(fd).mode & 0o7777;
    fchmodSync(fd, mode | 0o700);
    try {
      mkdirSync(dir, { mode: 0o755 });
    } finally {
      fchmodSync(fd, mode);
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * The marker's id, written now with a new random id when it has none. Called under the
 * replica's lock (./lock.ts), so no other run writes it meanwhile.
 */
export function ensureMarkerId(replica: string): string {
  const found = readMarker(replica);
  if (found !== null) return found;
  const id = randomBytes(16).toString("hex");
  const file = markerPath(replica, ID_FILE);
  try {
    // The index is about to keep this id: a power cut must not lose the file while the index holds it.
    syncedWrite(file, `${id}\n${NOTE}`);
    syncedWrite(markerPath(replica), null);
  } catch (err) {
    throw unusable(`cannot write the replica marker ${file}`, err);
  }
  return id;
}

/** Writes `text` to `file` (or, with null, only opens the folder `file`) and fsyncs it; no link is followed. */
function syncedWrite(file: string, text: string | null): void {
  const flags = text === null ? constants.O_RDONLY | O_DIRECTORY : constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
  const fd = openSync(file, flags | O_NOFOLLOW, 0o644);
  try {
    if (text !== null) writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
