/**
 * Names may hold newlines and terminal escapes: a name with a newline would start a new log line,
 * and an escape sequence would reach the terminal. Every human message shows a name through
 * these, so that one message stays one line and `\x1b` is text. A backslash is doubled, so an
 * escaped newline (`\x0a`) cannot be mistaken for a name holding those four characters.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f\\]/g, (c) => (c === "\\" ? "\\\\" : hex(c.charCodeAt(0))));
}

const hex = (byte: number): string => `\\x${byte.toString(16).padStart(2, "0")}`;

const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * A name's raw bytes, as printable() shows text, with each byte that is not part of valid UTF-8
 * as `\xNN`: what the user needs to find a name the runtime could only decode with U+FFFD in it.
 */
export function printableBytes(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const len = sequenceLength(bytes, i);
    if (len === 0) {
      out += hex(bytes[i]!);
      i++;
      continue;
    }
    out += printable(strict.decode(bytes.subarray(i, i + len)));
    i += len;
  }
  return out;
}

/** The length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  for (let len = 1; len <= 4 && i + len <= bytes.length; len++) {
    try {
      strict.decode(bytes.subarray(i, i + len));
      return len;
    } catch {
      // Too short for the sequence its first byte announces, or not UTF-8 at all: try one longer.
    }
  }
  return 0;
}
