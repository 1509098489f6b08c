import { SynchroError } from "../errors.ts";
import { consoleLine } from "../log-console.ts";
import { consoleColor } from "./color.ts";

/**
 * The one table from failures to what the user sees: a single line on stderr, in the console's
 * style for errors (src/log-console.ts), and an exit code. cac's own parse errors are usage
 * errors (2). Anything unforeseen is 1, still without a stack unless SYNCHRO_DEBUG is set.
 */
export function reportFailure(err: unknown): number {
  if (err instanceof SynchroError) return fail(err.message, err.exitCode);
  const e = err as { name?: string; message?: string; stack?: string };
  if (e?.name === "CACError") return fail(`${e.message}; see synchro --help`, 2);
  const code = fail(`unexpected error: ${e?.message ?? String(err)}`, 1);
  if (process.env.SYNCHRO_DEBUG && e?.stack) process.stderr.write(e.stack + "\n");
  return code;
}

function fail(message: string, code: number): number {
  process.stderr.write(consoleLine(0, message, consoleColor()));
  return code;
}
