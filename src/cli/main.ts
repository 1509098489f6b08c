import { cac, type CAC } from "cac";
import { SynchroError } from "../errors.ts";
import { registerSync } from "./sync.ts";
import { reportFailure } from "./exit.ts";
import { VERSION } from "../version.ts";

/** The bin entry: cac wiring only. Every command resolves to an exit code; failures print one line. */
export async function main(argv: string[]): Promise<number> {
  const cli = cac("synchro");
  let code = 0;
  const exit = (c: number) => {
    code = c;
  };
  registerSync(cli, exit);
  cli.help();
  cli.version(VERSION);
  try {
    cli.parse(argv, { run: false });
    takeOperands(cli);
    if (cli.options.help || cli.options.version) return 0;
    await cli.runMatchedCommand();
    return code;
  } catch (err) {
    return reportFailure(err);
  }
}

/**
 * cac sets aside what follows `--`; POSIX makes those operands, the way to pass a path starting
 * with '-'. cac also drops surplus operands silently, so `synchro typo src dst` would sync "typo".
 */
function takeOperands(cli: CAC): void {
  const rest = cli.options["--"];
  if (Array.isArray(rest) && rest.length > 0) cli.args = [...cli.args, ...rest.map(String)];
  const cmd = cli.matchedCommand;
  if (!cmd || cmd.args.some((a) => a.variadic) || cli.args.length <= cmd.args.length) return;
  if (cmd.name === "") throw new SynchroError("USAGE", `unknown command '${cli.args[0]}'; see synchro --help`);
  throw new SynchroError("USAGE", `unexpected extra argument '${cli.args[cmd.args.length]}'; see synchro --help`);
}
