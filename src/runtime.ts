import { statfsSync } from "node:fs";
import { hostname } from "node:os";

/**
 * What differs on Deno besides SQLite (store/db.ts): permissions. A call that needs one that was
 * not granted makes Deno ask at a terminal (the run hangs on a prompt) or throw elsewhere. The
 * documented `deno run --allow-read --allow-write --allow-env` grants neither of these, so the
 * callers ask first (querySync never prompts) and fall back to what is safe.
 */
interface DenoPermissions {
  permissions: { querySync(desc: { name: string; kind?: string }): { state: string } };
}
declare const Deno: DenoPermissions | undefined;

const granted = (desc: { name: string; kind?: string }): boolean =>
  typeof Deno === "undefined" || Deno.permissions.querySync(desc).state === "granted";

/** access() checks the uid: Deno's --allow-sys=uid. */
export const mayCheckAccess = (): boolean => granted({ name: "sys", kind: "uid" });

/**
 * Paths under /proc/self/fd, through which replica writes are anchored (src/replica/dirs.ts):
 * Deno allows them only with every permission (--allow-all), as they could reach any open file.
 */
export const mayUseProcFd = (): boolean =>
  typeof Deno === "undefined" || ["read", "write", "net", "env", "sys", "run", "ffi"].every((name) => granted({ name }));

/** This machine's name, which a replica's lock holder leaves for the runs it turns away; Deno asks --allow-sys=hostname, else "". */
export const hostName = (): string => (granted({ name: "sys", kind: "hostname" }) ? hostname() : "");

/**
 * Node's bigint lstat gives times to the nanosecond; Deno's node:fs gives mtime to the
 * millisecond and ctime to the whole second, too coarse to tell one write from the next.
 */
export const statTimesExact = (): boolean => typeof Deno === "undefined";

const EXT4_MAGIC = 0xef53;

/**
 * Linux's O_PATH (the value x64 and arm64 share), for holding the files a run replaces in `dir`
 * (src/placing.ts), or 0: it is measured to pay on ext4 only, and on NFS a held file makes each
 * rename a silly-rename (an extra RENAME and REMOVE round trip). Node only: not measured on Deno.
 */
export function pathOnlyOpenFlag(dir: string): number {
  if (process.platform !== "linux" || typeof Deno !== "undefined" || (process.arch !== "x64" && process.arch !== "arm64")) return 0;
  try {
    return statfsSync(dir).type === EXT4_MAGIC ? 0o10000000 : 0;
  } catch {
    return 0;
  }
}
