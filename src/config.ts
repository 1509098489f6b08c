import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import picomatch from "picomatch";
import { mayCheckAccess, permissionRefused } from "./runtime.ts";
import { SynchroError, errnoOf, type ErrorCode } from "./errors.ts";
import { dirIdOf, sameDir, type Kind } from "./walk.ts";
import { givenSettings, type PairSettings } from "./settings.ts";

/** Everything a run needs, checked once: absolute real paths, compiled excludes, parsed limits. */
export interface Config {
  readonly source: string;
  readonly replica: string;
  readonly state: string;
  readonly excludes: readonly string[];
  readonly isExcluded: (path: string, kind: Kind) => boolean;
  readonly dryRun: boolean;
  readonly checksum: boolean;
  readonly full: boolean;
  readonly force: boolean;
  readonly maxDelete: DeleteLimit;
  readonly backupDir: string | null;
  readonly keepDays: number | null;
  readonly historyDays: number;
  readonly wait: boolean;
  /** The options of these that the pair remembers, in their stored form (src/settings.ts). */
  readonly settings: PairSettings;
}

export type DeleteLimit = { count: number } | { percent: number };

export interface PathOptions {
  source: string;
  replica: string;
  state?: string;
}

export interface ConfigOptions extends PathOptions {
  exclude?: string | string[];
  dryRun?: boolean;
  checksum?: boolean;
  full?: boolean;
  force?: boolean;
  maxDelete?: string | number;
  backupDir?: string;
  keep?: number | string;
  historyDays?: number | string;
  wait?: boolean;
  /** Forget the settings stored for this pair: only these options (and the defaults) count. */
  reset?: boolean;
}

export const IGNORE_FILE = ".synchroignore";

/** The replica's marker folder, at its root: see src/replica/marker.ts. */
export const MARKER_DIR = ".synchro";

/**
 * The first exclude of every run: the replica's marker is synchro's own, never copied from a
 * source root (a replica synced on, A -> B -> C), never deleted or reported as drift in the replica.
 */
export const MARKER_EXCLUDE = `/${MARKER_DIR}`;

export function defaultStatePath(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(base, "synchro", "index.db");
}

const isInside = (child: string, parent: string): boolean => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

/** Resolves the replica through its nearest existing ancestor, so symlinks and '..' cannot hide nesting. */
function realReplica(abs: string): string {
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  if (!existsSync(parent)) {
    throw new SynchroError("REPLICA_PARENT_MISSING", `replica's parent folder does not exist: ${parent}`);
  }
  return join(realpathSync(parent), basename(abs));
}

/**
 * Checks, creating nothing, that `file` could be opened for writing: its nearest existing
 * ancestor is a writable directory, or it is itself a writable non-directory. Bad input must
 * fail before the log or the index is made, so neither is left behind by the other's failure.
 */
export function checkWritableFile(file: string, code: ErrorCode, label: string): void {
  for (let p = file; ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      // ENOTDIR: a parent is a file; walking up finds it and names it.
      if ((errnoOf(err) === "ENOENT" || errnoOf(err) === "ENOTDIR") && p !== dirname(p)) continue;
      throw permissionRefused(err) ?? new SynchroError(code, `cannot write ${label} ${file}: ${(err as Error).message}`);
    }
    if (p === file && isDir) throw new SynchroError(code, `cannot write ${label} ${file}: it is a directory`);
    if (p !== file && !isDir) throw new SynchroError(code, `cannot write ${label} ${file}: ${p} is not a directory`);
    // Where access() may not be asked (Deno without --allow-sys), the open that follows still
    // fails with one clear line if the path is not writable.
    if (!mayCheckAccess()) return;
    try {
      accessSync(p, constants.W_OK);
    } catch {
      throw new SynchroError(code, `cannot write ${label} ${file}: ${p} is not writable`);
    }
    return;
  }
}

