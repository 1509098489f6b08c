import type { DirHandle, ReplicaDirs } from "./dirs.ts";

/**
 * Replica paths as the run names them to the kernel. Writes go through a parent directory's
 * anchor (src/replica/dirs.ts); reads that write nothing may go by plain path.
 */
export interface ReplicaSide {
  readonly cfg: { readonly replica: string };
  /** Null on a dry run, which writes nothing. */
  readonly dirs: ReplicaDirs | null;
}

const parentOf = (path: string): string => {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
};

/**
 * A replica path for a call made now: its parent directory's anchor (see src/replica/dirs.ts)
 * plus its name, so no link in the replica is followed on the way. The root is the configured
 * path, whose own last component the anchor's open proves is no link.
 */
export const dstAbs = (s: ReplicaSide, path: string): string => {
  if (path === "") return s.cfg.replica;
  if (!s.dirs) return `${s.cfg.replica}/${path}`;
  const i = path.lastIndexOf("/");
  return i < 0 ? `${s.dirs.at("")}/${path}` : `${s.dirs.at(path.slice(0, i))}/${path.slice(i + 1)}`;
};

/** A replica path for a read that writes nothing (is it a real directory?): no directory is opened to anchor it. */
export const dstPlain = (s: ReplicaSide, path: string): string => (path === "" ? s.cfg.replica : `${s.cfg.replica}/${path}`);

/** A replica directory itself, for listing it: its own anchor, which readdir follows to the directory it holds. */
export const dstDir = (s: ReplicaSide, dir: string): string => (s.dirs ? s.dirs.at(dir) : dir === "" ? s.cfg.replica : `${s.cfg.replica}/${dir}`);

/** A replica path held for a use after this call returns: a copy's final name, valid until `release`. */
export interface HeldPath {
  dst: string;
  release(): void;
}

export function holdPath(s: ReplicaSide, path: string): HeldPath {
  if (!s.dirs) return { dst: dstAbs(s, path), release() {} };
  const dirs = s.dirs;
  const h: DirHandle = dirs.hold(parentOf(path));
  let held = true;
  return {
    dst: `${h.path}/${path.slice(path.lastIndexOf("/") + 1)}`,
    release() {
      if (!held) return;
      held = false;
      dirs.release(h);
    },
  };
}
