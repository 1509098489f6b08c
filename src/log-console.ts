import type { ConsolaReporter, LogObject } from "consola/core";

/**
 * The console half of the log, in the look of consola's fancy reporter: an icon per type, and
 * warnings and errors as a badge set off by blank lines. consola's full build is not imported
 * for it: its `new Intl.Segmenter()` and the rest of its module cost 60 ms of every start-up,
 * a tenth of a no-op re-sync of 100k files.
 */
const ICONS: Record<string, string> = { error: "✖", fatal: "✖", fail: "✖", warn: "⚠", info: "ℹ", success: "✔", ready: "✔", debug: "⚙", trace: "→", start: "◐" };
/** ANSI foreground codes; a badge uses the same colour as its background (code + 10). */
const TYPE_COLOR: Record<string, number> = { info: 36, success: 32, ready: 32, fail: 31, start: 35 };
const RED = 31;
const YELLOW = 33;
const GRAY = 90;

export const messageOf = (obj: LogObject): string =>
  obj.args.map((a) => (typeof a === "string" ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(" ");

export function consoleReporter(stream: { write(text: string): unknown }, color: boolean): ConsolaReporter & { log(obj: LogObject): void } {
  const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[39m` : text);
  return {
    log(obj) {
      const code = TYPE_COLOR[obj.type] ?? (obj.level === 0 ? RED : obj.level === 1 ? YELLOW : GRAY);
      const badge = obj.level < 2;
      const label = ` ${obj.type.toUpperCase()} `;
      const type = badge ? (color ? `\x1b[${code + 10}m\x1b[30m${label}\x1b[39m\x1b[49m` : label) : paint(code, ICONS[obj.type] ?? obj.type);
      const tag = obj.tag ? `${paint(GRAY, `[${obj.tag}]`)} ` : "";
      const line = `${tag}${type} ${messageOf(obj)}`;
      stream.write(badge ? `\n${line}\n\n` : `${line}\n`);
    },
  };
}
