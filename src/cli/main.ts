import { cac } from "cac";
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
    if (cli.options.help || cli.options.version) return 0;
    await cli.runMatchedCommand();
    return code;
  } catch (err) {
    return reportFailure(err);
  }
}
