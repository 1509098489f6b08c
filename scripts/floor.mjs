// node scripts/floor.mjs <source> <replica> <index|-> [changed-list]
// The least a Node program can do for a sync, which the bench times beside synchro. The tree's
// top-level entries are split in two halves, one per thread (the main thread and a worker):
// - with a list of changed files, a re-sync: each thread lstats its half of the source tree (no
//   digests, no planning), then replaces the changed files of its half as a safe mirror must (a
//   temporary file, its mode and times, a rename over the old copy) and puts back the mtimes of
//   the directories it touched. The list names the changed files, which a real tool has to find
//   out from its state;
// - without one, a first copy: each thread copies its half the same way, file by file, and sets
//   each directory's mode and mtime once its contents are in.
//
// With an index it also keeps what issue 6 asks of every sync, as synchro's index keeps it: each
// file copied is hashed (xxh128, as synchro does) and its row written with its hash and its
// replica inode and ctime (read first on a re-sync), its operation is recorded for the history,
// and each directory written has its row and its listing digest with one print per entry. The
// index is one synchro made (a copy of its index for a re-sync, one with no rows for a first copy),
// so its tables are synchro's own.
// The main thread writes it all in one transaction, between its own top-level entries, while the
// worker goes on (the worker sends its rows after each of its top-level entries).
import { Worker, isMainThread, parentPort, threadId, workerData } from "node:worker_threads";
import {
  chmodSync, closeSync, fchmodSync, futimesSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, utimesSync, writeSync,
} from "node:fs";
import { createRequire } from "node:module";

const [source, replica, indexArg, listFile] = isMainThread ? process.argv.slice(2) : workerData;
const indexFile = indexArg === "-" ? null : indexArg;
const require = createRequire(import.meta.url);
const listed = listFile ? readFileSync(listFile, "utf8").split("\n").filter((rel) => rel !== "") : null;
// As in synchro, a run with nothing to copy loads no hasher.
const hasher = indexFile && listed?.length !== 0 ? await require("hash-wasm").createXXHash128() : null;

const micros = (ns) => Number(ns / 1000n);
const seconds = (st) => Number(st.mtimeNs / 1000n) / 1e6;
let temps = 0;

function walk(dir) {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const st = lstatSync(`${dir}/${d.name}`, { throwIfNoEntry: false });
    if (st?.isDirectory()) walk(`${dir}/${d.name}`);
  }
}

/** What the index keeps of one entry: its source facts, content hash and replica inode and ctime. */
function rowOf(rel, st, hash, dst, prints = 0) {
  const r = lstatSync(dst, { bigint: true });
  const kind = st.isDirectory() ? "dir" : "file";
  return {
    rel, kind, size: kind === "file" ? Number(st.size) : 0, mtime: micros(st.mtimeNs), mode: Number(st.mode) & 0o7777, ino: Number(st.ino),
    ctime: micros(st.ctimeNs), hash, rIno: Number(r.ino), rCtime: micros(r.ctimeNs), prints,
  };
}

/** Copies one file through a temporary file renamed over `rel` in the replica. */
function copyFile(rel, st = lstatSync(`${source}/${rel}`, { bigint: true })) {
  const dst = `${replica}/${rel}`;
  const tmp = `${dst.slice(0, dst.lastIndexOf("/") + 1)}.floor-${threadId}-${temps++}.tmp`;
  const data = readFileSync(`${source}/${rel}`);
  const hash = hasher?.init().update(data).digest("hex") ?? null;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, data);
    fchmodSync(fd, Number(st.mode) & 0o7777);
    futimesSync(fd, Date.now() / 1000, seconds(st));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, dst);
  return hasher ? rowOf(rel, st, hash, dst) : null;
}

/** A first copy of `rel` and everything beneath it; the rows of what it wrote go into `rows`. */
function copyTree(rel, rows) {
  const st = lstatSync(`${source}/${rel}`, { bigint: true });
  if (!st.isDirectory()) {
    rows.push(copyFile(rel, st));
    return;
  }
  const names = readdirSync(`${source}/${rel}`);
  mkdirSync(`${replica}/${rel}`);
  for (const name of names) copyTree(`${rel}/${name}`, rows);
  chmodSync(`${replica}/${rel}`, Number(st.mode) & 0o7777);
  utimesSync(`${replica}/${rel}`, Date.now() / 1000, seconds(st));
  if (hasher) rows.push(rowOf(rel, st, null, `${replica}/${rel}`, names.length));
}

