import { lstatSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { SynchroError, errnoOf } from "../errors.ts";
import { openDatabase, type Database } from "../store/db.ts";
import { isBusy, isCorrupt } from "../store/store.ts";
import { markerPath } from "./marker.ts";

/**
 * The replica's run lock: `.synchro/lock` in the replica's marker, a SQLite file in rollback-
 * journal mode. A run holds SQLite's write lock on it (BEGIN IMMEDIATE, and nothing written)
 * for as long as it writes the replica, so it is one lock per replica whatever index each run
 * uses. SQLite takes it as an fcntl lock, which the kernel drops when the holder dies: a run
 * killed with SIGKILL leaves no stale lock behind, and no PID is ever trusted. Within one
 * process SQLite tracks locks per inode, so a second connection there is refused as well.
 *
 * fcntl locks belong to the process and go when it closes any descriptor of the file. SQLite
 * defers closing its own connections' descriptors while a lock is held on the inode (checked:
 * a refused second connection closed in the holder's process leaves the lock held, on Node and
 * on Deno), but nothing else may open this file: the walk, status and drift never see it, as
 * `.synchro` is excluded. Readers are let in while the lock is held, which is how a turned-away run reads
 * who holds it: the holder commits its pid, host and start time to the file before it holds
 * it, with a token of its own, and checks after taking the hold that the row is still its own
 * (another run may have written its row in between: then it lets go and tries again).
 */
export interface LockHolder {
  pid: number;
  /** The holder's machine ("" where it may not be asked): a replica on a network share has runs from several. */
  host: string;
  /** When the holder took the lock (ms since the epoch). */
  since: number;
}

export interface ReplicaLock {
  /** Whether the lock is still on the file at its path (a replica disk unmounted and mounted again has another). */
  isCurrent(): boolean;
  release(): void;
}

/** Where a session keeps its lock between runs (watch holds it for the whole session). */
export interface LockSlot {
  held: ReplicaLock | null;
}

/** Either the lock, or who holds it (null when the holder's row cannot be read yet). */
type LockAttempt = { lock: ReplicaLock } | { holder: LockHolder | null };

const FILE = "lock";
const SCHEMA = "CREATE TABLE IF NOT EXISTS holder (token TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, since INTEGER NOT NULL)";
/** Rounds lost to another run's row before holding the lock anyway (the message another run gets may then name the wrong pid). */
const ROUNDS = 8;
/** A reader that catches a holder mid-commit, or a committer that catches a reader, tries again this often, up to this many times. */
const RETRY_MS = 2;
const RETRIES = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `sql`; false when another connection's lock is in the way (SQLITE_BUSY, with no wait). */
function tryExec(db: Database, sql: string): boolean {
  try {
    db.exec(sql);
    return true;
  } catch (err) {
    if (isBusy(err)) return false;
    throw err;
  }
}

/**
 * A commit waits out readers (SQLite needs them gone to write): each holds its read lock for one
 * SELECT. It awaits only then: between a commit and the hold that follows it, a turn of the event
 * loop would let another run of this process in.
 */
async function commit(db: Database): Promise<void> {
  if (tryExec(db, "COMMIT")) return;
  for (let i = 0; !tryExec(db, "COMMIT"); i++) {
    if (i >= RETRIES) {
      db.exec("ROLLBACK");
      throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
    }
    await sleep(RETRY_MS);
  }
}

/** The holder's row, once it is there and not our own (ours is there when another run took the lock between our commit and our hold). */
async function readHolder(db: Database, token: string): Promise<LockHolder | null> {
  for (let i = 0; i < RETRIES; i++) {
    try {
      const row = db.prepare("SELECT token, pid, host, since FROM holder").get();
      if (row && row.token !== token) return { pid: Number(row.pid), host: String(row.host), since: Number(row.since) };
    } catch (err) {
      // The holder is committing (BUSY), or has not made its table yet.
      if (!isBusy(err) && !/no such table/.test((err as Error).message)) throw err;
    }
    await sleep(RETRY_MS);
  }
  return null;
}

function identity(file: string): string | null {
  try {
    const st = lstatSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** Opens the lock file; a link or a folder in its place is refused, not followed. */
async function openLockFile(file: string): Promise<Database> {
  try {
    if (!lstatSync(file).isFile()) throw new SynchroError("MARKER_UNUSABLE", `${file} is not a file; synchro keeps the replica's lock there, so move it away and run again`);
  } catch (err) {
    if (err instanceof SynchroError) throw err;
    if (errnoOf(err) !== "ENOENT") throw new SynchroError("MARKER_UNUSABLE", `cannot open the replica's lock ${file}: ${errnoOf(err)}`);
  }
  let db: Database;
  try {
    db = await openDatabase(file);
  } catch (err) {
    throw new SynchroError("MARKER_UNUSABLE", `cannot open the replica's lock ${file}: ${(err as Error).message}`);
  }
  try {
    db.exec("PRAGMA busy_timeout = 0");
    // The row is only a message for runs turned away: it need not survive a power cut. This
    // reads the schema, which another run may be writing: that takes a moment, not a wait.
    for (let i = 0; !tryExec(db, "PRAGMA synchronous = OFF"); i++) {
      if (i >= RETRIES) throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
      await sleep(RETRY_MS);
    }
    return db;
  } catch (err) {
    db.close();
    throw new SynchroError("MARKER_UNUSABLE", `cannot open the replica's lock ${file}: ${(err as Error).message}`);
  }
}

/** Takes the replica's lock, or says who holds it. The marker folder must exist. */
export async function tryLock(replica: string, me: LockHolder): Promise<LockAttempt> {
  const file = markerPath(replica, FILE);
  const db = await openLockFile(file);
  let held = false;
  try {
    for (let round = 1; ; round++) {
      const token = randomBytes(8).toString("hex");
      if (!tryExec(db, "BEGIN IMMEDIATE")) return { holder: await readHolder(db, token) };
      try {
        db.exec(SCHEMA);
        db.exec("DELETE FROM holder");
        db.prepare("INSERT INTO holder (token, pid, host, since) VALUES (?, ?, ?, ?)").run(token, me.pid, me.host, me.since);
      } catch (err) {
        db.exec("ROLLBACK");
        throw err;
      }
      await commit(db);
      if (!tryExec(db, "BEGIN IMMEDIATE")) return { holder: await readHolder(db, token) };
      const row = db.prepare("SELECT token FROM holder").get();
      if (row?.token === token || round === ROUNDS) {
        held = true;
        return { lock: heldLock(db, file) };
      }
      // Another run wrote its row between our commit and our hold: let go, and try again a
      // random moment later, so that two runs cannot keep undoing each other in step.
      db.exec("ROLLBACK");
      await sleep(Math.random() * 5);
    }
  } catch (err) {
    if (err instanceof SynchroError) throw err;
    const what = (err as Error).message;
    // Its row is written without syncs: a power cut in the middle can leave it damaged.
    if (isCorrupt(err)) throw new SynchroError("MARKER_UNUSABLE", `the replica's lock ${file} is damaged (${what}); delete that file while no other sync of this replica runs, then run again`);
    // SQLite opens a file it may not write read-only, and says so at the first write.
    if (/readonly/.test(what)) throw new SynchroError("MARKER_UNUSABLE", `cannot take the replica's lock ${file}: it cannot be written (${what}: a read-only file system?); nothing was written`);
    throw new SynchroError("MARKER_UNUSABLE", `cannot use the replica's lock ${file}: ${what}`);
  } finally {
    if (!held) db.close();
  }
}

function heldLock(db: Database, file: string): ReplicaLock {
  const id = identity(file);
  let open = true;
  return {
    isCurrent: () => open && identity(file) === id,
    release() {
      if (!open) return;
      open = false;
      try {
        db.exec("ROLLBACK");
      } finally {
        // Closing drops the fcntl lock, which is all the ROLLBACK had to undo.
        db.close();
      }
    },
  };
}
