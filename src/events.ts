import type { OpAction } from "./store/ops.ts";

/** What the engine tells its caller while it works. The CLI turns these into log lines and progress. */
export type SyncEvent =
  | { type: "op"; action: OpAction; path: string; size: number | null; from?: string; error?: string }
  | { type: "plan"; action: OpAction; path: string; size: number | null; from?: string }
  | { type: "progress"; files: number; bytes: number; path: string };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
