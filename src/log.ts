import { closeSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as later } from "node:timers";
import { createConsola, type ConsolaReporter, type LogObject } from "consola/core";
import { consoleReporter, messageOf } from "./log-console.ts";
import { SynchroError, errnoOf } from "./errors.ts";
import { permissionRefused } from "./runtime.ts";
import { printable } from "./printable.ts";
import type { Logger, RunStart } from "./events.ts";

export type Verbosity = "quiet" | "normal" | "verbose";

/** consola levels: 1 warn, 3 info, 4 debug. Operation lines carry the tag "op". */
const CONSOLE_LEVEL: Record<Verbosity, number> = { quiet: 1, normal: 3, verbose: 4 };
/** The file has every operation whatever the console shows; debug lines (internal figures) only with --verbose. */
const FILE_LEVEL: Record<Verbosity, number> = { quiet: 3, normal: 3, verbose: 4 };
/** Checking the log's inode costs one stat; doing it at most this often keeps 100k op lines cheap. */
const RECHECK_MS = 100;
/**
 * Op lines are buffered and written at most this long after the first of them, or at 64 KiB:
 * one write per line cost 27 µs each (540 ms of a 20k-file copy), because every append to a
 * file on a busy ext4 waits on its journal. A kill -9 can lose this much of the log, as it
 * loses the index's uncommitted work (store.ts commits every 250 ms).
 */
const FLUSH_MS = 200;
const FLUSH_BYTES = 64 << 10;

const pad = (n: number): string => String(n).padStart(2, "0");

/**
 * ISO 8601 in local time with its offset, milliseconds kept: 2026-12-08T03:04:05.678+01:00. The
 * log is read by someone asking what happened at 3am their time; bare UTC made them do the sum.
 */