/** Checks source and replica; the source may be missing only when the index must say whether it vanished. */
export function resolvePaths(opts: PathOptions): { source: string; replica: string; state: string; sourceExists: boolean } {
  if (!opts.source || !opts.replica) throw new SynchroError("USAGE", "both <source> and <replica> are required");
  const sourceAbs = resolve(opts.source);
  const replicaAbs = resolve(opts.replica);
  const state = resolve(opts.state ?? defaultStatePath());
  const sourceExists = existsSync(sourceAbs);
  if (sourceExists && !statSync(sourceAbs).isDirectory()) {
    throw new SynchroError("SOURCE_NOT_DIR", `source is not a directory: ${sourceAbs}`);
  }
  if (existsSync(replicaAbs) && !statSync(replicaAbs).isDirectory()) {
    throw new SynchroError("REPLICA_IS_FILE", `replica exists and is not a directory: ${replicaAbs}`);
  }
  const replica = realReplica(replicaAbs);
  const source = sourceExists ? realpathSync(sourceAbs) : sourceAbs;
  if (nested(replica, source) || nested(source, replica)) {
    const what = source === replica || sameIdentity(source, replica) ? "are the same folder" : "are nested: one is inside the other";
    throw new SynchroError("NESTED_PATHS", `source and replica ${what} (${source}, ${replica})`);
  }
  refuseInside(state, { source, replica }, "the index");
  checkWritableFile(state, "STATE_UNWRITABLE", "the index");
  return { source, replica, state, sourceExists };
}

/**
 * Whether `path` is `root` or lies beneath it. Resolved strings are not enough: a bind mount shows
 * one directory at a second path (`mount --bind src b` puts the source under `b/mirror` too), so
 * each existing ancestor of `path` is also compared with `root` by device and inode.
 */
function nested(path: string, root: string): boolean {
  if (isInside(path, root)) return true;
  const rootId = dirIdOf(root);
  if (!rootId) return false;
  for (let p = nearestExisting(path); ; p = dirname(p)) {
    const id = dirIdOf(p);
    if (id && sameDir(id, rootId)) return true;
    if (p === dirname(p)) return false;
  }
}

function sameIdentity(a: string, b: string): boolean {
  const [ia, ib] = [dirIdOf(a), dirIdOf(b)];
  return ia !== null && ib !== null && sameDir(ia, ib);
}

/**
 * Refuses a file synchro writes (the index, the log) inside the source or the replica: in the
 * source it changes while it is copied and is never in sync; in the replica a --full run deletes
 * it as drift. Resolved through symlinks and compared by identity, as source and replica are.
 */
export function refuseInside(file: string, pair: { source: string; replica: string }, label: string): void {
  const real = realThroughAncestor(resolve(file));
  if (nested(real, pair.source) || nested(real, pair.replica)) {
    throw new SynchroError("NESTED_PATHS", `${label} ${file} must not live inside the source or the replica`);
  }
}

/** Compiles excludes like rsync reads them: no slash matches the name anywhere, a trailing slash means directories only. */
export function compileExcludes(patterns: readonly string[]): (path: string, kind: Kind) => boolean {
  const matchers = patterns.map((raw) => {
    const dirOnly = raw.endsWith("/");
    const pattern = dirOnly ? raw.slice(0, -1) : raw;
    const anchored = pattern.startsWith("/");
    const glob = anchored ? pattern.slice(1) : pattern;
    let match: (p: string) => boolean;
    // A pattern without wildcards (the replica marker's `/.synchro` is on every run) is a string
    // compare: planning calls this for every entry of a changed directory, and a picomatch
    // matcher made the 1% re-sync of 100k files 3-4% slower (9 alternating runs each).
    if (!/[*?[\]{}()!+@\\]/.test(glob)) {
      const name = !anchored && !glob.includes("/");
      match = name ? (p) => p === glob || p.endsWith(`/${glob}`) : (p) => p === glob;
      return { dirOnly, match };
    }
    try {
      match = picomatch(glob, { dot: true, strictBrackets: true, basename: !anchored && !glob.includes("/") });
    } catch (err) {
      throw new SynchroError("BAD_GLOB", `invalid exclude pattern '${raw}': ${(err as Error).message}`);
    }
    return { dirOnly, match };
  });
  if (matchers.length === 0) return () => false;
  return (path, kind) => matchers.some((m) => (!m.dirOnly || kind === "dir") && m.match(path));
}

