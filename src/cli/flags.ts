import { dirname, join, resolve } from "node:path";
import type { Command } from "cac";
import { checkWritableFile, refuseInside, type Config, type ConfigOptions } from "../config.ts";
import type { Verbosity } from "../log.ts";
import { SynchroError } from "../errors.ts";

export interface Flags {
  interval?: unknown;
  rescan?: unknown;
  log?: string;
  state?: string;
  exclude?: string | string[];
  dryRun?: boolean;
  checksum?: boolean;
  full?: boolean;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  force?: boolean;
  maxDelete?: string | number;
  backupDir?: string;
  keep?: string | number;
  historyDays?: string | number;
  wait?: boolean;
  reset?: boolean;
  debounce?: unknown;
}

export const STATE_HELP = "Index database (default: $XDG_STATE_HOME/synchro/index.db, else ~/.local/state/synchro/index.db)";

/**
 * The options every command that syncs takes; defaults are stated here and applied in config.ts.
 * The one-letter forms are rsync's (-v verbose, -n dry run, -c checksum, -q quiet), so a habit
 * from rsync does what it says; the version is -V.
 */
export function syncOptions(cmd: Command): Command {
  return cmd
    .option("--log <file>", "Log file (default: synchro.log beside the index)")
    .option("--state <file>", STATE_HELP)
    .option("--exclude <glob>", "Skip paths matching this picomatch glob; repeatable. Also read from .synchroignore")
    .option("-n, --dry-run", "Print the itemized plan; change nothing")
    .option("-c, --checksum", "Decide 'changed' by content hash, not by size and mtime")
    .option("--full", "Rescan the replica too, and repair anything that differs from the source")
    .option("--json", "Print one JSON summary per run on stdout")
    .option("-q, --quiet", "Only warnings and errors on the console")
    .option("-v, --verbose", "Every operation on the console, and debug lines there and in the log")
    .option("--force", "Override the safety guards (empty source, delete limit)")
    .option("--max-delete <n|n%>", "Refuse runs that would delete more than this (default: 50%)")
    .option("--backup-dir <dir>", "Move replaced and deleted replica files to <dir>/<run time>/ instead")
    .option("--keep <days>", "With --backup-dir: prune versions older than this")
    .option("--history-days <days>", "Keep the operation history this long (default: 180)")
    .option("--wait", "If another run holds this replica, wait for it instead of exiting 3")
    .option("--reset", "Forget this pair's remembered settings (excludes, backup dir, limits); use only the options given");
}

/**
 * rsync's rule for what names a host: a colon before the first slash (`remote:bucket`,
 * `user@host:/backup`); `./a:b` and `/x/a:b` are local. synchro has no remote replicas yet, so such
 * a path is refused instead of becoming a local folder named `remote:bucket`.
 */
export function refuseRemote(path: string | undefined, role: "source" | "replica"): void {
  if (path === undefined) return;
  const colon = path.indexOf(":");
  const slash = path.indexOf("/");
  if (colon <= 0 || (slash >= 0 && slash < colon)) return;
  throw new SynchroError(
    "USAGE",
    `the ${role} '${path}' names a remote host (host:path), and synchro syncs only local folders; for a local folder of that name write './${path}'`,
  );
}

/**
 * --log, or synchro.log beside the index; absolute, as the walk may list from inside source
 * directories. Checked before anything is made: not where a run would copy or delete it, and writable.
 */
export function logFileFor(flags: Flags, cfg: Pick<Config, "source" | "replica" | "state">): string {
  const file = resolve(flags.log ?? join(dirname(cfg.state), "synchro.log"));
  refuseInside(file, cfg, "the log file");
  checkWritableFile(file, "LOG_UNWRITABLE", "the log file");
  return file;
}

export function verbosityOf(flags: Flags): Verbosity {
  if (flags.quiet || flags.json) return "quiet";
  return flags.verbose ? "verbose" : "normal";
}

export function configFromFlags(source: string, replica: string, flags: Flags): ConfigOptions {
  refuseRemote(source, "source");
  refuseRemote(replica, "replica");
  return {
    source,
    replica,
    state: flags.state,
    exclude: flags.exclude,
    dryRun: flags.dryRun,
    checksum: flags.checksum,
    full: flags.full,
    force: flags.force,
    maxDelete: flags.maxDelete,
    backupDir: flags.backupDir,
    keep: flags.keep,
    historyDays: flags.historyDays,
    wait: flags.wait,
    reset: flags.reset,
  };
}
