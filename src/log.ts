import { closeSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as later } from "node:timers";
import { createConsola, type ConsolaReporter, type LogObject } from "consola/core";
import { consoleReporter, messageOf } from "./log-console.ts";
import { SynchroError, errnoOf } from "./errors.ts";
import { permissionRefused } from "./runtime.ts";
import type { Logger } from "./events.ts";

export type Verbosity = "quiet" | "normal" | "verbose";

/** consola levels: 1 warn, 3 info, 4 debug. Operation lines carry the tag "op". */
const CONSOLE_LEVEL: Record<Verbosity, number> = { quiet: 1, normal: 3, verbose: 4 };
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

/**
 * Appends plain lines (ISO time, level, message) to a file. If someone deletes or rotates the
 * file while we run, the next line notices the inode changed and writes a fresh file.
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
): ConsolaReporter & { buffered(text: string): void; close(): void } {
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
    const note = lost > 0 ? `${midLine ? "\n" : ""}${new Date(now()).toISOString()} WARN ${lost} log lines were lost: the log could not be written\n` : "";
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

  // A first copy logs about 14 ops a millisecond here, and each ISO time costs about 0.8 µs.
  let stampedAt = Number.NaN;
  let stamp = "";
  const isoTime = (t: number): string => {
    if (t !== stampedAt) {
      stampedAt = t;
      stamp = new Date(t).toISOString();
    }
    return stamp;
  };

  /** An op line: written within FLUSH_MS, in order with every other line. */
  function buffered(text: string): void {
    pending += `${isoTime(now())} INFO ${text}\n`;
    if (pending.length >= FLUSH_BYTES) flush();
    else timer ??= later(flush, FLUSH_MS).unref();
  }

  function line(level: string, text: string, date = new Date(now())): void {
    flush();
    append(`${date.toISOString()} ${level.toUpperCase()} ${text}\n`);
  }

  return {
    log(obj: LogObject) {
      const text = messageOf(obj);
      const level = obj.tag === "op" ? "info" : obj.type === "success" ? "info" : obj.type;
      line(level, text, obj.date);
    },
    buffered,
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
  close(): void;
}

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
  const consoleFilter: ConsolaReporter = {
    log(obj, ctx) {
      const level = obj.tag === "op" ? 4 : obj.level;
      if (level > consoleLevel) return;
      opts.beforeConsole?.();
      toConsole.log(obj, ctx);
    },
  };
  const consola = createConsola({ level: 5, reporters: file ? [file, consoleFilter] : [consoleFilter], stdout: process.stderr, stderr: process.stderr });
  const ops = consola.withTag("op");
  const fileOnly = createConsola({ level: 5, reporters: file ? [file] : [] });
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
    close: () => file?.close(),
  };
}
