/**
 * Whether console lines (on stderr) get colour. Rules (no-color.org and the FORCE_COLOR
 * convention): a non-empty NO_COLOR turns colour off; a non-empty FORCE_COLOR turns it on,
 * unless it is "0" or "false"; otherwise colour only on a terminal that is not "dumb". Empty
 * counts as unset for both, as no-color.org asks for NO_COLOR.
 */
export function wantsColor(env: Record<string, string | undefined>, stderrIsTTY: boolean): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force) return force !== "0" && force !== "false";
  return stderrIsTTY && env.TERM !== "dumb";
}

export const consoleColor = (): boolean => wantsColor(process.env, process.stderr.isTTY === true);

/**
 * Leaves exactly one of NO_COLOR and FORCE_COLOR set, before anything writes: Node warns on
 * stderr when it finds both, and that stray line would break scripts reading our output.
 */
export function settleColorEnv(env: Record<string, string | undefined>, stderrIsTTY: boolean): void {
  if (wantsColor(env, stderrIsTTY)) {
    delete env.NO_COLOR;
    env.FORCE_COLOR = "1";
  } else {
    delete env.FORCE_COLOR;
    env.NO_COLOR = "1";
  }
}
