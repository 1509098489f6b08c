import type { Action } from "./plan.ts";
import type { RunState } from "./run.ts";

/** Progress events are cheap to skip: at most one per this many ms, checked only when the run yields. */
const PROGRESS_EVERY_MS = 100;
/** A copy this large takes a while; announce it at once so a progress line names it. */
const ANNOUNCE_COPY_BYTES = 8 << 20;

/** What a run knows of its own progress: counters only, bumped once per directory. */
export interface ProgressState {
  startedAt: number;
  lastAt: number;
  /** The index's entry count when the run began: how many source entries to expect. */
  expected: number | null;
  scanned: number;
  plannedFiles: number;
  plannedBytes: number;
  /** Bytes of the large files being copied now: counted before each is done, so a big copy moves the line. */
  inFlight: number;
}

export function newProgress(now: number, indexed: number): ProgressState {
  return { startedAt: now, lastAt: 0, expected: indexed || null, scanned: 0, plannedFiles: 0, plannedBytes: 0, inFlight: 0 };
}

/**
 * A hash check can turn into a copy nobody planned, and a planned copy can become a rename or
 * vanish; so planned never shows less than done, and at the end (`final`) it is exactly what was done.
 */
export function emitProgress(s: RunState, path: string, final = false): void {
  if (!s.deps.onEvent) return;
  const p = s.progress;
  p.lastAt = s.deps.now();
  const files = s.counts.create + s.counts.update;
  const bytes = s.bytes + p.inFlight;
  if (final) [p.plannedFiles, p.plannedBytes] = [files, bytes];
  p.plannedFiles = Math.max(p.plannedFiles, files);
  p.plannedBytes = Math.max(p.plannedBytes, bytes);
  const { expected, scanned, plannedFiles, plannedBytes } = p;
  s.deps.onEvent({ type: "progress", files, bytes, plannedFiles, plannedBytes, scanned, expected, elapsedMs: p.lastAt - p.startedAt, path });
}

/** Called when the run turns the event loop (every ~5 ms of work): emits when the last event is old enough. */
export function progressTick(s: RunState, path: string): void {
  if (s.deps.now() - s.progress.lastAt >= PROGRESS_EVERY_MS) emitProgress(s, path);
}

export interface CopyProgress {
  /** The bytes copied so far. */
  chunk(copied: number): void;
  /** Done or not: its bytes now count in the run's total (s.bytes), or not at all. */
  end(): void;
}

/** Before a copy: announces a large one. Several large copies may be in flight: each adds its own share. */
export function copyStarted(s: RunState, path: string, size: number): CopyProgress {
  if (size >= ANNOUNCE_COPY_BYTES) emitProgress(s, path);
  let mine = 0;
  return {
    chunk(copied) {
      s.progress.inFlight += copied - mine;
      mine = copied;
      progressTick(s, path);
    },
    end() {
      s.progress.inFlight -= mine;
      mine = 0;
    },
  };
}

/** One pass over a directory's plan, so progress knows what is coming before its copies start. */
export function notePlanned(s: RunState, listed: number, actions: readonly Action[]): void {
  s.progress.scanned += listed;
  for (const a of actions) {
    if (a.op !== "create" && a.op !== "update") continue;
    s.progress.plannedFiles++;
    s.progress.plannedBytes += a.entry.size;
  }
}
