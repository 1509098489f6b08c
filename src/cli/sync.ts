import type { CAC } from "cac";
import { openSession, type Session } from "../session.ts";
import { SynchroError } from "../errors.ts";
import { parseInterval } from "../config.ts";
import { createLog, pairName, type Log } from "../log.ts";
import { operationsIn, type SyncSummary } from "../run.ts";
import type { SyncEvent } from "../events.ts";
import { formatOpLine, formatPlanLine, formatSummary, plural } from "./output.ts";
import { syncOptions, configFromFlags, logFileFor, verbosityOf, type Flags } from "./flags.ts";
import { stopSignal } from "./signals.ts";
import { consoleColor } from "./color.ts";
import { failureText } from "./exit.ts";
import { progressLine, progressWanted, type ProgressLine } from "./progress-line.ts";

const EXAMPLES = [
  "synchro sync ~/Documents /mnt/backup/Documents",
  "synchro sync ~/photos /mnt/nas/photos --exclude '*.tmp' --interval 600",
  "synchro sync ~/code /mnt/backup/code --dry-run",
];

const INTERVAL_HELP = "Repeat every N seconds (decimal, at least 0.1); runs never overlap";

export function registerSync(cli: CAC, exit: (code: number) => void): void {
  const handler = async (source: string, replica: string, flags: Flags) => exit(await syncCommand(source, replica, flags));
  const sync = cli.command("sync <source> <replica>", "Make <replica> an exact copy of <source>; with --interval, repeat until Ctrl+C");
  syncOptions(sync.option("--interval <seconds>", INTERVAL_HELP));
  for (const e of EXAMPLES) sync.example(e);
  sync.action(handler);

  const legacy = cli.command("[source] [replica]", "The original form: same as `synchro sync <source> <replica>`");
  syncOptions(legacy.option("--interval <seconds>", INTERVAL_HELP));
  legacy.example("synchro ~/Documents /mnt/backup/Documents --interval 300 --log /var/log/synchro.log");
  legacy.action(async (source: string | undefined, replica: string | undefined, flags: Flags) => {
    if (source === undefined) {
      cli.outputHelp();
      exit(source === undefined && replica === undefined ? 0 : 2);
      return;
    }
    if (replica === undefined) throw new SynchroError("USAGE", `unknown command '${source}', or <replica> is missing; see synchro --help`);
    await handler(source, replica, flags);
  });
}

/** Human lines for each operation go to the log (console only with --verbose); --json keeps stdout for the summary. */
function eventPrinter(log: () => Log | null, flags: Flags, progress: ProgressLine | null): (e: SyncEvent) => void {
  return (e) => {
    if (e.type === "progress") {
      progress?.update(e);
      return;
    }
    if (e.type === "start") {
      log()?.beginRun(e);
      return;
    }
    if (e.type === "plan") {
      if (!flags.json) process.stdout.write(formatPlanLine(e) + "\n");
      return;
    }
    const line = formatOpLine(e);
    if (line !== null) log()?.op(line);
  };
}

/** --json: the summary object on stdout. A dry run's totals close its itemized list on stdout; the log file always gets the line. */
function report(summary: SyncSummary, flags: Flags, log: Log | null): void {
  const line = formatSummary(summary);
  if (flags.json) process.stdout.write(JSON.stringify(summary) + "\n");
  else if (summary.dryRun) process.stdout.write(line + "\n");
  log?.summary(line, { console: !summary.dryRun, ok: summary.result === "ok" });
}

/**
 * A refusal at the delete limit has been told on the console by then, once: the engine warned
 * with its counts as it refused, and the run's summary says `refused`. A third line from
 * reportFailure, or an error line in an --interval loop, would only say it again.
 */
const toldByRun = (err: unknown): err is SynchroError => err instanceof SynchroError && err.code === "DELETE_LIMIT";

/**
 * The end of a run that threw, in the log: its summary when it has one, and why it ended. Returns
 * the operations it made, which count in the session's total. `looping`: an --interval tick,
 * whose refusal is told here, as the loop goes on; a one-shot run's is told by reportFailure.
 */
function reportThrown(err: unknown, flags: Flags, log: Log | null, looping: boolean): number {
  const summary = err instanceof SynchroError ? (err.data.summary as SyncSummary | undefined) : undefined;
  if (err instanceof SynchroError && err.code === "ABORTED") {
    // The console hears it from the `interrupted` line; the file gets the run's own end.
    if (summary) log?.summary(formatSummary(summary), { console: false, ok: false });
    return summary ? operationsIn(summary) : 0;
  }
  if (err instanceof SynchroError && err.exitCode === 3) {
    // A run refused after it began (the delete limit, a source unmounted under it) still copied what it could.
    if (summary) report(summary, flags, log);
    if (looping && err.code !== "DELETE_LIMIT") log?.logger.error(err.message);
    else log?.summary(`refused: ${err.message}`, { console: false, ok: false });
    return summary ? operationsIn(summary) : 0;
  }
  // The console hears it once, from reportFailure.
  log?.summary(`failed: ${failureText(err)}`, { console: false, ok: false });
  return 0;
}

export async function syncCommand(source: string, replica: string, flags: Flags): Promise<number> {
  const interval = flags.interval === undefined ? null : parseInterval(flags.interval);
  let log: Log | null = null;
  const stop = stopSignal();
  let session: Session | null = null;
  let total = 0;
  const progress = progressWanted(flags, process.stdout.isTTY === true, process.stderr.isTTY === true) ? progressLine(process.stderr) : null;
  try {
    session = await openSession({
      ...configFromFlags(source, replica, flags),
      // Every path the CLI uses is absolute (the log's too), and no one else's code runs in this
      // process; Node options that name files still turn it off (walkHome in src/run.ts).
      ownsProcess: true,
      onConfig: (cfg) => {
        log = createLog({ file: logFileFor(flags, cfg), verbosity: verbosityOf(flags), color: consoleColor(), beforeConsole: () => progress?.clear() });
      },
      get logger() {
        return log!.logger;
      },
      onEvent: eventPrinter(() => log, flags, progress),
    });
    // Lines outside a run name the pair: one log may be written by several.
    const ofPair = `this session (${pairName(session.cfg)})`;
    for (;;) {
      try {
        const summary = await session.run(interval ? "interval" : "sync", stop.signal);
        total += operationsIn(summary);
        report(summary, flags, log);
        if (!interval) return summary.errors.length > 0 ? 1 : 0;
      } catch (err) {
        // What a stopped or refused run made is in the replica and the index: it counts too.
        total += reportThrown(err, flags, log, interval !== null);
        if (err instanceof SynchroError && err.code === "ABORTED") {
          (log as Log | null)?.endRun();
          (log as Log | null)?.logger.warn(`interrupted; ${plural(total, "operation")} in ${ofPair}`);
          return interval ? 0 : 130;
        }
        if (!interval || !(err instanceof SynchroError) || err.exitCode === 2) throw err;
        // A refused or locked tick is logged; the next tick tries again (the disk may be back).
      } finally {
        (log as Log | null)?.endRun();
      }
      if (await stop.sleep(interval * 1000)) break;
    }
    (log as Log | null)?.logger.info(`stopped; ${plural(total, "operation")} in ${ofPair}`);
    return 0;
  } catch (err) {
    if (toldByRun(err)) return err.exitCode;
    throw err;
  } finally {
    progress?.clear();
    session?.close();
    stop.dispose();
    (log as Log | null)?.close();
  }
}
