import type { Entry, Kind } from "./walk.ts";

/** What the index remembers of one path: the source entry as last synced, plus the replica's own inode and ctime. */
export interface IndexRow extends Entry {
  hash: string | null;
  rIno: number | null;
  rCtime: number | null;
}

/**
 * An entry with its replica-side facts, field by field: V8 made `{ ...entry, hash, rIno, rCtime }`
 * a 1.5 KB object (the copy has no room for three more fields) against 150 bytes for this
 * literal, and a first copy of 100k files wrote one per file.
 */
export function indexRow(e: Entry, hash: string | null, rIno: number | null, rCtime: number | null): IndexRow {
  return { name: e.name, kind: e.kind, size: e.size, mtime: e.mtime, mode: e.mode, ino: e.ino, ctime: e.ctime, target: e.target, hash, rIno, rCtime };
}

export type Action =
  /** Make a directory in the replica; `replaces` names what stands there now, if anything. */
  | { op: "mkdir"; path: string; entry: Entry; replaces?: Kind }
  /** Copy a file that the replica does not have yet. */
  | { op: "create"; path: string; entry: Entry; replaces?: Kind }
  /** Copy a file whose content changed. */
  | { op: "update"; path: string; entry: Entry }
  | { op: "symlink"; path: string; entry: Entry; replaces?: Kind }
  /** Only mode or mtime differ: fix them in place. */
  | { op: "meta"; path: string; entry: Entry }
  /**
   * Size and mtime match but that is not proof enough: the content hash decides, against the
   * index or the replica file. `row` is the index's facts; the applier reads its hash itself.
   */
  | { op: "check"; path: string; entry: Entry; row: Entry | null; againstReplica: boolean }
  /** An existing directory: walk into it, then settle its mode and mtime. */
  | { op: "descend"; path: string; entry: Entry }
  /** The replica already holds this entry: record it without copying. */
  | { op: "adopt"; path: string; entry: Entry }
  /** Nothing to write, but the index must learn the new inode or ctime. */
  | { op: "refresh"; path: string; entry: Entry }
  | { op: "delete"; path: string; kind: Kind }
  /** The index holds a row that neither side has any more. */
  | { op: "forget"; path: string; kind: Kind };

export interface PlanInput {
  dir: string;
  source: readonly Entry[];
  /** The index's rows of this directory: the facts are enough to plan against the index; against the replica, whole rows (IndexRow) tell which replica files synchro did not write. */
  index: readonly Entry[];
  /** The replica's own listing, on first and --full runs; null when the index stands in for it. */
  replica: readonly Entry[] | null;
  checksum: boolean;
  /** Excluded paths are neither copied nor deleted. */
  isExcluded: (path: string, kind: Kind) => boolean;
}

/**
 * The replica's file is not the one synchro wrote there: its inode or its ctime moved since the
 * index recorded them (someone rewrote it, perhaps setting its mtime back). Drift (status) and
 * a replica scan (--full) ask this the same way, so what status reports, --full repairs.
 */
export const replicaRewritten = (row: IndexRow, theirs: Entry): boolean =>
  (row.rIno !== null && row.rIno !== theirs.ino) || (row.rCtime !== null && row.rCtime !== theirs.ctime);

const isIndexRow = (e: Entry): e is IndexRow => "rIno" in e;

export const joinPath = (dir: string, name: string): string => (dir === "" ? name : dir + "/" + name);

/** Deno reads mtimes truncated to milliseconds, Node to microseconds: within a millisecond is "same". */
export const sameMtime = (a: number, b: number): boolean => Math.abs(a - b) < 1000;

/** Size+mtime quick check plus the cheap things lstat already gave us. */
export function sameFileMeta(a: Entry, b: Entry): boolean {
  return a.size === b.size && sameMtime(a.mtime, b.mtime);
}

