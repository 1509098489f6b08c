import { watch as fsWatch, lstatSync, type FSWatcher } from "node:fs";
import { dirname } from "node:path";
import { errnoOf } from "./errors.ts";
import { listSubdirs } from "./walk.ts";

/**
 * The one place that knows how the runtime watches a tree. Measured on this machine (10,000
 * files in 200 directories):
 * - Node 20 `fs.watch(dir, {recursive: true})` puts one inotify watch on every file and
 *   directory (10,201 watches, 148 ms to set up); one non-recursive watcher per directory needs
 *   201 watches and 15 ms, and a file written into a fresh `mkdir -p a/b/c` was seen 20 of 20 times.
 * - Deno's `fs.watch` recursive missed 20 of 20 files written right after `mkdir -p`;
 *   `Deno.watchFs` recursive (201 watches) saw every later write, so Deno uses that.
 * Either way an event is only a hint: the caller rescans the directory it names.
 */
export interface TreeEvents {
  /** Something in this directory (relative, "/"-separated, "" is the root) changed. */
  changed(dir: string): void;
  /** The kernel dropped events: only a full rescan is safe. */
  overflow(): void;
  /** A directory could not be watched, e.g. the inotify watch limit was reached. */
  error(err: unknown, dir: string): void;
}

export interface Closer {
  close(): void;
}

interface DenoFsEvent {
  kind: string;
  paths: string[];
  flag?: string;
}
interface DenoWatcher extends AsyncIterable<DenoFsEvent> {
  close(): void;
}
interface DenoApi {
  watchFs(paths: string, options: { recursive: boolean }): DenoWatcher;
}

const deno = (globalThis as { Deno?: DenoApi }).Deno;

const joinRel = (dir: string, name: string): string => (dir === "" ? name : `${dir}/${name}`);
const parentRel = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf("/")));

/** Watches `root` and every directory below it that `skip` lets through. */
export function watchTree(root: string, skip: (dir: string) => boolean, on: TreeEvents): Closer {
  return deno ? denoTree(deno, root, on) : nodeTree(root, skip, on);
}

/**
 * One watcher per directory, keyed by path with the inode it was opened on. A directory's
 * watcher is opened before it is listed, so a subdirectory made after the listing still
 * raises an event here; a new or replaced subdirectory is covered at once, in the event handler.
 */
function nodeTree(root: string, skip: (dir: string) => boolean, on: TreeEvents): Closer {
  const watched = new Map<string, { watcher: FSWatcher; ino: number }>();
  let closed = false;
  const abs = (rel: string): string => (rel === "" ? root : `${root}/${rel}`);

  function add(rel: string): void {
    if (closed || (rel !== "" && skip(rel))) return;
    let ino: number;
    let watcher: FSWatcher;
    try {
      // The inode first: if the directory is swapped before the watch opens, the next event sees a mismatch and re-adds.
      const st = lstatSync(abs(rel));
      if (!st.isDirectory()) return;
      ino = st.ino;
      watcher = fsWatch(abs(rel), { persistent: true }, (_type, name) => onEvent(rel, name));
    } catch (err) {
      if (errnoOf(err) !== "ENOENT" && errnoOf(err) !== "ENOTDIR") on.error(err, rel);
      return;
    }
    watcher.on("error", (err) => {
      drop(rel);
      on.error(err, rel);
    });
    watched.set(rel, { watcher, ino });
    for (const name of listSubdirs(abs(rel))) add(joinRel(rel, name));
  }

  function drop(rel: string): void {
    for (const [path, w] of watched) {
      if (path === rel || rel === "" || path.startsWith(rel + "/")) {
        w.watcher.close();
        watched.delete(path);
      }
    }
  }

  function onEvent(dir: string, name: string | Buffer | null): void {
    if (closed) return;
    on.changed(dir);
    if (name === null) return;
    const rel = joinRel(dir, String(name));
    let st = null;
    try {
      st = lstatSync(abs(rel));
    } catch {
      // Gone already: dropping its watchers below is all there is to do.
    }
    const known = watched.get(rel);
    if (st?.isDirectory()) {
      if (known?.ino === st.ino) return;
      drop(rel);
      add(rel);
    } else if (known) drop(rel);
  }

  add("");
  return {
    close() {
      closed = true;
      drop("");
    },
  };
}

/** Deno.watchFs covers new directories itself; paths come back absolute. Access events are our own reads. */
function denoTree(api: DenoApi, root: string, on: TreeEvents): Closer {
  let watcher: DenoWatcher;
  try {
    watcher = api.watchFs(root, { recursive: true });
  } catch (err) {
    on.error(err, "");
    return { close() {} };
  }
  let closed = false;
  (async () => {
    try {
      for await (const e of watcher) {
        if (e.flag === "rescan") on.overflow();
        if (e.kind === "access") continue;
        for (const p of e.paths) {
          if (p === root) on.changed("");
          else if (p.startsWith(root + "/")) on.changed(parentRel(p.slice(root.length + 1)));
        }
      }
    } catch (err) {
      if (!closed) on.error(err, "");
    }
  })();
  return {
    close() {
      closed = true;
      watcher.close();
    },
  };
}

/**
 * Calls `onChange` when something may have appeared at `path`: watches its nearest existing
 * ancestor, moving down as the missing levels come back.
 */
export function watchForPath(path: string, onChange: () => void): Closer {
  let current: Closer | null = null;
  let at = "";
  let closed = false;
  const nearest = (): string => {
    let p = dirname(path);
    while (p !== dirname(p) && !isDir(p)) p = dirname(p);
    return p;
  };
  const rewatch = (): void => {
    if (closed) return;
    const dir = nearest();
    if (dir !== at || !current) {
      current?.close();
      at = dir;
      current = watchOne(dir, () => {
        rewatch();
        onChange();
      });
    }
  };
  rewatch();
  return {
    close() {
      closed = true;
      current?.close();
    },
  };
}

function isDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A non-recursive watch of one directory; failures are silent because the caller also rechecks on a slow timer. */
function watchOne(dir: string, onEvent: () => void): Closer | null {
  try {
    if (deno) {
      const w = deno.watchFs(dir, { recursive: false });
      (async () => {
        try {
          for await (const e of w) if (e.kind !== "access") onEvent();
        } catch {
          // Closed, or the directory went away: the slow recheck takes over.
        }
      })();
      return w;
    }
    const w = fsWatch(dir, { persistent: true }, onEvent);
    w.on("error", () => w.close());
    return w;
  } catch {
    return null;
  }
}
