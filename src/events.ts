import type { OpAction } from "./store/ops.ts";

/** What the engine tells its caller while it works. The CLI turns these into log lines and progress. */
export type SyncEvent =
  | { type: "op"; action: OpAction; path: string; size: number | null; from?: string; error?: string }
  | { type: "plan"; action: OpAction; path: string; size: number | null; from?: string }
  | ProgressEvent;

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
