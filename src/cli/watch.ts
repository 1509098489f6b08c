import type { CAC } from "cac";
import { watch, DEFAULT_DEBOUNCE_MS, DEFAULT_RESCAN_S, type WatchBatch } from "../watch.ts";
import { createLog, type Log } from "../log.ts";
import type { SyncEvent } from "../events.ts";
import { formatPlanLine, formatSummary, plural, printable } from "./output.ts";
import { syncOptions, configFromFlags, logFileFor, verbosityOf, type Flags } from "./flags.ts";
import { stopSignal } from "./signals.ts";
import { consoleColor } from "./color.ts";

const EXAMPLES = [
  "synchro watch ~/Documents /mnt/backup/Documents",
  "synchro watch ~/code /mnt/backup/code --exclude node_modules/ --debounce 500",
];

export function registerWatch(cli: CAC, exit: (code: number) => void): void {
  const cmd = cli.command("watch <source> <replica>", "Mirror <source> to <replica> continuously, as changes happen, until Ctrl+C");
  syncOptions(cmd, `Rescan the whole tree every N seconds to catch anything the watcher missed (default: ${DEFAULT_RESCAN_S})`);
  cmd.option("--debounce <ms>", `Rescan a changed folder once it has been quiet this long (default: ${DEFAULT_DEBOUNCE_MS})`);
  for (const e of EXAMPLES) cmd.example(e);
  cmd.action(async (source: string, replica: string, flags: Flags) => exit(await watchCommand(source, replica, flags)));
}

function printEvent(log: Log | null, flags: Flags, e: SyncEvent): void {
  if (e.type === "progress") return;
  if (e.type === "plan") {
    if (!flags.json) process.stdout.write(formatPlanLine(e) + "\n");
    return;
  }
  const from = e.from ? ` (from ${printable(e.from)})` : "";
  log?.op(`${e.action} ${printable(e.path)}${from}${e.error ? `: ${e.error}` : ""}`);
}

/**
 * Every run goes to --json (and a dry run's totals to stdout, as sync does); the human summary
 * only for full runs and runs that did something or went wrong, so a quiet watch stays quiet.
 */
function printBatch(log: Log | null, flags: Flags, b: WatchBatch): void {
  const s = b.summary;
  if (!s) return;
  const line = formatSummary(s);
  if (flags.json) process.stdout.write(JSON.stringify(s) + "\n");
  else if (s.dryRun) process.stdout.write(line + "\n");
  const did = Object.entries(s.counts).some(([k, v]) => k !== "adopt" && v > 0);
  if (did || b.reason !== "changes" || s.result !== "ok") log?.summary(line, { console: !s.dryRun, ok: s.result === "ok" });
}

export async function watchCommand(source: string, replica: string, flags: Flags): Promise<number> {
  let log: Log | null = null;
  const stop = stopSignal();
  try {
    const handle = await watch({
      ...configFromFlags(source, replica, flags),
      interval: flags.interval as string | undefined,
      debounce: flags.debounce as string | undefined,
      signal: stop.signal,
      // Every path the CLI uses is absolute (the log's too), and no one else's code runs in this
      // process; Node options that name files still turn it off (walkHome in src/run.ts).
      ownsProcess: true,
      onConfig: (cfg) => {
        log = createLog({ file: logFileFor(flags, cfg), verbosity: verbosityOf(flags), color: consoleColor() });
      },
      get logger() {
        return log!.logger;
      },
      onEvent: (e) => printEvent(log, flags, e),
      onBatch: (b) => printBatch(log, flags, b),
    });
    const totals = await handle.done;
    (log as Log | null)?.logger.info(`stopped; ${plural(totals.operations, "operation")} in ${plural(totals.runs, "run")} this session`);
    return 0;
  } finally {
    stop.dispose();
    (log as Log | null)?.close();
  }
}
