import { renameEntry, isRealDir, setMeta } from "./apply.ts";
import { joinPath, sameFileMeta, sameMtime } from "./plan.ts";
import { inodeAndCtime, lstatExact, mtimeOf, statEntry, type Entry } from "./walk.ts";
import { hashFile } from "./hash.ts";
import { dstAbs, dstPlain, openParent, parentOf, putRow, record, srcAbs, type RunState } from "./run.ts";
import { noteRow, untrack } from "./redigest.ts";

/** The replica's copy of `path` still is what the index says we wrote there. */
function replicaMatches(s: RunState, path: string, row: Entry & { rIno: number | null }): boolean {
  for (let p = parentOf(path); p !== ""; p = parentOf(p)) if (!isRealDir(dstPlain(s, p))) return false;
  let st;
  try {
    st = lstatExact(dstAbs(s, path));
  } catch {
    return false;
  }
  if (row.rIno !== null && Number(st.ino) !== row.rIno) return false;
  if (row.kind === "dir") return st.isDirectory();
  if (row.kind === "symlink") return st.isSymbolicLink();
  return st.isFile() && Number(st.size) === row.size && sameMtime(mtimeOf(st), row.mtime);
}

/**
 * A moved file keeps its inode but its ctime moves, so size and mtime are all that match: a
 * rewrite that kept them (cp -p, touch -r) would move stale bytes. The content decides. Asked
 * last, once the replica copy is known to be a real file; a file that cannot be read is copied.
 * Returns the content hash when both sides hold it, for the row, else null.
 */
function sameContent(s: RunState, path: string, from: string, hash: string | null): string | null {
  try {
    const ours = hashFile(srcAbs(s, path));
    return ours === (hash ?? hashFile(dstAbs(s, from))) ? ours : null;
  } catch {
    return null;
  }
}

/**
 * A new source path whose inode the index knows under another path that is gone from the
 * source is a rename: move the replica copy instead of copying again. A directory moves in
 * one rename, and its rows move with it. Trusted only if the replica still matches the index.
 */
export function tryRename(s: RunState, path: string, entry: Entry): boolean {
  if (s.pair < 0) return false;
  for (const row of s.deps.store.entries.byIno(s.pair, entry.ino)) {
    const from = joinPath(row.dir, row.name);
    // A directory cannot move into its own subtree (EINVAL): that new copy is made, not moved.
    if (from === path || row.kind !== entry.kind || path.startsWith(`${from}/`)) continue;
    if (entry.kind === "file" && !sameFileMeta(row, entry)) continue;
    if (entry.kind === "symlink" && row.target !== entry.target) continue;
    if (s.renamedAway.has(from) || s.cfg.isExcluded(from, row.kind)) continue;
    const still = statEntry(srcAbs(s, from), row.name);
    if (still && still.ino === entry.ino) continue; // a hard link, not a rename
    if (!replicaMatches(s, from, row)) continue;
    const hash = entry.kind === "file" ? sameContent(s, path, from, row.hash) : row.hash;
    if (entry.kind === "file" && hash === null) continue;
    if (!s.cfg.dryRun) {
      openParent(s, from);
      openParent(s, path);
      // A moved dir that is itself read-only needs write access to rewrite its ".." entry.
      if (row.kind === "dir") openParent(s, `${from}/.`);
      renameEntry(dstAbs(s, from), dstAbs(s, path));
      // Open descriptors of the moved directory would still name it under its old path.
      if (row.kind === "dir") {
        s.dirs?.forget(from);
        s.dirs?.forget(path);
      }
      s.deps.store.write(() => s.deps.store.entries.move(s.pair, from, path));
      // The row left `from`'s directory; rows that moved with a directory are no longer where they were followed.
      noteRow(s, parentOf(from), row.name, null);
      if (row.kind === "dir") {
        untrack(s, from);
        untrack(s, path);
      }
      // A moved dir gets its mode and mtime once its contents settle (finishDir); a file or link now.
      if (entry.kind === "dir") s.touched.add(path);
      else if (row.mode !== entry.mode || row.mtime !== entry.mtime) setMeta(dstAbs(s, path), entry);
      putRow(s, path, entry, { hash, ...inodeAndCtime(dstAbs(s, path)) });
      s.touched.add(parentOf(from));
      s.touched.add(parentOf(path));
    }
    s.renamedAway.set(from, s.renamedAway.size + 1);
    record(s, "rename", path, entry.kind === "file" ? entry.size : null, { from });
    return true;
  }
  return false;
}
