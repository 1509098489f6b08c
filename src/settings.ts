import type { ConfigOptions } from "./config.ts";

/**
 * What a pair remembers between runs: the options that decide what the replica holds and what
 * may be deleted from it. One run without `--exclude` must not delete what another run kept out,
 * nor one without `--backup-dir` wipe the versions another kept; `status` must plan with the
 * options the syncs use. An option given on the command line replaces the stored one (and the
 * change is logged); one not given keeps it; `--reset` forgets them all.
 */
export interface PairSettings {
  exclude?: string[];
  /** Absolute, as resolved when it was given: later runs may start in another working directory. */
  backupDir?: string;
  maxDelete?: string;
  keep?: number;
  historyDays?: number;
}

const KEYS = ["exclude", "backupDir", "maxDelete", "keep", "historyDays"] as const;
type Key = (typeof KEYS)[number];

const FLAGS: Record<Key, string> = { exclude: "--exclude", backupDir: "--backup-dir", maxDelete: "--max-delete", keep: "--keep", historyDays: "--history-days" };

const asList = (v: string | string[]): string[] => (Array.isArray(v) ? v.map(String) : [String(v)]);

/** The settings a run's options give explicitly, in their stored form. */
export function givenSettings(opts: ConfigOptions): PairSettings {
  const out: PairSettings = {};
  if (opts.exclude !== undefined) out.exclude = asList(opts.exclude);
  if (opts.backupDir !== undefined) out.backupDir = String(opts.backupDir);
  if (opts.maxDelete !== undefined) out.maxDelete = String(opts.maxDelete);
  if (opts.keep !== undefined) out.keep = Number(opts.keep);
  if (opts.historyDays !== undefined) out.historyDays = Number(opts.historyDays);
  return out;
}

/** Options with the stored settings filled in wherever the options leave one unset. */
export function withStored(opts: ConfigOptions, stored: PairSettings | null): ConfigOptions {
  if (!stored) return opts;
  const out: ConfigOptions = { ...opts };
  for (const key of KEYS) if (out[key] === undefined && stored[key] !== undefined) (out as Record<Key, unknown>)[key] = stored[key];
  return out;
}

const show = (v: unknown): string => (v === undefined ? "(none)" : Array.isArray(v) ? (v.length ? v.map((p) => `'${p}'`).join(" ") : "(none)") : String(v));

/** One line per setting that `now` changes from `before`, for the log: `--exclude '*.log' -> '*.tmp'`. */
export function settingChanges(before: PairSettings | null, now: PairSettings): string[] {
  if (!before) return [];
  const lines: string[] = [];
  for (const key of KEYS) {
    if (JSON.stringify(before[key] ?? null) === JSON.stringify(now[key] ?? null)) continue;
    lines.push(`${FLAGS[key]} ${show(before[key])} -> ${show(now[key])}`);
  }
  return lines;
}

/** The settings as a user types them, for status: `--exclude '*.log' --max-delete 20%`. */
export function describeSettings(s: PairSettings): string {
  const parts: string[] = [];
  for (const key of KEYS) {
    const v = s[key];
    if (v === undefined) continue;
    if (key === "exclude") for (const p of v as string[]) parts.push(`--exclude '${p}'`);
    else parts.push(`${FLAGS[key]} ${key === "backupDir" ? `'${v}'` : v}`);
  }
  return parts.length ? parts.join(" ") : "defaults";
}

export const parseSettings = (text: string | null): PairSettings | null => (text ? (JSON.parse(text) as PairSettings) : null);
