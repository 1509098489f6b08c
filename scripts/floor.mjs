// node scripts/floor.mjs <source> <replica> <changed-list> [index]
// The least a Node program can do for a re-sync, which the bench times beside synchro: both
// threads lstat their half of the source tree (no digests, no planning), then each replaces the
// changed files of its half as a safe mirror must (a temporary file, its mode and times, a rename
// over the old copy) and puts back the mtimes of the directories it touched. The list names the
// changed files, which a real tool has to find out from its state.
//
// With an index (a copy of synchro's), it also keeps what issue 6 asks of every sync: each
// changed file is hashed (xxh128, as synchro does) and its row read and rewritten with its hash
// and its replica inode and ctime, its operation is recorded for the history, and each touched
// directory's row and listing digest are rewritten; in one transaction, on the main thread, while
// the worker goes on (it sends its results after each top-level directory).
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { closeSync, fchmodSync, futimesSync, lstatSync, openSync, readFileSync, readdirSync, renameSync, utimesSync, writeSync } from "node:fs";
import { createRequire } from "node:module";

const [source, replica, listFile, indexFile] = isMainThread ? process.argv.slice(2) : workerData;
const require = createRequire(import.meta.url);
const listed = readFileSync(listFile, "utf8").split("\n").filter((rel) => rel !== "");
// As in synchro, a run with nothing to copy loads no hasher.
const hasher = indexFile && listed.length > 0 ? await require("hash-wasm").createXXHash128() : null;

const micros = (ns) => Number(ns / 1000n);

function walk(dir) {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const st = lstatSync(`${dir}/${d.name}`, { throwIfNoEntry: false });
    if (st?.isDirectory()) walk(`${dir}/${d.name}`);
  }
}

/** What the index keeps of one entry: its source facts, content hash and replica inode and ctime. */
function rowOf(rel, st, hash, dst) {
  const r = lstatSync(dst, { bigint: true });
  const kind = st.isDirectory() ? "dir" : "file";
  return { rel, kind, size: kind === "file" ? Number(st.size) : 0, mtime: micros(st.mtimeNs), mode: Number(st.mode) & 0o7777, ino: Number(st.ino), ctime: micros(st.ctimeNs), hash, rIno: Number(r.ino), rCtime: micros(r.ctimeNs) };
}

function replace(rel) {
  const src = `${source}/${rel}`;
  const dst = `${replica}/${rel}`;
  const tmp = `${dst.slice(0, dst.lastIndexOf("/") + 1)}.floor-${process.pid}.tmp`;
  const st = lstatSync(src, { bigint: true });
  const data = readFileSync(src);
  const hash = hasher?.init().update(data).digest("hex") ?? null;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, data);
    fchmodSync(fd, Number(st.mode) & 0o7777);
    futimesSync(fd, Date.now() / 1000, Number(st.mtimeNs / 1000n) / 1e6);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, dst);
  return hasher ? rowOf(rel, st, hash, dst) : null;
}

/** Walks the top-level entries in `tops`, replaces the changed files under each, and hands `done` the rows of each. */
async function doHalf(tops, done) {
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
      rows.push(replace(rel));
      const cut = rel.lastIndexOf("/");
      dirs.add(cut < 0 ? "" : rel.slice(0, cut));
    }
    if (hasher) await done(rows);
  }
  const rows = [];
  for (const dir of dirs) {
    const st = lstatSync(`${source}/${dir}`, { bigint: true });
    utimesSync(`${replica}/${dir}`, Date.now() / 1000, Number(st.mtimeNs / 1000n) / 1e6);
    if (hasher) rows.push(rowOf(dir, st, null, `${replica}/${dir}`));
  }
  if (hasher) await done(rows, true);
}

/** The index's side of the floor: synchro's own tables, written as synchro's store writes them. */
function openIndex(file) {
  const db = new (require("better-sqlite3"))(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("cache_size = -2000");
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
  const op = db.prepare("INSERT INTO ops (run, time, action, path, size) VALUES (?, ?, 'update', ?, ?)");
  const digest = db.prepare("UPDATE digests SET digest = ?, prints = ? WHERE pair = ? AND dir = ?");
  const split = (p) => {
    const cut = p.lastIndexOf("/");
    return cut < 0 ? ["", p] : [p.slice(0, cut), p.slice(cut + 1)];
  };
  db.exec("BEGIN IMMEDIATE");
  return {
    record(rows, dirs) {
      for (const r of rows) {
        const [dir, name] = split(r.rel);
        get.get(pair, dir, name);
        put.run(pair, dir, name, r.kind === "dir" ? 2 : 1, r.size, r.mtime, r.mode, r.ino, r.ctime, r.hash && Buffer.from(r.hash, "hex"), r.rIno, r.rCtime);
        if (r.kind === "dir") continue;
        op.run(run, Date.now(), r.rel, r.size);
      }
      // A real run computes each touched directory's new digest from its listing; its prints are rewritten whole.
      prints ??= new Map(db.prepare("SELECT dir, prints FROM digests WHERE pair = ? AND prints IS NOT NULL").all(pair).map((r) => [r.dir, r.prints]));
      if (dirs) for (const r of rows) digest.run(`floor-${r.rel}-${Date.now()}`, prints.get(r.rel) ?? null, pair, r.rel);
    },
    close() {
      db.exec("COMMIT");
      db.close();
    },
  };
}

const tops = readdirSync(source).sort();
const half = Math.ceil(tops.length / 2);
if (isMainThread) {
  const index = indexFile ? openIndex(indexFile) : null;
  const worker = new Worker(new URL(import.meta.url), { workerData: [source, replica, listFile, indexFile] });
  const exited = new Promise((resolve, reject) => worker.once("exit", resolve).once("error", reject));
  // The worker's last message is its directories' rows: the index is complete once that is recorded.
  const recorded = new Promise((resolve) => {
    if (!hasher) resolve();
    worker.on("message", ({ rows, dirs }) => {
      index.record(rows, dirs);
      if (dirs) resolve();
    });
  });
  // Between its own top-level directories the main thread records what the worker sent meanwhile.
  await doHalf(tops.slice(0, half), async (rows, dirs) => {
    index.record(rows, dirs);
    await new Promise(setImmediate);
  });
  await exited;
  await recorded;
  index?.close();
} else {
  await doHalf(tops.slice(half), (rows, dirs) => parentPort.postMessage({ rows, dirs }));
}
