import type { CAC } from "cac";
import { history, type HistoryOp, type HistoryRun } from "../history.ts";
import { count, formatBytes, printable } from "./output.ts";
import { refuseRemote, STATE_HELP } from "./flags.ts";

interface HistoryFlags {
  state?: string;
  since?: string;
  until?: string;
  action?: string | string[];
  path?: string;
  run?: number | string;
  limit?: number | string;
  runs?: boolean;
  json?: boolean;
}

export function registerHistory(cli: CAC, exit: (code: number) => void): void {
  cli
    .command("history [source] [replica]", "What happened, newest first: operations (or runs with --runs), for one pair or all")
    .option("--state <file>", STATE_HELP)
    .option("--since <when>", "From this time: an ISO date or time (2026-11-24, 2026-11-24T10:00Z), or a time ago (30m, 2h, 7d)")
    .option("--until <when>", "Up to this time, same forms as --since")
    .option("--action <a[,b]>", "Only these actions: create, update, delete, mkdir, rmdir, symlink, meta, rename, backup, error")
    .option("--path <glob>", "Only paths matching this picomatch glob, relative to the pair root")
    .option("--run <id>", "Only this run")
    .option("--limit <n>", "At most this many, newest first (default: 50)")
    .option("--runs", "List runs instead of operations")
    .option("--json", "Print a JSON array on stdout")
    .option("-q, --quiet", "Only warnings and errors on the console (the list on stdout is the result: it stays)")
    .option("-v, --verbose", "Taken as sync takes it; history lists every match up to --limit anyway")
    .option("--log <file>", "Taken as sync takes it, so a script can pass the same options to every command; history writes nothing")
    .option("--exclude <glob>", "Taken as sync takes it; history shows what was recorded (filter with --path)")
    .example("synchro history ~/Documents /mnt/backup/Documents --path 'taxes/**' --since 30d")
    .example("synchro history --action delete,error --since 2h --json")
    .example("synchro history --runs --limit 10")
    .action(async (source: string | undefined, replica: string | undefined, flags: HistoryFlags) => {
      // cac turns numeric-looking values into numbers; times and globs are text ("2026" is not epoch ms).
      refuseRemote(source, "source");
      refuseRemote(replica, "replica");
      const text = (v: unknown) => (v === undefined ? undefined : String(v));
      const options = { source, replica, state: flags.state, since: text(flags.since), until: text(flags.until), run: flags.run, limit: flags.limit };
      if (flags.runs) {
        const runs = await history({ ...options, action: flags.action, path: text(flags.path), runs: true });
        process.stdout.write(flags.json ? JSON.stringify(runs) + "\n" : formatRuns(runs));
      } else {
        const ops = await history({ ...options, action: flags.action, path: text(flags.path) });
        process.stdout.write(flags.json ? JSON.stringify(ops) + "\n" : formatOps(ops));
      }
      exit(0);
    });
}

/** ISO time to the second: the table is for reading, --json keeps the milliseconds. */
const shortTime = (iso: string): string => iso.replace(/\.\d{3}Z$/, "Z");

function formatOps(ops: HistoryOp[]): string {
  if (ops.length === 0) return "no operations match\n";
  return ops
    .map((o) => {
      const size = o.size === null ? "-" : formatBytes(o.size);
      const from = o.from ? ` (from ${printable(o.from)})` : "";
      const err = o.error ? `: ${o.error}` : "";
      const pair = o.source ? `  [${printable(o.source)} -> ${printable(o.replica ?? "")}]` : "";
      return `${shortTime(o.time)}  ${o.action.padEnd(7)}  ${size.padStart(10)}  ${printable(o.path)}${from}${err}${pair}\n`;
    })
    .join("");
}

function formatRuns(runs: HistoryRun[]): string {
  if (runs.length === 0) return "no runs match\n";
  return runs
    .map((r) => {
      const took = r.durationMs === null ? "-" : `${(r.durationMs / 1000).toFixed(1)} s`;
      const counts = Object.entries(r.counts).filter(([k, n]) => n > 0 && k !== "adopt").map(([k, n]) => `${count(n)} ${k}`).join(", ") || "no changes";
      const pair = r.source ? `  [${printable(r.source)} -> ${printable(r.replica ?? "")}]` : "";
      const why = r.reason ? `  (${printable(r.reason)})` : "";
      return `run ${r.id}  ${r.trigger.padEnd(8)}  ${shortTime(r.startedAt)}  ${took.padStart(8)}  ${(r.result ?? "unfinished").padEnd(10)}  ${counts}; ${formatBytes(r.bytes)}${why}${pair}\n`;
    })
    .join("");
}