/**
 * Decides what one directory needs. Pure: no fs, no clock. Directories in `source`
 * always yield mkdir or descend, so the engine knows to walk into them.
 */
export function planDir(input: PlanInput): Action[] {
  const actions: Action[] = [];
  const rows = new Map(input.index.map((r) => [r.name, r]));
  const replica = input.replica ? new Map(input.replica.map((e) => [e.name, e])) : null;

  for (const entry of input.source) {
    const path = joinPath(input.dir, entry.name);
    if (input.isExcluded(path, entry.kind)) continue;
    const row = rows.get(entry.name) ?? null;
    const action = replica
      ? planAgainstReplica(path, entry, replica.get(entry.name) ?? null, row, input.checksum)
      : planAgainstIndex(path, entry, row, input.checksum);
    if (action) actions.push(action);
  }

  const inSource = new Set(input.source.map((e) => e.name));
  const gone = replica ? [...replica.values()] : input.index;
  for (const old of gone) {
    if (inSource.has(old.name)) continue;
    const path = joinPath(input.dir, old.name);
    if (input.isExcluded(path, old.kind)) continue;
    actions.push({ op: "delete", path, kind: old.kind });
  }
  if (replica) {
    for (const row of input.index) {
      if (!inSource.has(row.name) && !replica.has(row.name)) actions.push({ op: "forget", path: joinPath(input.dir, row.name), kind: row.kind });
    }
  }
  return actions;
}

function createAction(path: string, entry: Entry, replaces?: Kind): Action {
  if (entry.kind === "dir") return { op: "mkdir", path, entry, replaces };
  if (entry.kind === "symlink") return { op: "symlink", path, entry, replaces };
  return { op: "create", path, entry, replaces };
}

function planAgainstIndex(path: string, entry: Entry, row: Entry | null, checksum: boolean): Action | null {
  if (!row) return createAction(path, entry);
  if (row.kind !== entry.kind) return createAction(path, entry, row.kind);
  if (entry.kind === "dir") return { op: "descend", path, entry };
  if (entry.kind === "symlink") {
    if (entry.target !== row.target) return { op: "symlink", path, entry, replaces: "symlink" };
    if (!sameMtime(entry.mtime, row.mtime)) return { op: "meta", path, entry };
    return entry.ino === row.ino && entry.ctime === row.ctime ? null : { op: "refresh", path, entry };
  }
  if (!sameFileMeta(entry, row)) return { op: "update", path, entry };
  if (checksum || entry.ino !== row.ino || entry.ctime !== row.ctime) return { op: "check", path, entry, row, againstReplica: false };
  return entry.mode === row.mode ? null : { op: "meta", path, entry };
}

function planAgainstReplica(path: string, entry: Entry, theirs: Entry | null, row: Entry | null, checksum: boolean): Action | null {
  if (!theirs) return createAction(path, entry);
  if (theirs.kind !== entry.kind) return createAction(path, entry, theirs.kind);
  if (entry.kind === "dir") return { op: "descend", path, entry };
  if (entry.kind === "symlink") {
    if (entry.target !== theirs.target) return { op: "symlink", path, entry, replaces: "symlink" };
    return sameMtime(entry.mtime, theirs.mtime) ? { op: "adopt", path, entry } : { op: "meta", path, entry };
  }
  if (!sameFileMeta(entry, theirs)) return { op: "update", path, entry };
  // Size and mtime as the replica's, but the index saw another inode or ctime on either side: the
  // content may have changed since (a rewrite that kept them); only the hashes can tell.
  const sourceMoved = row !== null && (row.ino !== entry.ino || row.ctime !== entry.ctime);
  const replicaMoved = row !== null && isIndexRow(row) && replicaRewritten(row, theirs);
  if (checksum || sourceMoved || replicaMoved) return { op: "check", path, entry, row, againstReplica: true };
  return entry.mode === theirs.mode ? { op: "adopt", path, entry } : { op: "meta", path, entry };
}
