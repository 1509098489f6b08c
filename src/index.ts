export { sync, openSession, type SyncOptions, type Session, type Effects } from "./session.ts";
export { SynchroError, type ErrorCode } from "./errors.ts";
export type { SyncSummary, Counts } from "./run.ts";
export type { SyncEvent, Logger } from "./events.ts";
export type { Trigger, RunResult } from "./store/runs.ts";
export type { OpAction } from "./store/ops.ts";
export { defaultStatePath } from "./config.ts";
export { status, type StatusOptions, type PairStatus, type PairSummary, type RunInfo } from "./status.ts";
export type { Drift, DriftKind } from "./drift.ts";
