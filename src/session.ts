import { existsSync, statSync } from "node:fs";
import { printable } from "./printable.ts";
import { SynchroError } from "./errors.ts";
import { resolveConfig, type ConfigOptions } from "./config.ts";
import { withStored } from "./settings.ts";
import { silentLogger, type Logger, type SyncEvent } from "./events.ts";
import { openStore, type Store } from "./store/store.ts";
import { syncOnce, type RunConfig, type RunScope } from "./mirror.ts";
import { mayWarm, warmWalkAhead, type WarmWorker } from "./walk-ahead.ts";
import type { SyncSummary } from "./run.ts";
import type { Trigger } from "./store/runs.ts";
import type { LockSlot } from "./replica/lock.ts";

/** Effects come in as options: clock, logger and event callbacks, so tests and the CLI pass their own. */
export interface Effects {
  logger?: Logger;
  now?: () => number;
  onEvent?: (event: SyncEvent) => void;
  signal?: AbortSignal;
  /**
   * The caller owns its process and resolves no relative path while a run is on (the CLI): the
   * walk may then list each source directory from inside it, which makes a re-sync's lstats
   * cheaper (see listDir in src/walk.ts). Off for a library caller, whose own threads may be
   * resolving relative paths meanwhile.
   */
  ownsProcess?: boolean;
}

export interface SyncOptions extends ConfigOptions, Effects {
  trigger?: Trigger;
  /** Called once the options are valid and before anything is opened: the CLI opens its log file here. */
  onConfig?: (cfg: RunConfig) => void;
}

/** A validated pair with its index open: what interval and watch loops reuse from run to run. */
export interface Session {
  cfg: RunConfig;
  store: Store;
  run(trigger: Trigger, signal?: AbortSignal, scope?: RunScope): Promise<SyncSummary>;
  close(): void;
}

export async function openSession(options: SyncOptions): Promise<Session> {
  const cfg = resolveConfig(options);
  // Bad input creates nothing: a missing source with no index yet is plainly missing.
  if (!cfg.sourceExists && !existsSync(cfg.state)) throw new SynchroError("SOURCE_MISSING", `source does not exist: ${cfg.source}`);
  options.onConfig?.(cfg);
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const warm = warmFor(cfg);
  let store: Store;
  try {
    store = await openStore(cfg.state, {
      now,
      onCorrupt: (to, why) => logger.warn(printable(`the index was unreadable (${why}); moved it to ${to} and rebuilding from both trees`)),
    });
  } catch (err) {
    warm?.close();
    throw err;
  }
  const merged = configWithStored(options, cfg, store);
  const lockSlot: LockSlot = { held: null };
  return {
    cfg: merged,
    store,
    async run(trigger, signal, scope) {
      try {
        return await syncOnce(merged, { store, logger, now, trigger, onEvent: options.onEvent, signal: signal ?? options.signal, warm, ownsProcess: options.ownsProcess, lockSlot }, scope);
      } finally {
        // Only the first run may take it; one that did not (a scan) must not leave it idle for a whole watch.
        warm?.close();
      }
    },
    close: () => {
      warm?.close();
      lockSlot.held?.release();
      lockSlot.held = null;
      store.close();
    },
  };
}

/**
 * The run's config: the options given, and for each setting the pair remembers that they leave
 * unset, the stored one (src/settings.ts); with `reset`, the options alone.
 */
export function configWithStored(options: ConfigOptions, cfg: RunConfig, store: Store): RunConfig {
  if (options.reset) return cfg;
  const known = store.pair(cfg.source, cfg.replica, false);
  const stored = known ? store.settings(known.id) : null;
  return stored ? resolveConfig(withStored(options, stored)) : cfg;
}

/** A walk-ahead worker started now, while the index opens, when the index looks large enough to use one (see mayWarm). */
function warmFor(cfg: RunConfig): WarmWorker | null {
  if (cfg.checksum) return null;
  let bytes: number;
  try {
    bytes = statSync(cfg.state).size;
  } catch {
    return null;
  }
  return mayWarm(bytes) ? warmWalkAhead() : null;
}

/** One sync run: the library's `sync()`. Resolves to the same summary `--json` prints. */
export async function sync(options: SyncOptions): Promise<SyncSummary> {
  const session = await openSession(options);
  try {
    return await session.run(options.trigger ?? "sync");
  } finally {
    session.close();
  }
}
