import { clearLine, cursorTo } from "node:readline";
import type { ProgressEvent } from "../events.ts";
import { count, formatBytes, printable } from "./output.ts";

/**
 * A one-line live progress display on stderr. No progress-bar package is installed, and consola
 * has no live-line API, so this redraws one line with node:readline's cursorTo/clearLine (both on
 * Node and Deno): no hand-written escapes, and clearing to the right avoids flicker.
 * Only on a terminal: never with --quiet, --json or --dry-run, or when stdout or stderr is not a TTY.
 */
export function progressWanted(flags: { quiet?: boolean; json?: boolean; dryRun?: boolean }, stdoutTTY: boolean, stderrTTY: boolean): boolean {
  return !flags.quiet && !flags.json && !flags.dryRun && stdoutTTY && stderrTTY;
}

/** h:mm:ss or m:ss. */
export function formatEta(ms: number): string {
  const t = Math.ceil(ms / 1000);
  const [h, m, s] = [Math.floor(t / 3600), Math.floor((t % 3600) / 60), t % 60];
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}

/**
 * The time left, from whichever is slower: walking the entries the index expects, or copying the
 * bytes planned so far. A first run has no index to estimate from, so it gets no ETA.
 */
export function estimateMs(p: ProgressEvent): number | null {
  if (!p.expected || p.elapsedMs <= 0 || p.scanned === 0) return null;
  const share = Math.min(p.scanned / p.expected, 1);
  const walk = (p.elapsedMs * (1 - share)) / share;
  const copy = p.bytes > 0 ? ((p.plannedBytes - p.bytes) * p.elapsedMs) / p.bytes : 0;
  return Math.max(walk, copy);
}

/** Columns a string takes in a terminal: East Asian wide characters and emoji take two. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1faff}\u{20000}-\u{3fffd}]/u.test(ch) ? 2 : 1;
  return w;
}

/** Keeps the end of a path (the file name) when it must be shortened to fit `width` columns. */
function fitPath(path: string, width: number): string {
  if (width <= 1) return "";
  if (displayWidth(path) <= width) return path;
  const chars = [...path];
  let w = 1;
  let i = chars.length;
  while (i > 0 && w + displayWidth(chars[i - 1]!) <= width) w += displayWidth(chars[--i]!);
  return "…" + chars.slice(i).join("");
}

/** 1.2/3.0 MiB rather than 1.2 MiB/3.0 MiB: a narrow terminal needs the room for the path. */
function bytePair(done: number, planned: number): string {
  const [d, dUnit] = formatBytes(done).split(" ");
  const [p, pUnit] = formatBytes(planned).split(" ");
  return dUnit === pUnit ? `${d}/${p} ${pUnit}` : `${d} ${dUnit}/${p} ${pUnit}`;
}

/** `12/40 files · 1.2/3.0 MiB · 4.1 MiB/s · 35% scanned · ETA 0:07 · photos/2024/img.jpg`, cut to the terminal width. */
export function formatProgress(p: ProgressEvent, columns: number): string {
  const secs = p.elapsedMs / 1000;
  const parts = [`${count(p.files)}/${count(p.plannedFiles)} files`, bytePair(p.bytes, p.plannedBytes)];
  if (secs > 0) parts.push(`${formatBytes(Math.round(p.bytes / secs))}/s`);
  parts.push(p.expected ? `${Math.min(100, Math.floor((p.scanned * 100) / p.expected))}% scanned` : `${count(p.scanned)} scanned`);
  const eta = estimateMs(p);
  if (eta !== null) parts.push(`ETA ${formatEta(eta)}`);
  const head = parts.join(" · ");
  // One column spare: writing into the last column makes some terminals wrap.
  const room = columns - 1 - displayWidth(head) - 3;
  const path = p.path ? fitPath(printable(p.path), room) : "";
  const line = path ? `${head} · ${path}` : head;
  return cutEnd(line, columns - 1);
}

/** A very narrow terminal keeps the start of the line, the counts. */
function cutEnd(text: string, width: number): string {
  let w = 0;
  let out = "";
  for (const ch of text) {
    w += displayWidth(ch);
    if (w > width) break;
    out += ch;
  }
  return out;
}

export interface ProgressLine {
  update(p: ProgressEvent): void;
  /** Removes the line, so a log line or the summary can take its place; the next update redraws it. */
  clear(): void;
}

export function progressLine(stream: NodeJS.WriteStream): ProgressLine {
  let shown = false;
  return {
    update(p) {
      cursorTo(stream, 0);
      stream.write(formatProgress(p, stream.columns || 80));
      clearLine(stream, 1);
      shown = true;
    },
    clear() {
      if (!shown) return;
      cursorTo(stream, 0);
      clearLine(stream, 0);
      shown = false;
    },
  };
}
