import { SynchroError } from "../errors.ts";
import { consoleLine } from "../log-console.ts";
import { consoleColor } from "./color.ts";
import { permissionRefused } from "../runtime.ts";

/**
 * The one table from failures to what the user sees: a single line on stderr, in the console's
 * style for errors (src/log-console.ts), and an exit code. cac's own parse errors are usage
 * errors (2). Anything unforeseen is 1, still without a stack unless SYNCHRO_DEBUG is set.
 * `argv` is what was typed, to name an unknown option as the user wrote it.
 */
/** What ended a command, as its last line says it (CACError aside, which never reaches a run). */
export const failureText = (err: unknown): string =>
  err instanceof SynchroError ? err.message : `unexpected error: ${(err as Error)?.message ?? String(err)}`;

export function reportFailure(err: unknown, argv: string[] = []): number {
  // On Deno, wherever the engine could not say so itself: the environment read at start-up, an
  // open that another error wraps.
  const refused = permissionRefused(err);
  if (refused) return fail(refused.message, refused.exitCode);
  if (err instanceof SynchroError) return fail(err.message, err.exitCode);
  const e = err as { name?: string; message?: string; stack?: string };
  if (e?.name === "CACError") return fail(`${usageMessage(e.message ?? "", argv)}; see synchro --help`, 2);
  const code = fail(failureText(err), 1);
  if (fromEnv(() => process.env.SYNCHRO_DEBUG) && e?.stack) process.stderr.write(e.stack + "\n");
  return code;
}

function fail(message: string, code: number): number {
  process.stderr.write(consoleLine(0, message, fromEnv(consoleColor) ?? false));
  return code;
}

/** What the environment says, or undefined where Deno may not read it: the failure being reported must not become another. */
function fromEnv<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/**
 * cac names an unknown option by its camelCased key (``Unknown option `--excludeFrom` ``), and
 * mri has already read `--no-x` as x=false; the user is shown the option as typed instead, in
 * the wording of synchro's other usage lines.
 */
function usageMessage(message: string, argv: string[]): string {
  const m = /^Unknown option `-{1,2}(.+)`$/.exec(message);
  if (!m) return message;
  return `unknown option '${typedOption(m[1]!, argv)}'`;
}

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function typedOption(key: string, argv: string[]): string {
  for (const arg of argv.slice(2)) {
    if (arg === "--") break;
    const name = /^--([^=]+)/.exec(arg)?.[1];
    if (name && (camel(name) === key || (name.startsWith("no-") && camel(name.slice(3)) === key))) return `--${name}`;
  }
  return key.length > 1 ? `--${key}` : `-${key}`;
}
