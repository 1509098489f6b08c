import type { ConsolaReporter, LogObject } from "consola/core";

/**
 * The console half of the log, one plain line per message in the style of rsync and git, the same
 * on every command: errors `synchro: <message>` (the form of the line a failed command ends with),
 * warnings `warning: <message>`, everything else (info, the run's summary, operation lines, debug)
 * bare. No icons, badges or blank lines: the console of a cron job is read as mail and by grep.
 * consola's full build is not imported for it: its `new Intl.Segmenter()` and the rest of its
 * module cost 60 ms of every start-up, a tenth of a no-op re-sync of 100k files.
 */
const PREFIX: Record<number, { text: string; color: number }> = {
  0: { text: "synchro:", color: 31 },
  1: { text: "warning:", color: 33 },
};

export const messageOf = (obj: LogObject): string =>
  obj.args.map((a) => (typeof a === "string" ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(" ");

/** One console line at a consola level (0 error, 1 warning, more: bare); only the prefix is coloured. */
export function consoleLine(level: number, message: string, color: boolean): string {
  const prefix = PREFIX[level];
  if (!prefix) return `${message}\n`;
  return `${color ? `\x1b[${prefix.color}m${prefix.text}\x1b[39m` : prefix.text} ${message}\n`;
}

export function consoleReporter(stream: { write(text: string): unknown }, color: boolean): ConsolaReporter & { log(obj: LogObject): void } {
  return {
    log(obj) {
      stream.write(consoleLine(Math.max(obj.level, 0), messageOf(obj), color));
    },
  };
}
