import { printable } from "./printable.ts";

/** Every failure the engine reports on purpose carries a stable code; the CLI maps codes to exit codes. */
export type ErrorCode =
  | "USAGE"
  | "SOURCE_MISSING"
  | "SOURCE_NOT_DIR"
  | "REPLICA_IS_FILE"
  | "REPLICA_PARENT_MISSING"
  | "NESTED_PATHS"
  | "BAD_INTERVAL"
  | "BAD_GLOB"
  | "BAD_OPTION"
  | "STATE_UNWRITABLE"
  | "LOG_UNWRITABLE"
  | "INDEX_LOCKED"
  | "INDEX_CORRUPT"
  | "UNKNOWN_PAIR"
  | "DENO_PERMISSION"
  | "LOCKED"
  | "SOURCE_VANISHED"
  | "SOURCE_EMPTY"
  | "REPLICA_VANISHED"
  | "MARKER_UNUSABLE"
  | "DELETE_LIMIT"
  | "ABORTED";

const EXIT_CODES: Record<ErrorCode, number> = {
  USAGE: 2,
  SOURCE_MISSING: 2,
  SOURCE_NOT_DIR: 2,
  REPLICA_IS_FILE: 2,
  REPLICA_PARENT_MISSING: 2,
  NESTED_PATHS: 2,
  BAD_INTERVAL: 2,
  BAD_GLOB: 2,
  BAD_OPTION: 2,
  STATE_UNWRITABLE: 2,
  LOG_UNWRITABLE: 2,
  INDEX_LOCKED: 2,
  INDEX_CORRUPT: 2,
  UNKNOWN_PAIR: 2,
  MARKER_UNUSABLE: 2,
  DENO_PERMISSION: 2,
  LOCKED: 3,
  SOURCE_VANISHED: 3,
  SOURCE_EMPTY: 3,
  REPLICA_VANISHED: 3,
  DELETE_LIMIT: 3,
  ABORTED: 130,
};

export class SynchroError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly data: Record<string, unknown>;

  /** The message is one line with any name in it escaped (see printable): it goes to a terminal and to logs as it is. */
  constructor(code: ErrorCode, message: string, data: Record<string, unknown> = {}) {
    super(printable(message));
    this.name = "SynchroError";
    this.code = code;
    this.exitCode = EXIT_CODES[code];
    this.data = data;
  }
}

export function isSynchroError(err: unknown): err is SynchroError {
  return err instanceof SynchroError;
}

/** The errno code of a Node fs error, or undefined for anything else. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
