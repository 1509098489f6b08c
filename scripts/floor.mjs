// node scripts/floor.mjs <source> <replica> <changed-list>
// The least a Node program can do for a re-sync, which the bench times beside synchro: both
// threads lstat their half of the source tree (no index, no digests, no planning, no history),
// then each replaces the changed files of its half as a safe mirror must (a temporary file, its
// mode and times, a rename over the old copy) and puts back the mtimes of the directories it
// touched. The list names the changed files, which a real tool has to find out from its state.
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { closeSync, fchmodSync, futimesSync, lstatSync, openSync, readFileSync, readdirSync, renameSync, utimesSync, writeSync } from "node:fs";

const [source, replica, listFile] = isMainThread ? process.argv.slice(2) : workerData;

function walk(dir) {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const st = lstatSync(`${dir}/${d.name}`, { throwIfNoEntry: false });
    if (st?.isDirectory()) walk(`${dir}/${d.name}`);
  }
}

function replace(rel) {
  const src = `${source}/${rel}`;
  const dst = `${replica}/${rel}`;
  const tmp = `${dst.slice(0, dst.lastIndexOf("/") + 1)}.floor-${process.pid}.tmp`;
  const st = lstatSync(src);
  const data = readFileSync(src);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, data);
    fchmodSync(fd, st.mode & 0o7777);
    futimesSync(fd, st.atime, st.mtime);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, dst);
}

/** Walks the top-level entries in `tops`, then replaces the changed files under them. */
function doHalf(tops) {
  for (const t of tops) {
    const st = lstatSync(`${source}/${t}`);
    if (st.isDirectory()) walk(`${source}/${t}`);
  }
  const mine = new Set(tops);
  const dirs = new Set();
  for (const rel of readFileSync(listFile, "utf8").split("\n")) {
    if (rel === "" || !mine.has(rel.split("/")[0])) continue;
    replace(rel);
    const cut = rel.lastIndexOf("/");
    dirs.add(cut < 0 ? "" : `/${rel.slice(0, cut)}`);
  }
  for (const dir of dirs) {
    const st = lstatSync(source + dir);
    utimesSync(replica + dir, st.atime, st.mtime);
  }
}

const tops = readdirSync(source).sort();
const half = Math.ceil(tops.length / 2);
if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url), { workerData: [source, replica, listFile] });
  const other = new Promise((resolve, reject) => worker.once("exit", resolve).once("error", reject));
  doHalf(tops.slice(0, half));
  await other;
} else {
  doHalf(tops.slice(half));
}