export function localTime(t: number): string {
  const offset = -new Date(t).getTimezoneOffset();
  const local = new Date(t + offset * 60_000).toISOString().slice(0, 23);
  const abs = Math.abs(offset);
  return `${local}${offset < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * Appends plain lines (local time, level, the run they belong to, message) to a file. If someone
 * deletes or renames the file while we run (logrotate without copytruncate), a line written
 * RECHECK_MS later notices the inode changed and starts a fresh file at the same path.
 *
 * Only opening the file at the start may throw (LOG_UNWRITABLE, exit 2: nothing was done yet).
 * A write that fails later (a full disk) never reaches the run: the log is a copy of what the
 * index records, and a logger that threw from inside a run (or its `finally`) stopped it half
 * way and left its workers keeping the process alive. `onLost` hears the first failure, once;
 * later lines are still tried, so a disk with room again gets the log back, with a line saying
 * how many lines it lost.
 */
export function fileReporter(
  file: string, now: () => number = Date.now, onLost: (err: SynchroError) => void = () => {},
): ConsolaReporter & { buffered(text: string): void; beginRun(tag: string, start: string, lazy: boolean): void; runShown(): boolean; endRun(): void; close(): void } {
  let fd: number | null = openLog(file);
  let ino = fstatSync(fd).ino;
  let checkedAt = now();
  let pending = "";
  let closed = false;
  let timer: ReturnType<typeof later> | null = null;
  let warned = false;
  /** Lines lost since the last write that went through, and whether the file now ends mid-line. */
  let lost = 0;
  let midLine = false;
  /** The run whose lines these are: its tag, and its start line until that is written. */
  let run: { tag: string; start: { text: string; at: number } | null } | null = null;
  // A CLI that exits without close() (a fatal error) still gets its last op lines written.
  const onExit = () => flush();
  process.on("exit", onExit);

  function reopenIfMoved(): void {
    if (fd !== null && now() - checkedAt < RECHECK_MS) return;
    checkedAt = now();
    let current: number | null = null;
    try {
      current = statSync(file).ino;
    } catch {
      current = null;
    }
    if (fd !== null && current === ino) return;
    if (fd !== null) closeQuiet(fd);
    fd = null;
    fd = openLog(file);
    ino = fstatSync(fd).ino;
  }

  /**
   * Appends whole lines. Those whose newline does not reach the file are counted as lost, and
   * the first failure goes to onLost; the next write that gets through starts with how many
   * were lost, on a line of its own.
   */
  function append(text: string): void {
    const note = lost > 0 ? `${midLine ? "\n" : ""}${isoTime(now())} WARN ${lost} log lines were lost: the log could not be written\n` : "";
    const data = Buffer.from(note + text);
    let written = 0;
    let failure: unknown = null;
    try {
      reopenIfMoved();
      written = writeSync(fd!, data);
    } catch (err) {
      failure = err;
    }
    if (written === data.length) {
      lost = 0;
      midLine = false;
      return;
    }
    // A disk that fills up mid-write takes part of the text and refuses the rest. The note is
    // no log line: if it did not get through, the lines it counted are still lost.
    const dropped = countLines(data.subarray(Math.max(written, note.length)));
    lost = written < note.length ? lost + dropped : dropped;
    if (written > 0) midLine = data[written - 1] !== NEWLINE;
    if (warned) return;
    warned = true;
    onLost(unwritable(file, failure ?? Object.assign(new Error("no space left on device"), { code: "ENOSPC" })));
  }

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending === "" || closed) return;
    const text = pending;
    pending = "";
    append(text);
  }

  // A first copy logs about 14 ops a millisecond here, and each time costs about 1 µs.
  let stampedAt = Number.NaN;
  let stamp = "";
  function isoTime(t: number): string {
    if (t !== stampedAt) {
      stampedAt = t;
      stamp = localTime(t);
    }
    return stamp;
  }

  /** The run's start line, if it is still to be written; once. */
  function opening(): string {
    const start = run?.start;
    if (!start) return "";
    run!.start = null;
    return `${isoTime(start.at)} INFO ${start.text}\n`;
  }

  /** A line as the file has it, after the run's start line if that is still to be written. */
  const format = (level: string, text: string, t: number): string => `${opening()}${isoTime(t)} ${level} ${run ? `[${run.tag}] ` : ""}${text}\n`;

  /** An op line: written within FLUSH_MS, in order with every other line. */
  function buffered(text: string): void {
    pending += format("INFO", text, now());
    if (pending.length >= FLUSH_BYTES) flush();
    else timer ??= later(flush, FLUSH_MS).unref();
  }

  function line(level: string, text: string, t = now()): void {
    flush();
    append(format(level.toUpperCase(), text, t));
  }

  return {
    log(obj: LogObject) {
      const text = messageOf(obj);
      const level = obj.tag === "op" ? "info" : obj.type === "success" ? "info" : obj.type;
      line(level, text, obj.date.getTime());
    },
    buffered,
    beginRun(tag, start, lazy) {
      run = { tag, start: { text: start, at: now() } };
      if (lazy) return;
      flush();
      append(opening());
    },
    runShown: () => run !== null && run.start === null,
    endRun() {
      run = null;
    },
    close() {
      flush();
      closed = true;
      process.off("exit", onExit);
      if (fd !== null) closeQuiet(fd);
      fd = null;
    },
  };
}

const NEWLINE = 0x0a;

const countLines = (data: Buffer): number => {
  let n = 0;
  for (let i = data.indexOf(NEWLINE); i >= 0; i = data.indexOf(NEWLINE, i + 1)) n++;
  return n;
};

function closeQuiet(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing more can be done for the log at its close; what the run did is in the index.
  }
}

function openLog(file: string): number {
  try {
    mkdirSync(dirname(file), { recursive: true });
    return openSync(file, "a");
  } catch (err) {
    throw unwritable(file, err);
  }
}

const unwritable = (file: string, err: unknown): SynchroError =>
  err instanceof SynchroError ? err : permissionRefused(err) ?? new SynchroError("LOG_UNWRITABLE", `cannot write the log file ${file}: ${errnoOf(err) ?? (err as Error).message}`);

export interface Log {
  logger: Logger;
  /** Operation lines: always in the file, on the console only when verbose. */
  op(message: string): void;
  /** The run summary: always in the file; on the console unless told otherwise, as a warning when the run was not ok. */
  summary(message: string, how?: { console?: boolean; ok?: boolean }): void;
  /**
   * The file's lines from here to endRun() are this run's: each names it after its level
   * (`[run 12]`), after the run's start line. `lazy` holds the start line back until the run's
   * first line, so that a run that logs nothing (a watch run with nothing to do) leaves no trace.
   */
  beginRun(start: RunStart, how?: { lazy?: boolean }): void;
  /** Whether the run's start line is in the file: a run shown there must end there too. */
  runShown(): boolean;
  /** Once the run's summary, or the reason it ended, is logged. */
  endRun(): void;
  close(): void;
}

/** A pair as the log names it: `<source> -> <replica>`. */
export const pairName = (e: { source: string; replica: string }): string => `${printable(e.source)} -> ${printable(e.replica)}`;

/** A run's start line: `run 12 started: <source> -> <replica>, trigger sync`. */
const startLine = (e: RunStart): string => `${e.run === null ? "dry run" : `run ${e.run}`} started: ${pairName(e)}, trigger ${e.trigger}`;

/** `beforeConsole` runs before each console line: the CLI clears its progress line there. */
export function createLog(opts: { file: string | null; verbosity: Verbosity; color: boolean; beforeConsole?: () => void }): Log {
  const consoleLevel = CONSOLE_LEVEL[opts.verbosity];
  // Console output goes to stderr: stdout belongs to results (--json, --dry-run, status).
  const toConsole = consoleReporter(process.stderr, opts.color);
  // Straight to the console, whatever the verbosity: through consola it would go to the file too.
  // The file is written first, so this comes before the console line whose write failed.
  const logLost = (err: SynchroError) => {
    opts.beforeConsole?.();
    const message = `${err.message}; synchro goes on without it (the index keeps every operation: synchro history)`;
    toConsole.log({ type: "warn", level: 1, tag: "", args: [message], date: new Date() });
  };
  const file = opts.file ? fileReporter(opts.file, Date.now, logLost) : null;
  const fileLevel = FILE_LEVEL[opts.verbosity];
  const fileFilter: ConsolaReporter | null = file && {
    log(obj, ctx) {
      if (obj.level <= fileLevel) file.log(obj, ctx);
    },
  };
  const consoleFilter: ConsolaReporter = {
    log(obj, ctx) {
      const level = obj.tag === "op" ? 4 : obj.level;
      if (level > consoleLevel) return;
      opts.beforeConsole?.();
      toConsole.log(obj, ctx);
    },
  };
  const consola = createConsola({ level: 5, reporters: fileFilter ? [fileFilter, consoleFilter] : [consoleFilter], stdout: process.stderr, stderr: process.stderr });
  const ops = consola.withTag("op");
  const fileOnly = createConsola({ level: 5, reporters: fileFilter ? [fileFilter] : [] });
  return {
    logger: {
      debug: (m) => consola.debug(m),
      info: (m) => consola.info(m),
      warn: (m) => consola.warn(m),
      error: (m) => consola.error(m),
    },
    // Unless the console shows them, op lines skip consola: 100k lines cost 350-500 ms through
    // it. They go to the file's buffer instead (see FLUSH_MS).
    op: consoleLevel >= 4 ? (m) => ops.info(m) : (m) => file?.buffered(m),
    summary: (m, how = {}) => {
      const target = how.console === false ? fileOnly : consola;
      if (how.ok === false) target.warn(m);
      else target.success(m);
    },
    beginRun: (e, how = {}) => file?.beginRun(e.run === null ? "dry run" : `run ${e.run}`, startLine(e), how.lazy === true),
    runShown: () => file?.runShown() ?? false,
    endRun: () => file?.endRun(),
    close: () => file?.close(),
  };
}
