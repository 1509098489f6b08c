// Tree generators for the benchmark. Deterministic (seeded), so two bench runs time the same trees.
import { existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";

/** A small seeded PRNG (mulberry32): the same seed gives the same sizes and names on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random-looking bytes to slice file contents from: copies must move real data, not zeros. */
const POOL = (() => {
  const next = random(42);
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let i = 0; i < buf.length; i += 4) buf.writeUInt32LE(Math.floor(next() * 4294967296), i);
  return buf;
})();

export const content = (next: () => number, size: number): Buffer => {
  const at = Math.floor(next() * (POOL.length - size));
  return POOL.subarray(at, at + size);
};

const DONE = ".bench-complete";

/** Makes `root` once; a marker file says a previous bench finished generating it, so it is reused. */
function once(root: string, make: () => void): void {
  if (existsSync(join(root, DONE))) return;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  make();
  writeFileSync(join(root, DONE), "");
}

/** The relative paths of the small-files tree, in the order they were made. */
export function smallTreePaths(files: number): string[] {
  // ~143 files a directory: 100k files land in ~700 directories, two levels deep.
  const dirs = Math.max(1, Math.round(files / 143));
  const top = Math.max(1, Math.ceil(Math.sqrt(dirs)));
  const paths: string[] = [];
  for (let i = 0; i < files; i++) {
    const d = i % dirs;
    paths.push(`d${Math.floor(d / top)}/e${d % top}/f${i}.dat`);
  }
  return paths;
}

/** N files of 0.5-4 KiB. The marker sits in the tree's parent so the source holds only the files. */
export function makeSmallTree(root: string, files: number): string {
  const src = join(root, "src");
  once(root, () => {
    const next = random(files);
    const made = new Set<string>();
    for (const p of smallTreePaths(files)) {
      const dir = join(src, p.slice(0, p.lastIndexOf("/")));
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      writeFileSync(join(src, p), content(next, 512 + Math.floor(next() * 3584)));
    }
  });
  return src;
}

/** `count` files of `mib` MiB each, written in 1 MiB chunks. */
export function makeLargeTree(root: string, count: number, mib: number): string {
  const src = join(root, "src");
  once(root, () => {
    mkdirSync(src, { recursive: true });
    const next = random(7);
    for (let i = 0; i < count; i++) {
      const fd = openSync(join(src, `large${i}.bin`), "w");
      for (let m = 0; m < mib; m++) writeSync(fd, content(next, 1 << 20));
      closeSync(fd);
    }
  });
  return src;
}

/** One directory of `files` small files: the rename workload moves it back and forth. */
export function makeRenameTree(root: string, files: number): string {
  const src = join(root, "src");
  once(root, () => {
    const next = random(3);
    mkdirSync(join(src, "a"), { recursive: true });
    for (let i = 0; i < files; i++) writeFileSync(join(src, "a", `f${i}.dat`), content(next, 512 + Math.floor(next() * 3584)));
  });
  return src;
}