function readIgnoreFile(source: string): string[] {
  const file = join(source, IGNORE_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

export function parseDeleteLimit(value: string | number | undefined): DeleteLimit {
  if (value === undefined) return { percent: 50 };
  const text = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  if (!m) throw new SynchroError("BAD_OPTION", `--max-delete must be a count or a percentage, like 100 or 20%; got '${text}'`);
  const n = Number(m[1]);
  if (m[2]) {
    if (n > 100) throw new SynchroError("BAD_OPTION", `--max-delete percentage must be at most 100%; got '${text}'`);
    return { percent: n };
  }
  if (!Number.isInteger(n)) throw new SynchroError("BAD_OPTION", `--max-delete count must be a whole number; got '${text}'`);
  return { count: n };
}

/**
 * A number given as one (the library), or as plain decimal text (the command line): '0x10', '1e3'
 * and 'Infinity' are refused rather than read as 16, 1000 and forever. NaN when it is neither.
 */
export function decimal(value: unknown): number {
  if (typeof value === "number") return value;
  const text = typeof value === "string" ? value.trim() : "";
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
}

export function parsePositive(name: string, value: unknown): number {
  const n = decimal(value);
  if (!Number.isFinite(n) || n <= 0) throw new SynchroError("BAD_OPTION", `${name} must be a number greater than 0; got '${value}'`);
  return n;
}

/**
 * The shortest time between two runs of a loop (sync --interval, watch's rescans). Below it a loop
 * is a busy one: an interval of 1e-320 s kept a core at 100%. The tests' fastest loop uses 0.1 s.
 */
const MIN_INTERVAL_S = 0.1;

export function parseInterval(value: unknown, flag = "--interval"): number {
  const n = decimal(value);
  if (!Number.isFinite(n) || n < MIN_INTERVAL_S) {
    throw new SynchroError("BAD_INTERVAL", `${flag} must be a number of seconds of at least ${MIN_INTERVAL_S}, like 30 or 0.5; got '${value}'`);
  }
  return n;
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The real path of `abs`: its nearest existing ancestor resolved through symlinks, plus the rest. */
function realThroughAncestor(abs: string): string {
  const base = nearestExisting(abs);
  return join(realpathSync(base), relative(base, abs));
}

/** `abs` itself if it exists, else its nearest ancestor that does. */
function nearestExisting(abs: string): string {
  let base = abs;
  while (!existsSync(base) && dirname(base) !== base) base = dirname(base);
  return base;
}

/** A literal path as a picomatch pattern: a folder named "v[1]" must match itself. */
const escapeGlob = (path: string): string => path.replace(/[\\*?[\]{}()!+@]/g, "\\$&");

export function resolveConfig(opts: ConfigOptions): Config & { sourceExists: boolean } {
  const paths = resolvePaths(opts);
  let backupDir: string | null = null;
  const excludes = [MARKER_EXCLUDE, ...asList(opts.exclude).map(String)];
  if (opts.backupDir) {
    // Resolved through symlinks like source and replica, or a link could hide that it is inside one.
    backupDir = realThroughAncestor(resolve(opts.backupDir));
    if (nested(backupDir, paths.source)) throw new SynchroError("NESTED_PATHS", `--backup-dir must not be inside the source: ${backupDir}`);
    if (backupDir === paths.replica || sameIdentity(backupDir, paths.replica)) {
      throw new SynchroError("NESTED_PATHS", `--backup-dir must not be the replica itself: ${backupDir}; use a folder beside it, or one inside it`);
    }
    // Inside the replica it is excluded from the mirror by its path there; reached only through a
    // mount, that path is unknown, and a --full run would delete the versions as drift.
    if (isInside(backupDir, paths.replica)) excludes.push("/" + escapeGlob(relative(paths.replica, backupDir).split(sep).join("/")));
    else if (nested(backupDir, paths.replica)) throw new SynchroError("NESTED_PATHS", `--backup-dir ${backupDir} is inside the replica through a mount; give its path inside the replica`);
  }
  if (paths.sourceExists) excludes.push(...readIgnoreFile(paths.source));
  const isExcluded = compileExcludes(excludes);
  return Object.freeze({
    ...paths,
    excludes,
    isExcluded,
    dryRun: !!opts.dryRun,
    checksum: !!opts.checksum,
    full: !!opts.full,
    force: !!opts.force,
    maxDelete: parseDeleteLimit(opts.maxDelete),
    backupDir,
    keepDays: opts.keep === undefined ? null : parsePositive("--keep", opts.keep),
    historyDays: opts.historyDays === undefined ? 180 : parsePositive("--history-days", opts.historyDays),
    wait: !!opts.wait,
    settings: { ...givenSettings(opts), ...(backupDir ? { backupDir } : {}) },
  });
}
