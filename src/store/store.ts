import { mkdirSync, renameSync, existsSync, lstatSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { permissionRefused, statTimesExact } from "../runtime.ts";
import { hashFileWith } from "../hash.ts";
import { dirname } from "node:path";
import { SynchroError, errnoOf } from "../errors.ts";
import { openDatabase, type Database } from "./db.ts";
import { migrate } from "./schema.ts";
import { entryQueries, type EntryQueries } from "./entries.ts";
import { runQueries, type RunQueries } from "./runs.ts";
import { opQueries, type OpQueries } from "./ops.ts";
import { parseSettings, type PairSettings } from "../settings.ts";

export interface Pair {
  id: number;
  source: string;
  replica: string;
  /** The id of the replica marker this pair's index describes (src/replica/marker.ts); null before the first run that wrote it. */
  marker: string | null;
}

export interface Store {
  file: string;
  /** Set when the file was corrupt and moved aside: the caller must rebuild from both trees. */
  rebuiltFrom: string | null;
  entries: EntryQueries;
  runs: RunQueries;
  ops: OpQueries;
  pair(source: string, replica: string, create: boolean): Pair | null;
  pairs(): Pair[];
  /** The settings a pair's last run stored (src/settings.ts), or null before its first. */
  settings(pair: number): PairSettings | null;
  saveSettings(pair: number, settings: PairSettings): void;
  setMarker(pair: number, marker: string): void;
  /** Writes go into one open transaction, committed by commit() or once it has grown. */
  write<T>(fn: () => T): T;
  commit(): void;
  /** Commits the open transaction once it is as old as a write would commit it: a run calls this as it yields, so a stretch with no writes does not hold the write lock. */
  commitIfDue(): void;
  /** A corrupt page was read: the next open must run quick_check again. */
  distrust(): void;
  close(): void;
}

/** SQLite's standard messages, for drivers that give nothing else (Deno's node:sqlite: code ERR_SQLITE_ERROR). */
const BY_MESSAGE: [RegExp, string][] = [
  [/^database is locked|^database table is locked/, "SQLITE_BUSY"],
  [/^database disk image is malformed/, "SQLITE_CORRUPT"],
  [/^file is not a database/, "SQLITE_NOTADB"],
];

/** SQLite's primary result code from either driver's error object. */
function sqliteCode(err: unknown): string | undefined {
  const e = err as { code?: string; errcode?: number; message?: string };
  if (typeof e?.code === "string" && e.code.startsWith("SQLITE_")) return e.code.replace(/^(SQLITE_[A-Z]+).*/, "$1");
  const names: Record<number, string> = { 5: "SQLITE_BUSY", 11: "SQLITE_CORRUPT", 26: "SQLITE_NOTADB", 14: "SQLITE_CANTOPEN", 8: "SQLITE_READONLY" };
  if (typeof e?.errcode === "number") return names[e.errcode & 0xff];
  const message = typeof e?.message === "string" ? e.message : "";
  return BY_MESSAGE.find(([re]) => re.test(message))?.[1];
}

export function isBusy(err: unknown): boolean {
  return sqliteCode(err) === "SQLITE_BUSY";
}

export function isCorrupt(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB";
}

/**
 * quick_check walks every b-tree page: 120 ms at 100k files, 1 s at 1M, on every run. It is
 * skipped when the file is still what our last clean close left, with no WAL: the stamp is its
 * device, inode, size, mtime and ctime in nanoseconds, read after the close. Any write since (a
 * restore, a copy over it, another program) moves ctime, which no one can set back; SQLite's own
 * writes go to the WAL first, which voids the stamp. Only a write by another program within the
 * same clock tick as our close (a few ms) could go unseen. Hashing the file, as Deno still must
 * (its ctime is whole seconds), cost 45 ms at open and 20 ms at close of a 26 MB index, on every
 * run. A crash leaves no stamp (it is removed at open).
 */
const stampFile = (file: string) => `${file}.clean`;

function stampOf(file: string): string | null {
  try {
    if (existsSync(`${file}-wal`) && lstatSync(`${file}-wal`).size > 0) return null;
    const st = lstatSync(file, { bigint: true });
    if (!statTimesExact()) return `${st.size}:${hashFileWith(file, createHash("sha1"))}`;
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}

function readStamp(file: string): string | null {
  try {
    return readFileSync(stampFile(file), "utf8");
  } catch {
    return null;
  }
}

function dropStamp(file: string): void {
  try {
    unlinkSync(stampFile(file));
  } catch {
    // None there: the last close was not clean, or this is a new index.
  }
}

async function openChecked(file: string, check: boolean): Promise<Database> {
  const db = await openDatabase(file);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("PRAGMA journal_mode = WAL");
    // WAL + NORMAL survives a killed process; only a power cut can lose the last commits.
    db.exec("PRAGMA synchronous = NORMAL");
    // better-sqlite3 builds SQLite with a 16 MB page cache, and a first copy of 100k files fills
    // it: 17 MiB of peak RSS. SQLite's own 2 MB default (node:sqlite's, on Deno) measured no
    // slower: the pages it drops are in the OS page cache.
    db.exec("PRAGMA cache_size = -2000");
    const result = check ? db.prepare("PRAGMA quick_check(1)").get() : undefined;
    if (result && Object.values(result)[0] !== "ok") throw Object.assign(new Error("quick_check failed"), { code: "SQLITE_CORRUPT" });
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export interface OpenOptions {
  now: () => number;
  /**
   * quick_check reads the whole file: 185 ms at 1M recorded ops. A sync pays it to rebuild a
   * corrupt index before trusting it; status and history only read, so they skip it.
   */
  check?: boolean;
  /** Set by readers (status, history): a corrupt index is reported, not moved aside behind the user's back. */
  readOnly?: boolean;
  onCorrupt?: (movedTo: string, reason: string) => void;
}

export async function openStore(file: string, opts: OpenOptions): Promise<Store> {
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (err) {
    throw permissionRefused(err) ?? new SynchroError("STATE_UNWRITABLE", `cannot create the state directory ${dirname(file)}: ${errnoOf(err) ?? err}`);
  }
  let db: Database;
  let rebuiltFrom: string | null = null;
  const memory = file === ":memory:";
  const stamp = memory ? null : stampOf(file);
  const check = (opts.check ?? true) && (stamp === null || readStamp(file) !== stamp);
  if (!opts.readOnly && !memory) dropStamp(file);
  try {
    db = await openChecked(file, check);
  } catch (err) {
    const code = sqliteCode(err);
    if (code === "SQLITE_BUSY") throw new SynchroError("INDEX_LOCKED", `the index ${file} is locked by another process`);
    if (code !== "SQLITE_CORRUPT" && code !== "SQLITE_NOTADB") {
      throw permissionRefused(err) ?? new SynchroError("STATE_UNWRITABLE", `cannot open the index ${file}: ${(err as Error).message}`);
    }
    if (opts.readOnly) {
      throw new SynchroError("INDEX_CORRUPT", `the index ${file} is unreadable (${(err as Error).message}); the next sync moves it aside and rebuilds it`);
    }
    rebuiltFrom = `${file}.corrupt-${new Date(opts.now()).toISOString().replace(/[:.]/g, "-")}`;
    renameSync(file, rebuiltFrom);
    for (const side of ["-wal", "-shm"]) if (existsSync(file + side)) renameSync(file + side, rebuiltFrom + side);
    opts.onCorrupt?.(rebuiltFrom, (err as Error).message);
    db = await openChecked(file, opts.check ?? true);
  }
  return makeStore(db, file, rebuiltFrom, opts.now, !opts.readOnly && !memory);
}

const COMMIT_EVERY_MS = 250;

function makeStore(db: Database, file: string, rebuiltFrom: string | null, now: () => number, stampOnClose: boolean): Store {
  const findPair = db.prepare("SELECT id, source, replica, marker FROM pairs WHERE source = ? AND replica = ?");
  const addPair = db.prepare("INSERT INTO pairs (source, replica, created_at) VALUES (?, ?, ?)");
  const allPairs = db.prepare("SELECT id, source, replica, marker FROM pairs ORDER BY id");
  const getSettings = db.prepare("SELECT settings FROM pairs WHERE id = ?");
  const putSettings = db.prepare("UPDATE pairs SET settings = ? WHERE id = ?");
  const putMarker = db.prepare("UPDATE pairs SET marker = ? WHERE id = ?");
  const toPair = (r: Record<string, unknown>): Pair => ({ id: Number(r.id), source: r.source as string, replica: r.replica as string, marker: (r.marker as string | null) ?? null });
  let open = false;
  let openedAt = 0;

  const store: Store = {
    file,
    rebuiltFrom,
    entries: entryQueries(db),
    runs: runQueries(db),
    ops: opQueries(db),
    pair(source, replica, create) {
      const found = findPair.get(source, replica);
      if (found) return toPair(found);
      if (!create) return null;
      const id = Number(addPair.run(source, replica, now()).lastInsertRowid);
      return { id, source, replica, marker: null };
    },
    pairs: () => allPairs.all().map(toPair),
    settings: (pair) => parseSettings((getSettings.get(pair)?.settings as string | null | undefined) ?? null),
    saveSettings: (pair, settings) => void store.write(() => putSettings.run(JSON.stringify(settings), pair)),
    setMarker: (pair, marker) => void store.write(() => putMarker.run(marker, pair)),
    write(fn) {
      if (!open) {
        db.exec("BEGIN IMMEDIATE");
        open = true;
        openedAt = now();
      }
      const result = fn();
      store.commitIfDue();
      return result;
    },
    commitIfDue() {
      if (open && now() - openedAt >= COMMIT_EVERY_MS) store.commit();
    },
    commit() {
      if (!open) return;
      db.exec("COMMIT");
      open = false;
    },
    distrust() {
      stampOnClose = false;
    },
    close() {
      store.commit();
      db.close();
      const stamp = stampOnClose ? stampOf(file) : null;
      if (stamp === null) return;
      try {
        writeFileSync(stampFile(file), stamp);
      } catch {
        // Only a skipped quick_check is lost: the next run checks.
      }
    },
  };
  return store;
}
