import { inTransaction, type Database } from "./db.ts";

/**
 * A column added, unless it is there: SQLite has no ADD COLUMN IF NOT EXISTS, and an index whose
 * user_version was set back (a test does) would fail its migration otherwise.
 */
const addColumn = (table: string, column: string, type: string) => (db: Database): void => {
  const has = db.prepare(`PRAGMA table_info(${table})`).all().some((c) => c.name === column);
  if (!has) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
};

/** Each entry moves the schema one version up; PRAGMA user_version says how many have run. */
const MIGRATIONS: (string | ((db: Database) => void))[] = [
  `CREATE TABLE pairs (
     id INTEGER PRIMARY KEY,
     source TEXT NOT NULL,
     replica TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     UNIQUE (source, replica)
   );
   CREATE TABLE entries (
     pair INTEGER NOT NULL,
     dir TEXT NOT NULL,
     name TEXT NOT NULL,
     kind INTEGER NOT NULL,
     size INTEGER NOT NULL,
     mtime INTEGER NOT NULL,
     mode INTEGER NOT NULL,
     ino INTEGER NOT NULL,
     ctime INTEGER NOT NULL,
     target TEXT,
     hash BLOB,
     r_ino INTEGER,
     r_ctime INTEGER,
     PRIMARY KEY (pair, dir, name)
   ) WITHOUT ROWID;
   CREATE INDEX entries_ino ON entries (pair, ino);
   CREATE TABLE runs (
     id INTEGER PRIMARY KEY,
     pair INTEGER NOT NULL,
     trigger TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     ended_at INTEGER,
     result TEXT,
     counts TEXT,
     bytes INTEGER NOT NULL DEFAULT 0,
     errors INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX runs_pair ON runs (pair, id);
   CREATE TABLE ops (
     id INTEGER PRIMARY KEY,
     run INTEGER NOT NULL,
     time INTEGER NOT NULL,
     action TEXT NOT NULL,
     path TEXT NOT NULL,
     size INTEGER,
     from_path TEXT,
     error TEXT
   );
   CREATE INDEX ops_run ON ops (run);
   CREATE INDEX ops_time ON ops (time);
   CREATE TABLE locks (
     replica TEXT PRIMARY KEY,
     pid INTEGER NOT NULL,
     since INTEGER NOT NULL
   );`,
  // History queries read newest first: each index ends in time, so a filter on its leading
  // column walks ops in time order and stops at --limit instead of sorting every match.
  // ops_path serves the literal head of a --path glob. (Migration 6 drops both.)
  `CREATE INDEX ops_run_time ON ops (run, time);
   DROP INDEX ops_run;
   CREATE INDEX ops_action_time ON ops (action, time);
   CREATE INDEX ops_path ON ops (path);`,
  // Whether a run listed the replica: a scan that ended short of "ok" left replica-only entries
  // undeleted that no index row remembers, so the next run must list the replica again.
  `ALTER TABLE runs ADD COLUMN full INTEGER NOT NULL DEFAULT 0;`,
  // A directory's listing digest, kept only while its index rows match that listing exactly: a
  // re-sync then skips the rows of every directory whose listing hashes the same (src/digest.ts).
  `CREATE TABLE digests (
     pair INTEGER NOT NULL,
     dir TEXT NOT NULL,
     digest TEXT NOT NULL,
     PRIMARY KEY (pair, dir)
   ) WITHOUT ROWID;`,
  // Each entry's print beside its directory's digest: which entries changed, when it no longer
  // matches. A rowid table: a WITHOUT ROWID row is kept to about 1 KB in its page, and the
  // prints of a 143-entry directory (1.1 KB) went to an overflow page each, 33 bytes a file in
  // all. Digests are only a cache: the next run plans every directory once and stores them again.
  `DROP TABLE digests;
   CREATE TABLE digests (
     pair INTEGER NOT NULL,
     dir TEXT NOT NULL,
     digest TEXT NOT NULL,
     prints BLOB,
     PRIMARY KEY (pair, dir)
   );`,
  // History now tests action and path on its way through ops_time (src/store/ops.ts). Their
  // indexes cost every recorded op two more b-tree inserts: 1.4 µs and 55-60 bytes an op. IF EXISTS:
  // an index whose user_version was set back (a test does) has them already dropped.
  `DROP INDEX IF EXISTS ops_action_time;
   DROP INDEX IF EXISTS ops_path;`,
  // What each pair remembers between runs (src/settings.ts), as JSON: excludes, backup dir, limits.
  addColumn("pairs", "settings", "TEXT"),
  // Why a run was refused (or failed): refusals are runs too, so history shows the 3am run that did nothing.
  addColumn("runs", "reason", "TEXT"),
  // The id in the replica's marker (src/replica/marker.ts) the pair was last synced to: a replica
  // without it is an unmounted disk, one with another id a different disk.
  addColumn("pairs", "marker", "TEXT"),
  // The run lock moved into that marker (src/replica/lock.ts), where every index sees it and the kernel frees it.
  `DROP TABLE IF EXISTS locks;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

const userVersion = (db: Database): number => Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);

export function migrate(db: Database): void {
  if (userVersion(db) === SCHEMA_VERSION) return;
  // Read the version again inside the write lock: two first runs may race to create the schema.
  inTransaction(db, () => {
    const version = userVersion(db);
    if (version > SCHEMA_VERSION) {
      throw new Error(`index schema version ${version} is newer than this synchro understands (${SCHEMA_VERSION})`);
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v]!;
      if (typeof step === "string") db.exec(step);
      else step(db);
    }
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
}
