import type { OpAction } from "./store/ops.ts";
import type { Trigger } from "./store/runs.ts";

/** What the engine tells its caller while it works. The CLI turns these into log lines and progress. */
export type SyncEvent =
  | { type: "op"; action: OpAction; path: string; size: number | null; from?: string; error?: string }
  | { type: "plan"; action: OpAction; path: string; size: number | null; from?: string }
  | RunStart
  | ProgressEvent;

/**
 * A run begins: sent once it holds the replica's lock, or, for a run refused before that, once its
 * refusal is recorded. What the engine says from then until the run's summary is this run's.
 * `run` is its number in the index (`history`), null on a dry run, which records nothing.
 */
export interface RunStart {
  type: "start";
  run: number | null;
  source: string;
  replica: string;
  trigger: Trigger;
  dryRun: boolean;
}

/**
 * Sent when a run starts, at most every 100 ms while it works, before each large copy, and at the end.
 * `files`/`bytes` are copied so far of `plannedFiles`/`plannedBytes` planned so far: the plan grows
 * as the walk goes, one directory at a time. `scanned` source entries have been listed of
 * `expected`, the index's entry count at the start (null on a first run: nothing to estimate from).
 */
export interface ProgressEvent {
  type: "progress";
  files: number;
  bytes: number;
  plannedFiles: number;
  plannedBytes: number;
  scanned: number;
  expected: number | null;
  elapsedMs: number;
  /** The path being worked on; "" at the start and the end. */
  path: string;
}

/** Each message is one line: every name in it is escaped with printable() (src/printable.ts) by the code that writes it. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
