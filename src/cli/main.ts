import { cac, type CAC } from "cac";
import { SynchroError } from "../errors.ts";
import { registerSync } from "./sync.ts";
import { registerStatus } from "./status.ts";
import { registerHistory } from "./history.ts";
import { registerWatch } from "./watch.ts";
import { reportFailure } from "./exit.ts";
import { helpSections } from "./help.ts";
import { VERSION } from "../version.ts";

/** The bin entry: cac wiring only. Every command resolves to an exit code; failures print one line. */
export async function main(argv: string[]): Promise<number> {
  const cli = cac("synchro");
  let code = 0;
  const exit = (c: number) => {
    code = c;
  };
  registerSync(cli, exit);
  registerWatch(cli, exit);
  registerStatus(cli, exit);
  registerHistory(cli, exit);
  cli.help(helpSections(cli, VERSION));
  // Our own flag rather than cac's version(): cac prints platform details and ignores it after a
  // command name. -V, as -v is rsync's --verbose: `sync -v` in a cron line must sync.
  cli.option("-V, --version", "Display the version number");
  try {
    const args = attachNegativeValues(cli, argv);
    cli.parse(args, { run: false });
    keepValuesAsTyped(cli, args);
    takeOperands(cli);
    if (cli.options.help) return 0;
    if (cli.options.version) {
      process.stdout.write(`synchro ${VERSION}\n`);
      return 0;
    }
    await cli.runMatchedCommand();
    return code;
  } catch (err) {
    return reportFailure(err, argv);
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

/** Long options that take a value, as typed (`--interval`). */
const valuedOptions = (cli: CAC): Set<string> =>
  new Set(
    [cli.globalCommand, ...cli.commands].flatMap((c) => c.options).filter((o) => o.rawName.includes("<")).flatMap((o) => o.rawName.match(/--[\w-]+/g) ?? []),
  );

/**
 * mri turns every option value that looks like a number into one, with JavaScript's rules: `--interval
 * 0x10` arrived as 16 and `--interval 1e-320` as a denormal, past any check on the text, and `--log 010`
 * as a number no path function takes. Each option's values are put back as the text typed, for its own
 * parser to judge.
 */
function keepValuesAsTyped(cli: CAC, argv: string[]): void {
  const valued = valuedOptions(cli);
  const typed = new Map<string, string[]>();
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    const m = /^(--[\w-]+)(?:=([\s\S]*))?$/.exec(arg);
    if (!m || !valued.has(m[1]!)) continue;
    let value = m[2];
    // As mri reads it: a value after a space, unless the next word is another option.
    if (value === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("-")) value = argv[++i];
    if (value === undefined) continue;
    const key = m[1]!.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    typed.set(key, [...(typed.get(key) ?? []), value]);
  }
  for (const [key, values] of typed) {
    const parsed = cli.options[key];
    const coerced = typeof parsed === "number" || (Array.isArray(parsed) && parsed.some((v) => typeof v === "number"));
    if (coerced) cli.options[key] = values.length === 1 ? values[0] : values;
  }
}

/**
 * mri reads `--interval -5` as two flags and reports "Unknown option -5"; a negative number after
 * an option that takes a value is that option's value, so validation can say what is wrong with it.
 */
function attachNegativeValues(cli: CAC, argv: string[]): string[] {
  const valued = valuedOptions(cli);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return [...out, ...argv.slice(i)];
    const next = argv[i + 1];
    if (valued.has(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}
