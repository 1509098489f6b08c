import { indexRow, type IndexRow } from "../plan.ts";
import type { Entry, Kind } from "../walk.ts";
import { prepareRows, type Database, type SqlValue } from "./db.ts";

const KIND_CODES: Record<Kind, number> = { file: 0, dir: 1, symlink: 2 };
const KINDS: Kind[] = ["file", "dir", "symlink"];

const FACTS = "name, kind, size, mtime, mode, ino, ctime, target";
const COLUMNS = `${FACTS}, hash, r_ino, r_ctime`;

const hexOf = (hash: Uint8Array | null): string | null =>
  hash ? Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString("hex") : null;

/** The same row from a raw query, columns in COLUMNS order: the no-op walk reads every row this way. */
function arrayToFacts(r: SqlValue[]): Entry {
  return {
    name: r[0] as string,
    kind: KINDS[r[1] as number]!,
    size: Number(r[2]),
    mtime: Number(r[3]),
    mode: Number(r[4]),
    ino: Number(r[5]),
    ctime: Number(r[6]),
    target: (r[7] as string | null) ?? null,
  };
}

/** The same row from a raw query, columns in COLUMNS order: the facts, then hash and replica inode and ctime. */
function arrayToRow(r: SqlValue[]): IndexRow {
  return indexRow(arrayToFacts(r), hexOf(r[8] as Uint8Array | null), r[9] == null ? null : Number(r[9]), r[10] == null ? null : Number(r[10]));
}

function toRow(r: Record<string, unknown>): IndexRow {
  const hash = r.hash as Uint8Array | null;
  return {
    name: r.name as string,
    kind: KINDS[r.kind as number]!,
    size: Number(r.size),
    mtime: Number(r.mtime),
    mode: Number(r.mode),
    ino: Number(r.ino),
    ctime: Number(r.ctime),
    target: (r.target as string | null) ?? null,
    hash: hexOf(hash),
    rIno: r.r_ino == null ? null : Number(r.r_ino),
    rCtime: r.r_ctime == null ? null : Number(r.r_ctime),
  };
}

export function splitPath(path: string): [dir: string, name: string] {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? ["", path] : [path.slice(0, slash), path.slice(slash + 1)];
}

/**
 * The rows beneath `path`: its children (dir = path) and deeper rows, whose dirs sort between
 * "path/" and "path0" ('0' follows '/'); LIKE would misread '%' and '_' in names. The children's
 * own term is needed: "path" sorts before "path/". Written as two whole terms so SQLite plans a
 * MULTI-INDEX OR of two primary-key searches; "pair = ? AND (a OR b)" scanned the whole pair.
 */
const SUBTREE = "(pair = ? AND dir = ?) OR (pair = ? AND dir >= ? AND dir < ?)";
const subtreeParams = (pair: number, path: string): SqlValue[] => [pair, path, pair, path + "/", path + "0"];

export interface EntryQueries {
  listDir(pair: number, dir: string): IndexRow[];
  /** A directory's rows without hash and replica inode: what planning compares, at 40% of the cost. */
  listFacts(pair: number, dir: string): Entry[];
  get(pair: number, path: string): IndexRow | null;
  byIno(pair: number, ino: number): (IndexRow & { dir: string })[];
  /** Stores a row. Over a row of the same inode (a file rewritten in place) it writes in place, and entries_ino is left as it is. */
  put(pair: number, path: string, row: IndexRow): void;
  /** Removes the row at `path` and, for a directory, every row beneath it. */
  remove(pair: number, path: string): void;
  countSubtree(pair: number, path: string): number;
  count(pair: number): number;
  /** Moves a row, and everything beneath it, to a new path. */
  move(pair: number, from: string, to: string): void;
  /** Every row of a pair, in (dir, name) order; memory stays flat while iterating in pages. */
  forEach(pair: number, fn: (dir: string, row: IndexRow) => void): void;
  clear(pair: number): void;
  /** Every directory's listing digest: only directories whose rows matched their listing have one. */
  digests(pair: number): Map<string, string>;
  /** Stores a directory's digest with its entries' prints, or drops both (null) once its rows may no longer match. */
  setDigest(pair: number, dir: string, digest: string | null, prints?: Uint8Array): void;
  /** Every directory's prints, stored with its digest (src/digest.ts). */
  prints(pair: number): Map<string, Uint8Array>;
}

