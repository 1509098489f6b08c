import type { CAC } from "cac";
import { SynchroError } from "../errors.ts";
import { status, type PairStatus, type PairSummary, type RunInfo } from "../status.ts";
import { count, formatBytes, formatPlanLine, printable } from "./output.ts";
import { refuseRemote, STATE_HELP } from "./flags.ts";
import { describeSettings } from "../settings.ts";

interface StatusFlags {
  state?: string;
  verbose?: boolean;
  verify?: boolean;
  json?: boolean;
  exclude?: string | string[];
}

/** Long lists are cut here: status is a glance, `sync --dry-run` gives the full plan. */
const SHOWN = 20;

export function registerStatus(cli: CAC, exit: (code: number) => void): void {
  cli
    .command("status [source] [replica]", "Is the replica in sync? What is pending, what drifted, how did the last run go. Without a pair: every pair")
    .option("--state <file>", STATE_HELP)
    .option("--verify", "Also re-hash replica files, to catch bit rot and same-size same-mtime changes")
    .option("--exclude <glob>", "The excludes the pair is synced with; repeatable. .synchroignore is read as in a sync")
    .option("--json", "Print one JSON object on stdout")
    .option("-v, --verbose", `List every pending and drifted path, not only the first ${SHOWN}`)
    .option("-q, --quiet", "Only warnings and errors on the console (the report on stdout is the result: it stays)")
    .option("--log <file>", "Taken as sync takes it, so a script can pass the same options to every command; status writes nothing")
    .example("synchro status ~/Documents /mnt/backup/Documents --verify")
    .example("synchro status --json")
    .action(async (source: string | undefined, replica: string | undefined, flags: StatusFlags) => exit(await statusCommand(source, replica, flags)));
}

async function statusCommand(source: string | undefined, replica: string | undefined, flags: StatusFlags): Promise<number> {
  if (source !== undefined && replica === undefined) throw new SynchroError("USAGE", "status takes both <source> and <replica>, or neither");
  refuseRemote(source, "source");
  refuseRemote(replica, "replica");
  if (source === undefined) {
    const pairs = await status({ state: flags.state });
    process.stdout.write(flags.json ? JSON.stringify(pairs) + "\n" : formatPairs(pairs));
    return pairs.every((p) => p.inSync) ? 0 : 1;
  }
  const s = await status({ source, replica: replica!, state: flags.state, verify: flags.verify, exclude: flags.exclude });
  process.stdout.write(flags.json ? JSON.stringify(s) + "\n" : formatStatus(s, flags.verbose === true));
  return s.inSync ? 0 : 1;
}

function capped<T>(items: T[], line: (item: T) => string, all: boolean): string {
  const shown = all ? items : items.slice(0, SHOWN);
  const lines = shown.map((i) => `  ${line(i)}\n`);
  if (items.length > shown.length) lines.push(`  ... and ${count(items.length - shown.length)} more\n`);
  return lines.join("");
}

function formatRun(r: RunInfo | null): string {
  if (!r) return "never synced";
  return `last ${describeRun(r)}`;
}

function describeRun(r: RunInfo): string {
  const took = r.durationMs === null ? "" : `, took ${(r.durationMs / 1000).toFixed(1)} s`;
  const counts = Object.entries(r.counts).filter(([k, n]) => n > 0 && k !== "adopt").map(([k, n]) => `${count(n)} ${k}`);
  const what = counts.length ? `; ${counts.join(", ")}, ${formatBytes(r.bytes)}` : "";
  const why = r.reason ? ` (${printable(r.reason)})` : "";
  return `run ${r.id} (${r.trigger}) at ${r.startedAt}: ${r.result ?? "did not finish"}${why}${took}${what}`;
}

function formatStatus(s: PairStatus, all: boolean): string {
  const head = s.inSync ? "in sync" : `not in sync: ${count(s.pending.length)} pending, ${count(s.drift.length)} drifted in the replica`;
  let out = `${head}\n${formatRun(s.lastRun)}\nsettings: ${describeSettings(s.settings)}\n`;
  if (s.pending.length) out += `pending (what the next sync would do):\n${capped(s.pending, formatPlanLine, all)}`;
  if (s.drift.length) out += `drift (the replica differs from what was written):\n${capped(s.drift, (d) => `${d.kind.padEnd(8)} ${printable(d.path)}`, all)}`;
  return out;
}

function formatPairs(pairs: PairSummary[]): string {
  if (pairs.length === 0) return "no pairs synced yet\n";
  return pairs
    .map((p) => {
      const why = p.error ? ` (${printable(p.error)})` : p.inSync ? "" : ` (${count(p.pending)} pending, ${count(p.drift)} drifted)`;
      return `${p.inSync ? "in sync    " : "not in sync"}  ${printable(p.source)} -> ${printable(p.replica)}${why}\n  ${formatRun(p.lastRun)}\n`;
    })
    .join("");
}
