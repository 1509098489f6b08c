import type { CAC } from "cac";
import { watch, DEFAULT_DEBOUNCE_MS, DEFAULT_RESCAN_S, type WatchBatch } from "../watch.ts";
import { createLog, pairName, type Log } from "../log.ts";
import type { SyncEvent } from "../events.ts";
import { formatOpLine, formatPlanLine, formatSummary, plural, printable } from "./output.ts";
import { parseInterval } from "../config.ts";
import { SynchroError } from "../errors.ts";
import { syncOptions, configFromFlags, logFileFor, verbosityOf, type Flags } from "./flags.ts";
import { stopSignal } from "./signals.ts";
import { consoleColor } from "./color.ts";
import { failureText } from "./exit.ts";

const EXAMPLES = [
  "synchro watch ~/Documents /mnt/backup/Documents",
  "synchro watch ~/code /mnt/backup/code --exclude node_modules/ --debounce 500 --rescan 600",
];

export function registerWatch(cli: CAC, exit: (code: number) => void): void {
  const cmd = cli.command("watch <source> <replica>", "Mirror <source> to <replica> continuously, as changes happen, until Ctrl+C");
  cmd.option("--rescan <seconds>", `Rescan the whole tree every N seconds to catch anything the watcher missed (default: ${DEFAULT_RESCAN_S})`);
  cmd.option("--debounce <ms>", `Rescan a changed folder once it has been quiet this long (default: ${DEFAULT_DEBOUNCE_MS})`);
  syncOptions(cmd);
  cmd.option("--interval <seconds>", "Deprecated: the old name of --rescan (sync's --interval repeats the sync)");
  for (const e of EXAMPLES) cmd.example(e);
  cmd.action(async (source: string, replica: string, flags: Flags) => exit(await watchCommand(source, replica, flags)));
}

function printEvent(log: Log | null, flags: Flags, e: SyncEvent): void {
  if (e.type === "progress") return;
  // Lazily: a run that finds nothing to do leaves no line (see printBatch).
  if (e.type === "start") return log?.beginRun(e, { lazy: true });
  if (e.type === "plan") {
    if (!flags.json) process.stdout.write(formatPlanLine(e) + "\n");
    return;
  }
  const line = formatOpLine(e);
  if (line !== null) log?.op(line);
}

/**
 * Every run goes to --json (and a dry run's totals to stdout, as sync does); the human summary
 * only for full runs and runs that did something or went wrong, so a quiet watch stays quiet.
 * A run stopped by Ctrl+C has its summary in the file only: the console says `stopped`.
 */
function printBatch(log: Log | null, flags: Flags, b: WatchBatch): void {
  const s = b.summary;
  if (s) {
    const line = formatSummary(s);
    if (flags.json) process.stdout.write(JSON.stringify(s) + "\n");
    else if (s.dryRun) process.stdout.write(line + "\n");
    const did = Object.entries(s.counts).some(([k, v]) => k !== "adopt" && v > 0);
    const wanted = did || b.reason !== "changes" || s.result !== "ok";
    // A quiet run that logged a line (a file that vanished meanwhile) still ends with its summary, in the file.
    if (wanted || log?.runShown()) log?.summary(line, { console: wanted && !s.dryRun && s.result !== "aborted", ok: s.result === "ok" });
  }
  log?.endRun();
}

/**
 * The full-rescan period: --rescan, or --interval, its name until sync's --interval (repeat the
 * sync) made one word mean two things. The old name keeps working, with a warning, because
 * service units and scripts were written with it: failing them at an upgrade would stop a backup.
 */
function rescanOf(flags: Flags): { seconds?: number; deprecated: string | null } {
  if (flags.interval === undefined) return { seconds: flags.rescan === undefined ? undefined : parseInterval(flags.rescan, "--rescan"), deprecated: null };
  if (flags.rescan !== undefined) throw new SynchroError("USAGE", "watch takes --rescan; --interval is its deprecated name: give only --rescan");
  const seconds = parseInterval(flags.interval);
  return { seconds, deprecated: `watch --interval is deprecated; use --rescan ${printable(String(flags.interval))} (a full rescan every N seconds; --interval is sync's repeat)` };
}

export async function watchCommand(source: string, replica: string, flags: Flags): Promise<number> {
  let log: Log | null = null;
  let pair = "";
  const stop = stopSignal();
  try {
    const rescan = rescanOf(flags);
    const handle = await watch({
      ...configFromFlags(source, replica, flags),
      interval: rescan.seconds,
      debounce: flags.debounce as string | undefined,
      signal: stop.signal,
      // Every path the CLI uses is absolute (the log's too), and no one else's code runs in this
      // process; Node options that name files still turn it off (walkHome in src/run.ts).
      ownsProcess: true,
      onConfig: (cfg) => {
        log = createLog({ file: logFileFor(flags, cfg), verbosity: verbosityOf(flags), color: consoleColor() });
        pair = pairName(cfg);
        if (rescan.deprecated) log.logger.warn(rescan.deprecated);
      },
      get logger() {
        return log!.logger;
      },
      onEvent: (e) => printEvent(log, flags, e),
      onBatch: (b) => printBatch(log, flags, b),
    });
    const totals = await handle.done;
    (log as Log | null)?.endRun();
    // Lines outside a run name the pair: one log may be written by several.
    (log as Log | null)?.logger.info(`stopped; ${plural(totals.operations, "operation")} in ${plural(totals.runs, "run")} this session (${pair})`);
    return 0;
  } catch (err) {
    // What ends watching (another run holding the replica, a failure) is told on the console by
    // reportFailure; the file gets it too, as the end of the run it stopped.
    const refused = err instanceof SynchroError && err.exitCode === 3;
    (log as Log | null)?.summary(`${refused ? "refused" : "failed"}: ${failureText(err)}`, { console: false, ok: false });
    throw err;
  } finally {
    stop.dispose();
    (log as Log | null)?.close();
  }
}
