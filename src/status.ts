import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { resolveConfig, defaultStatePath } from "./config.ts";
import { findDrift, type Drift } from "./drift.ts";
import { silentLogger } from "./events.ts";
import { syncOnce } from "./mirror.ts";
import { configWithStored } from "./session.ts";
import type { PairSettings } from "./settings.ts";
import { openStore, type Store } from "./store/store.ts";
import type { RunRecord, RunResult, Trigger } from "./store/runs.ts";
import type { OpAction } from "./store/ops.ts";

export interface RunInfo {
  id: number;
  trigger: Trigger;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  /** null while the run is going on, or when it was cut short (kill -9, power cut). */
  result: RunResult | null;
  counts: Record<string, number>;
  bytes: number;
  errors: number;
  /** Why it was refused or failed. */
  reason: string | null;
}

export interface PairStatus {
  inSync: boolean;
  /** What a sync would do now: the same actions and paths as --dry-run. */
  pending: { action: OpAction; path: string; from?: string }[];
  drift: Drift[];
  lastRun: RunInfo | null;
  /** The pair's settings this status planned with: the stored ones, unless options overrode them. */
  settings: PairSettings;
}

export interface PairSummary {
  source: string;
  replica: string;
  lastRun: RunInfo | null;
  /** Now, as the pair's own status says: nothing pending, nothing drifted, and both sides there. */
  inSync: boolean;
  pending: number;
  drift: number;
  /** Why the pair's state could not be read (its source or replica is gone), if so. */
  error?: string;
}

export interface StatusOptions {
  state?: string;
  /** Also re-hash replica files, to catch bit rot and same-size same-mtime changes. */
  verify?: boolean;
  /** The excludes the pair is synced with (.synchroignore is read as in a sync). */
  exclude?: string | string[];
  now?: () => number;
}

export function runInfo(r: RunRecord): RunInfo {
  return {
    id: r.id,
    trigger: r.trigger,
    startedAt: new Date(r.startedAt).toISOString(),
    endedAt: r.endedAt === null ? null : new Date(r.endedAt).toISOString(),
    durationMs: r.endedAt === null ? null : r.endedAt - r.startedAt,
    result: r.result,
    counts: r.counts,
    bytes: r.bytes,
    errors: r.errors,
    reason: r.reason,
  };
}

/**
 * Opens the index for reading. A missing index is not created: an in-memory one stands in,
 * so a pair never synced reads as "everything pending" and a read-only command writes nothing.
 */
export async function openForReading(state: string, now: () => number): Promise<Store> {
  return openStore(existsSync(state) ? state : ":memory:", { now, check: false, readOnly: true });
}

/**
 * With a pair: what is pending (a dry run), how the replica drifted from the index, and the
 * last run. Never writes the replica, takes no run lock and records no run.
 * Without a pair: every pair the index knows, as of its last run.
 */
export async function status(options: StatusOptions & { source: string; replica: string }): Promise<PairStatus>;
export async function status(options?: StatusOptions): Promise<PairSummary[]>;
export async function status(options: StatusOptions & { source?: string; replica?: string } = {}): Promise<PairStatus | PairSummary[]> {
  const now = options.now ?? Date.now;
  if (options.source === undefined && options.replica === undefined) {
    const state = resolve(options.state ?? defaultStatePath());
    if (!existsSync(state)) return [];
    const store = await openForReading(state, now);
    const pairs = store.pairs();
    store.close();
    // Each pair's real state, as its own status computes it: this is what monitoring reads.
    const out: PairSummary[] = [];
    for (const p of pairs) out.push(await summaryOf(p.source, p.replica, { ...options, state }));
    return out;
  }
  return pairStatus({ ...options, source: options.source!, replica: options.replica! });
}

async function summaryOf(source: string, replica: string, options: StatusOptions): Promise<PairSummary> {
  try {
    const s = await pairStatus({ ...options, source, replica });
    return { source, replica, lastRun: s.lastRun, inSync: s.inSync, pending: s.pending.length, drift: s.drift.length };
  } catch (err) {
    const store = await openForReading(options.state!, options.now ?? Date.now);
    try {
      const pair = store.pair(source, replica, false);
      const last = pair ? store.runs.last(pair.id) : null;
      return { source, replica, lastRun: last && runInfo(last), inSync: false, pending: 0, drift: 0, error: (err as Error).message };
    } finally {
      store.close();
    }
  }
}

async function pairStatus(options: StatusOptions & { source: string; replica: string }): Promise<PairStatus> {
  const now = options.now ?? Date.now;
  const given = { source: options.source, replica: options.replica, state: options.state, exclude: options.exclude, dryRun: true };
  const base = resolveConfig(given);
  const store = await openForReading(base.state, now);
  try {
    // The settings the pair's syncs use: status plans what they would do.
    const cfg = configWithStored(given, base, store);
    const dry = await syncOnce(cfg, { store, logger: silentLogger, now, trigger: "sync" });
    const pending = (dry.plan ?? []).map((p) => ({ action: p.action, path: p.path, ...(p.from ? { from: p.from } : {}) }));
    const pair = store.pair(cfg.source, cfg.replica, false);
    const drift = pair
      ? await findDrift({ source: cfg.source, replica: cfg.replica, pair: pair.id, entries: store.entries, isExcluded: cfg.isExcluded, verify: !!options.verify })
      : [];
    const last = pair ? store.runs.last(pair.id) : null;
    return { inSync: pending.length === 0 && drift.length === 0, pending, drift, lastRun: last && runInfo(last), settings: cfg.settings };
  } finally {
    store.close();
  }
}
