/**
 * Decides colour once, before consola loads. consola reads NO_COLOR and FORCE_COLOR when it is
 * imported and looks at stdout, while our console lines go to stderr; so we settle the question
 * here and leave exactly one of the two variables set for it to read.
 * Rules (no-color.org and the FORCE_COLOR convention): a non-empty NO_COLOR turns colour off;
 * a non-empty FORCE_COLOR turns it on, unless it is "0" or "false"; otherwise colour only on a
 * terminal that is not "dumb". Empty counts as unset for both, as no-color.org asks for NO_COLOR.
 */
export function wantsColor(env: Record<string, string | undefined>, stderrIsTTY: boolean): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force) return force !== "0" && force !== "false";
  return stderrIsTTY && env.TERM !== "dumb";
}

export function settleColorEnv(env: Record<string, string | undefined>, stderrIsTTY: boolean): void {
  if (wantsColor(env, stderrIsTTY)) {
    delete env.NO_COLOR;
    env.FORCE_COLOR = "1";
  } else {
    delete env.FORCE_COLOR;
    env.NO_COLOR = "1";
  }
}
