import type { SyncSummary } from "../run.ts";
import { printable } from "../printable.ts";

export { printable };

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** 0.42 s, 12.3 s, 4 min 05 s, 2 h 03 min: precise when short, readable when long. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")} min`;
}

/**
 * rsync -i style: the first character says what happens (> copy, c create, . attributes only,
 * * delete, ! failed), the second what it is (f file, d directory, L symlink, r a move).
 */
const MARKERS: Record<string, string> = {
  create: ">f+", update: ">f.", symlink: "cL+", mkdir: "cd+", meta: ".m.", rename: ">r.",
  delete: "*f-", rmdir: "*d-", backup: "*b-", error: "!! ",
};
const DIR_ACTIONS = new Set(["mkdir", "rmdir"]);

/**
 * An operation's log line: `create a/b.txt`, `rename b (from a)`. None for a failure: the engine's
 * error line (`ERROR a/b.txt: ...`) has told it, and one failure is one line.
 */
export function formatOpLine(e: { action: string; path: string; from?: string }): string | null {
  if (e.action === "error") return null;
  return `${e.action} ${printable(e.path)}${e.from ? ` (from ${printable(e.from)})` : ""}`;
}

/** One line per planned path: a marker, the action, the path (directories end in /). */
export function formatPlanLine(p: { action: string; path: string; from?: string }): string {
  const from = p.from ? ` (from ${printable(p.from)})` : "";
  const slash = DIR_ACTIONS.has(p.action) ? "/" : "";
  return `${MARKERS[p.action] ?? "   "} ${p.action.padEnd(7)} ${printable(p.path)}${slash}${from}`;
}

/** Bytes a run copied; for a dry run, the bytes it would copy. */
export function bytesOf(s: SyncSummary): number {
  if (!s.dryRun) return s.bytes;
  return (s.plan ?? []).reduce((n, p) => (p.action === "create" || p.action === "update" ? n + (p.size ?? 0) : n), 0);
}

import { count, plural } from "../words.ts";

export { count, plural };

/** The counts beyond created/updated/deleted, shown only when something happened. */
function extras(s: SyncSummary): string[] {
  const c = s.counts;
  const out: string[] = [];
  if (c.mkdir) out.push(plural(c.mkdir, "dir made", "dirs made"));
  if (c.rmdir) out.push(plural(c.rmdir, "dir removed", "dirs removed"));
  if (c.symlink) out.push(plural(c.symlink, "link"));
  if (c.rename) out.push(`${count(c.rename)} renamed`);
  if (c.meta) out.push(plural(c.meta, "attribute fixed", "attributes fixed"));
  if (c.backup) out.push(`${count(c.backup)} backed up`);
  if (c.adopt) out.push(`${count(c.adopt)} already in place`);
  return out;
}

/**
 * The human end-of-run line, for the console and the log file:
 * `synced in 1.23 s: 2 created, 1 updated, 0 deleted; 1 dir made; 5.0 MiB copied at 4.1 MiB/s; 0 errors`
 * `dry run, nothing changed; would be: 2 created, 0 updated, 1 deleted; 5.0 MiB to copy`
 */
export function formatSummary(s: SyncSummary): string {
  const c = s.counts;
  const bytes = bytesOf(s);
  const more = extras(s);
  const body = `${count(c.create)} created, ${count(c.update)} updated, ${count(c.delete)} deleted${more.length ? `; ${more.join(", ")}` : ""}`;
  // Not errors, so not in the error count: names the run could not handle, each named in a warning.
  const names = s.skippedNames.length ? `; ${plural(s.skippedNames.length, "name")} skipped (not UTF-8)` : "";
  if (s.dryRun) {
    const refused = s.result === "refused" ? "; over the delete limit, so a real run would refuse" : "";
    return `dry run, nothing changed; would be: ${body}; ${formatBytes(bytes)} to copy${refused}${names}`;
  }
  const secs = s.durationMs / 1000;
  const rate = bytes > 0 && secs > 0 ? ` at ${formatBytes(Math.round(bytes / secs))}/s` : "";
  const head = s.result === "ok" ? "synced" : s.result === "partial" ? "synced with errors" : s.result;
  return `${head} in ${formatDuration(s.durationMs)}: ${body}; ${formatBytes(bytes)} copied${rate}; ${plural(s.errors.length, "error")}${names}`;
}
