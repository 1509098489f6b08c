import { closeSync, openSync, readSync } from "node:fs";
import { createXXHash128, type IHasher } from "hash-wasm";

/**
 * The content hash: XXH128 (hash-wasm). Measured here on 256 MiB: 5.9 GiB/s against 1.9 GiB/s
 * for node:crypto sha256, and 1.9M against 0.38M hashes/s of 2 KiB buffers. It detects change,
 * it does not defend against an attacker who crafts collisions: the source is trusted.
 */

let hasher: IHasher | undefined;

export async function loadHasher(): Promise<void> {
  hasher ??= await createXXHash128();
}

/** A hasher of its own, for a copy that yields to the event loop between chunks. */
export const newHasher = (): Promise<IHasher> => createXXHash128();

function ready(): IHasher {
  if (!hasher) throw new Error("loadHasher() must run before hashing");
  return hasher.init();
}

export function hashBuffer(buf: Uint8Array): string {
  return ready().update(buf).digest("hex");
}

const CHUNK = 1 << 20;
let chunk: Buffer | undefined;

/** Hashes a file by 1 MiB reads into one reused buffer: a stream per small file costs ~200 µs. */
export const hashFile = (abs: string): string => hashFileWith(abs, ready());

/** The same reads into any hasher: node:crypto's too (the index's clean-close stamp on Deno). */
export function hashFileWith(abs: string, h: { update(data: Uint8Array): unknown; digest(encoding: "hex"): string }): string {
  chunk ??= Buffer.allocUnsafe(CHUNK);
  const fd = openSync(abs, "r");
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) break;
      h.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}
