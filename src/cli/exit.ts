import { SynchroError } from "../errors.ts";

/**
 * The one table from failures to what the user sees: a single line on stderr and an exit code.
 * cac's own parse errors are usage errors (2). Anything unforeseen is 1, still without a stack
 * unless SYNCHRO_DEBUG is set.
 */
export function reportFailure(err: unknown): number {
  if (err instanceof SynchroError) {
    process.stderr.write(`synchro: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as { name?: string; message?: string; stack?: string };
  if (e?.name === "CACError") {
    process.stderr.write(`synchro: ${e.message}; see synchro --help\n`);
    return 2;
  }
  process.stderr.write(`synchro: unexpected error: ${e?.message ?? String(err)}\n`);
  if (process.env.SYNCHRO_DEBUG && e?.stack) process.stderr.write(e.stack + "\n");
  return 1;
}