/** A re-sync of the top-level entries in `tops`: walked, then their changed files replaced, and the touched directories' mtimes put back. */
async function resyncHalf(tops, done) {
  const changed = new Map();
  for (const rel of listed) {
    const top = rel.split("/")[0];
    if (!changed.has(top)) changed.set(top, []);
    changed.get(top).push(rel);
  }
  const dirs = new Set();
  for (const t of tops) {
    if (lstatSync(`${source}/${t}`).isDirectory()) walk(`${source}/${t}`);
    const rows = [];
    for (const rel of changed.get(t) ?? []) {
      rows.push(copyFile(rel));
      const cut = rel.lastIndexOf("/");
      dirs.add(cut < 0 ? "" : rel.slice(0, cut));
    }
    if (hasher) await done(rows);
  }
  const rows = [];
  for (const dir of dirs) {
    const st = lstatSync(`${source}/${dir}`, { bigint: true });
    utimesSync(`${replica}/${dir}`, Date.now() / 1000, seconds(st));
    // The root has no row.
    if (hasher && dir !== "") rows.push(rowOf(dir, st, null, `${replica}/${dir}`));
  }
  if (hasher) await done(rows, true);
}

/** A first copy of the top-level entries in `tops`. */
async function copyHalf(tops, done) {
  for (const t of tops) {
    const rows = [];
    copyTree(t, rows);
    if (hasher) await done(rows);
  }
  if (hasher) await done([], true);
}

/** The index's side of the floor: synchro's own tables, in an index synchro made, written as its store writes them. */
function openIndex(file) {
  const db = new (require("better-sqlite3"))(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("cache_size = -2000");
  const copy = listed === null;
  const pair = db.prepare("SELECT id FROM pairs ORDER BY id").get().id;
  const run = db.prepare("INSERT INTO runs (pair, trigger, started_at) VALUES (?, 'floor', ?)").run(pair, Date.now()).lastInsertRowid;
  // Read as synchro reads them: all at once, and only when something changed.
  let prints = null;
  const get = db.prepare("SELECT * FROM entries WHERE pair = ? AND dir = ? AND name = ?");
  const put = db.prepare(
    "INSERT INTO entries (pair, dir, name, kind, size, mtime, mode, ino, ctime, target, hash, r_ino, r_ctime) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?) " +
      "ON CONFLICT (pair, dir, name) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, mode = excluded.mode, ctime = excluded.ctime, " +
      "hash = excluded.hash, r_ino = excluded.r_ino, r_ctime = excluded.r_ctime",
  );
  const op = db.prepare("INSERT INTO ops (run, time, action, path, size) VALUES (?, ?, ?, ?, ?)");
  const digest = copy
    ? db.prepare("INSERT INTO digests (digest, prints, pair, dir) VALUES (?, ?, ?, ?)")
    : db.prepare("UPDATE digests SET digest = ?, prints = ? WHERE pair = ? AND dir = ?");
  const split = (p) => {
    const cut = p.lastIndexOf("/");
    return cut < 0 ? ["", p] : [p.slice(0, cut), p.slice(cut + 1)];
  };
  db.exec("BEGIN IMMEDIATE");
  return {
    record(rows) {
      for (const r of rows) {
        const [dir, name] = split(r.rel);
        if (!copy) get.get(pair, dir, name);
        put.run(pair, dir, name, r.kind === "dir" ? 1 : 0, r.size, r.mtime, r.mode, r.ino, r.ctime, r.hash && Buffer.from(r.hash, "hex"), r.rIno, r.rCtime);
        if (r.kind === "file") op.run(run, Date.now(), copy ? "create" : "update", r.rel, r.size);
        else if (copy) digest.run(`floor-${r.rel}`, Buffer.alloc(8 * r.prints), pair, r.rel);
        else {
          // A real run computes the directory's new digest from its listing; its prints are rewritten whole.
          prints ??= new Map(db.prepare("SELECT dir, prints FROM digests WHERE pair = ? AND prints IS NOT NULL").all(pair).map((p) => [p.dir, p.prints]));
          digest.run(`floor-${r.rel}-${Date.now()}`, prints.get(r.rel) ?? null, pair, r.rel);
        }
      }
    },
    close() {
      db.exec("COMMIT");
      db.close();
    },
  };
}

const tops = readdirSync(source).sort();
const half = Math.ceil(tops.length / 2);
const doHalf = listed ? resyncHalf : copyHalf;
if (isMainThread) {
  const root = lstatSync(source, { bigint: true });
  if (!listed) mkdirSync(replica, { recursive: true });
  const index = indexFile ? openIndex(indexFile) : null;
  const worker = new Worker(new URL(import.meta.url), { workerData: [source, replica, indexArg, listFile] });
  const exited = new Promise((resolve, reject) => worker.once("exit", resolve).once("error", reject));
  // The worker's last message says it is done: the index is complete once that is recorded.
  const recorded = new Promise((resolve) => {
    if (!hasher) resolve();
    worker.on("message", ({ rows, last }) => {
      index.record(rows);
      if (last) resolve();
    });
  });
  // Between its own top-level entries the main thread records what the worker sent meanwhile.
  await doHalf(tops.slice(0, half), async (rows) => {
    index.record(rows);
    await new Promise(setImmediate);
  });
  await exited;
  await recorded;
  if (!listed) utimesSync(replica, Date.now() / 1000, seconds(root));
  index?.close();
} else {
  await doHalf(tops.slice(half), (rows, last = false) => parentPort.postMessage({ rows, last }));
}