export function entryQueries(db: Database): EntryQueries {
  const listDir = prepareRows(db, `SELECT ${COLUMNS} FROM entries WHERE pair = ? AND dir = ? ORDER BY name`);
  // The hash blob is what costs: 100k rows read in 95 ms without it, 237 ms with it.
  const listFacts = prepareRows(db, `SELECT ${FACTS} FROM entries WHERE pair = ? AND dir = ? ORDER BY name`);
  const get = db.prepare(`SELECT ${COLUMNS} FROM entries WHERE pair = ? AND dir = ? AND name = ?`);
  // Without INDEXED BY the planner searched the primary key by pair alone: 5 ms a lookup at
  // 100k rows, once per new file, so a first sync of 100k files spent 330 s here.
  const byIno = db.prepare(`SELECT dir, ${COLUMNS} FROM entries INDEXED BY entries_ino WHERE pair = ? AND ino = ?`);
  const VALUES = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  // INSERT OR REPLACE deletes and reinserts the inode index's entry too. Rewriting 1,000 rows of the
  // bench's 100k-file index took 1,825 WAL frames that way and 999 in place (issue 6 note). A row of
  // another inode changes nothing here and is replaced by `put`.
  const putInPlace = db.prepare(
    `INSERT INTO entries (pair, dir, ${COLUMNS}) VALUES ${VALUES} ON CONFLICT (pair, dir, name) DO UPDATE SET ` +
      "kind = excluded.kind, size = excluded.size, mtime = excluded.mtime, mode = excluded.mode, ctime = excluded.ctime, " +
      "target = excluded.target, hash = excluded.hash, r_ino = excluded.r_ino, r_ctime = excluded.r_ctime WHERE entries.ino = excluded.ino",
  );
  const put = db.prepare(`INSERT OR REPLACE INTO entries (pair, dir, ${COLUMNS}) VALUES ${VALUES}`);
  const removeOne = db.prepare("DELETE FROM entries WHERE pair = ? AND dir = ? AND name = ?");
  const removeTree = db.prepare(`DELETE FROM entries WHERE ${SUBTREE}`);
  const countTree = db.prepare(`SELECT count(*) AS n FROM entries WHERE ${SUBTREE}`);
  const countAll = db.prepare("SELECT count(*) AS n FROM entries WHERE pair = ?");
  const moveOne = db.prepare("UPDATE entries SET dir = ?, name = ? WHERE pair = ? AND dir = ? AND name = ?");
  const treeDirs = db.prepare(`SELECT DISTINCT dir FROM entries WHERE ${SUBTREE}`);
  const moveDir = db.prepare("UPDATE entries SET dir = ? WHERE pair = ? AND dir = ?");
  const page = db.prepare(
    // A row value keeps each page one primary-key search; the OR form scanned from the start every page.
    `SELECT dir, ${COLUMNS} FROM entries WHERE pair = ? AND (dir, name) > (?, ?) ORDER BY dir, name LIMIT 2000`,
  );
  const clear = db.prepare("DELETE FROM entries WHERE pair = ?");
  // Digests follow their rows: removed with them, moved with them (a listing does not name its
  // own path), so a digest never vouches for rows that are gone or elsewhere.
  const allDigests = db.prepare("SELECT dir, digest FROM digests WHERE pair = ?");
  const putDigest = db.prepare("INSERT OR REPLACE INTO digests (pair, dir, digest, prints) VALUES (?, ?, ?, ?)");
  const allPrints = db.prepare("SELECT dir, prints FROM digests WHERE pair = ? AND prints IS NOT NULL");
  const dropDigest = db.prepare("DELETE FROM digests WHERE pair = ? AND dir = ?");
  const dropDigests = db.prepare(`DELETE FROM digests WHERE ${SUBTREE}`);
  const treeDigests = db.prepare(`SELECT dir, digest, prints FROM digests WHERE ${SUBTREE}`);
  const clearDigests = db.prepare("DELETE FROM digests WHERE pair = ?");

  return {
    listDir: (pair, dir) => listDir.all(pair, dir).map(arrayToRow),
    listFacts: (pair, dir) => listFacts.all(pair, dir).map(arrayToFacts),
    get(pair, path) {
      const [dir, name] = splitPath(path);
      const r = get.get(pair, dir, name);
      return r ? toRow(r) : null;
    },
    byIno: (pair, ino) => byIno.all(pair, ino).map((r) => ({ ...toRow(r), dir: r.dir as string })),
    put(pair, path, row) {
      const [dir] = splitPath(path);
      const values: SqlValue[] = [
        pair, dir, row.name, KIND_CODES[row.kind], row.size, row.mtime, row.mode, row.ino, row.ctime,
        row.target, row.hash ? Buffer.from(row.hash, "hex") : null, row.rIno, row.rCtime,
      ];
      if (Number(putInPlace.run(...values).changes) === 0) put.run(...values);
    },
    remove(pair, path) {
      const [dir, name] = splitPath(path);
      removeOne.run(pair, dir, name);
      removeTree.run(...subtreeParams(pair, path));
      dropDigests.run(...subtreeParams(pair, path));
      dropDigest.run(pair, dir);
    },
    countSubtree: (pair, path) => Number(countTree.get(...subtreeParams(pair, path))?.n ?? 0),
    count: (pair) => Number(countAll.get(pair)?.n ?? 0),
    move(pair, from, to) {
      const [fromDir, fromName] = splitPath(from);
      const [toDir, toName] = splitPath(to);
      for (const r of treeDirs.all(...subtreeParams(pair, from))) {
        const dir = r.dir as string;
        moveDir.run(to + dir.slice(from.length), pair, dir);
      }
      moveOne.run(toDir, toName, pair, fromDir, fromName);
      const moved = treeDigests.all(...subtreeParams(pair, from));
      dropDigests.run(...subtreeParams(pair, from));
      dropDigests.run(...subtreeParams(pair, to));
      for (const r of moved) putDigest.run(pair, to + (r.dir as string).slice(from.length), r.digest as string, (r.prints as Uint8Array | null) ?? null);
      dropDigest.run(pair, fromDir);
      dropDigest.run(pair, toDir);
    },
    forEach(pair, fn) {
      // Keyset paging: names are never empty, so (dir '', name '') comes before every row.
      let dir = "";
      let name = "";
      for (;;) {
        const rows = page.all(pair, dir, name);
        if (rows.length === 0) return;
        for (const r of rows) fn(r.dir as string, toRow(r));
        const last = rows[rows.length - 1]!;
        dir = last.dir as string;
        name = last.name as string;
      }
    },
    clear(pair) {
      clear.run(pair);
      clearDigests.run(pair);
    },
    digests: (pair) => new Map(allDigests.all(pair).map((r) => [r.dir as string, r.digest as string])),
    setDigest(pair, dir, digest, prints) {
      if (digest === null) dropDigest.run(pair, dir);
      else putDigest.run(pair, dir, digest, prints ? Buffer.from(prints.buffer, prints.byteOffset, prints.byteLength) : null);
    },
    prints: (pair) => new Map(allPrints.all(pair).map((r) => [r.dir as string, r.prints as Uint8Array])),
  };
}
