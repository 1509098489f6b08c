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

/** process.kill(pid, 0), to see whether a lock holder lives: Deno's --allow-run. */
export const maySignal = (): boolean => granted({ name: "run" });

/**
 * Node's bigint lstat gives times to the nanosecond; Deno's node:fs gives mtime to the
 * millisecond and ctime to the whole second, too coarse to tell one write from the next.
 */
export const statTimesExact = (): boolean => typeof Deno === "undefined";

/** Node's fs.copyFile with COPYFILE_EXCL creates the target O_EXCL; Deno's checks for it first, then opens following links. */
export const kernelCopyExclusive = (): boolean => typeof Deno === "undefined";

/**
 * Linux's O_PATH, with the value x64 and arm64 share, where Node hands open flags to the kernel
 * as they are; 0 elsewhere. Deno's node:fs translates flags itself and would drop it.
 */
export const pathOnlyOpenFlag = (): number =>
  process.platform === "linux" && typeof Deno === "undefined" && (process.arch === "x64" || process.arch === "arm64") ? 0o10000000 : 0;
