import { closeSync, constants, existsSync, openSync } from "node:fs";
import { mayUseProcFd } from "../runtime.ts";

/**
 * Replica directories opened without following links, so that no operation in the replica can
 * be led outside it by a symlink, even one swapped in while the run goes on (rsync's answer to
 * CVE-2024-12087/12088 is the same). A directory is opened from its parent's descriptor with
 * O_NOFOLLOW | O_DIRECTORY, component by component from the replica root; then each entry of it
 * is named as `/proc/self/fd/<fd>/<name>`: the kernel resolves that from the open directory,
 * whatever now stands at its path, and follows no link at `<name>` for calls that do not follow
 * a final link (lstat, O_NOFOLLOW opens, rename, unlink, rmdir, mkdir, symlink). Node has no
 * openat(); this is the same thing through paths, on Node and on Deno.
 *
 * Descriptors are cached by relative path. A caller that uses one later (a copy staged on
 * another thread, a rename on libuv's threads) holds it, and a held descriptor is never closed,
 * so its number cannot be reused for another directory under that caller's feet. Whoever
 * removes or moves a replica directory calls forget(): the cached descriptor would otherwise
 * keep naming the moved directory under its old path.
 */
const O_DIR = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0);
/** Unheld descriptors kept open for reuse: a directory's entries are written in bursts, in walk order. */
const CACHED = 128;

/**
 * Where the kernel names a process's open descriptors. Without it (not Linux, or Deno without
 * --allow-all) paths are used as they are: every write still refuses a link at its own name, but
 * a directory swapped for a link during the run could redirect it.
 */
const PROC_FD = "/proc/self/fd";
let procFd: boolean | undefined;
export const hasProcFd = (): boolean => (procFd ??= mayUseProcFd() && existsSync(PROC_FD));

/** How a descriptor of ours is named for path calls: `/proc/self/fd/<fd>`, or `fallback` where there is no /proc. */
export const fdPath = (fd: number, fallback: string): string => (hasProcFd() ? `${PROC_FD}/${fd}` : fallback);

export interface DirHandle {
  /** `/proc/self/fd/<fd>`: prefix an entry's name with it and a slash. */
  readonly path: string;
  readonly fd: number;
}

interface Slot extends DirHandle {
  dir: string;
  refs: number;
  /** Forgotten while held: closed at its last release. */
  stale: boolean;
}

export interface ReplicaDirs {
  /** The prefix for entries of `dir` ("" is the root), opened now if it is not open. Throws ELOOP or ENOTDIR where a component is not a real directory. */
  at(dir: string): string;
  /** Like at(), and kept open until release(): for a use after this call returns. */
  hold(dir: string): DirHandle;
  release(h: DirHandle): void;
  /** `dir` and everything below it was removed or moved away. */
  forget(dir: string): void;
  close(): void;
}

const parentOf = (path: string): string => {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
};

export function openReplicaDirs(root: string): ReplicaDirs {
  if (!hasProcFd()) return plainDirs(root);
  // Insertion order is recency: a use moves a slot to the end, eviction takes from the front.
  const slots = new Map<string, Slot>();
  const held = new Set<Slot>();

  function open(dir: string): Slot {
    const found = slots.get(dir);
    if (found) {
      slots.delete(dir);
      slots.set(dir, found);
      return found;
    }
    // The root may be reached through the user's own links above it; its last component is never one.
    const fd = dir === "" ? openSync(root, O_DIR) : openSync(`${open(parentOf(dir)).path}/${dir.slice(dir.lastIndexOf("/") + 1)}`, O_DIR);
    const slot: Slot = { dir, fd, path: `${PROC_FD}/${fd}`, refs: 0, stale: false };
    slots.set(dir, slot);
    evict();
    return slot;
  }

  function evict(): void {
    if (slots.size - held.size <= CACHED) return;
    for (const slot of slots.values()) {
      if (slots.size - held.size <= CACHED) return;
      if (slot.refs > 0) continue;
      slots.delete(slot.dir);
      closeSync(slot.fd);
    }
  }

  return {
    at: (dir) => open(dir).path,
    hold(dir) {
      const slot = open(dir);
      slot.refs++;
      held.add(slot);
      return slot;
    },
    release(h) {
      const slot = h as Slot;
      if (--slot.refs > 0) return;
      held.delete(slot);
      if (slot.stale) closeSync(slot.fd);
      else evict();
    },
    forget(dir) {
      const below = dir === "" ? "" : `${dir}/`;
      for (const slot of [...slots.values()]) {
        if (slot.dir !== dir && !slot.dir.startsWith(below)) continue;
        slots.delete(slot.dir);
        if (slot.refs > 0) slot.stale = true;
        else closeSync(slot.fd);
      }
    },
    close() {
      for (const slot of slots.values()) if (slot.refs === 0) closeSync(slot.fd);
      slots.clear();
      for (const slot of held) if (slot.refs > 0) slot.stale = true;
    },
  };
}

/** Without /proc: plain paths, the guarantee the per-operation O_NOFOLLOW checks give, and no more. */
function plainDirs(root: string): ReplicaDirs {
  const handle = (dir: string): DirHandle => ({ path: dir === "" ? root : `${root}/${dir}`, fd: -1 });
  return {
    at: (dir) => handle(dir).path,
    hold: handle,
    release() {},
    forget() {},
    close() {},
  };
}
