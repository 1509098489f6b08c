import { statfsSync } from "node:fs";
import { hostname } from "node:os";
import { SynchroError } from "./errors.ts";

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

/** What each Deno permission lets a program do, for the line that names a missing one. */
const USES: Record<string, string> = {
  read: "read",
  write: "write",
  env: "use the environment variable",
  sys: "ask the system for",
  run: "run",
  net: "reach",
  ffi: "load",
};

/** Deno's own words for a permission it refused: `Requires write access to "/x", run again with the --allow-write flag`. */
const REFUSAL = /Requires (\w+) access to "?(.*?)"?, run again with the --allow-\w+ flag/;

/**
 * A permission Deno refused (its NotCapable error, or the same words carried over from a worker
 * or inside another SynchroError's message), as the one failure to report, or null for anything
 * else. Refused once, it is refused for every file: a run stops there rather than record an
 * error per file.
 */
export function permissionRefused(err: unknown): SynchroError | null {
  if (typeof Deno === "undefined" || (err instanceof SynchroError && err.code === "DENO_PERMISSION")) return null;
  const message = String((err as Error | null)?.message ?? "");
  const m = REFUSAL.exec(message);
  if (!m && (err as Error | null)?.name !== "NotCapable") return null;
  // Worded otherwise by some other Deno: its own words then.
  const needs = m ? `--allow-${m[1]} to ${USES[m[1]!] ?? "use"} ${m[2]}` : `a permission (${message})`;
  const data = m ? { permission: m[1], target: m[2] } : {};
  return new SynchroError("DENO_PERMISSION", `Deno needs ${needs}; run with --allow-read --allow-write --allow-env, or -A`, data);
}

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
