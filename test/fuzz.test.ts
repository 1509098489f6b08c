import { test } from "uvu";
import * as assert from "uvu/assert";
import { linkSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { status, sync } from "../src/index.ts";
import { sandbox, rsyncDiff } from "./fixtures/tree.ts";
import { digestLies } from "./fixtures/digests.ts";
import { random } from "../scripts/tree.ts";

/**
 * Seeded random mixes of what moves trees around (rotated logs, moved and swapped files and
 * directories, refilled directories, hard links, type changes), three rounds a seed. After each
 * round the replica must equal the source (rsync, the oracle) and the index must match the
 * replica (status --verify re-hashes every file), and every digest the run stored must vouch
 * for rows that hold the listing (a run skips such directories unread). Seven of the eight default seeds (7 of seeds
 * 1-60) failed before the fixes that came with this test; SYNCHRO_FUZZ_SEEDS=1,2,3 runs others.
 */
const SEEDS = (process.env.SYNCHRO_FUZZ_SEEDS ?? "3,11,15,19,39,40,57,58").split(",").map(Number);

function walk(root: string): { dirs: string[]; files: string[] } {
  const dirs = [root];
  const files: string[] = [];
  for (let i = 0; i < dirs.length; i++) {
    for (const e of readdirSync(dirs[i]!, { withFileTypes: true })) {
      (e.isDirectory() ? dirs : files).push(join(dirs[i]!, e.name));
    }
  }
  return { dirs, files };
}

function mutate(src: string, rnd: () => number, fresh: () => string): void {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const content = () => `c${Math.floor(rnd() * 1e6)} `.repeat(1 + Math.floor(rnd() * 400));
  const rounds = 20 + Math.floor(rnd() * 100);
  for (let m = 0; m < rounds; m++) {
    const { dirs: all, files } = walk(src);
    const dirs = all.slice(1);
    const op = rnd();
    try {
      if (op < 0.45 && files.length) writeFileSync(pick(files), content());
      else if (op < 0.55 && files.length) {
        const f = pick(files);
        renameSync(f, `${f}.1`);
        writeFileSync(f, content());
      } else if (op < 0.62 && files.length) renameSync(pick(files), join(pick(all), fresh()));
      else if (op < 0.68 && files.length > 1) {
        const [a, b] = [pick(files), pick(files)];
        if (a === b) continue;
        renameSync(a, `${a}.sw`);
        renameSync(b, a);
        renameSync(`${a}.sw`, b);
      } else if (op < 0.73 && dirs.length) {
        const d = pick(dirs);
        const to = join(pick(all), fresh());
        if (!to.startsWith(`${d}/`)) renameSync(d, to);
      } else if (op < 0.77 && dirs.length > 1) {
        const [a, b] = [pick(dirs), pick(dirs)];
        if (a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`)) continue;
        renameSync(a, `${a}.sw`);
        renameSync(b, a);
        renameSync(`${a}.sw`, b);
      } else if (op < 0.81 && dirs.length) {
        const d = pick(dirs);
        renameSync(d, join(d, "..", fresh()));
        mkdirSync(d);
        for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) writeFileSync(join(d, `f${k}`), content());
      } else if (op < 0.85 && files.length) linkSync(pick(files), join(pick(all), fresh()));
      else if (op < 0.9 && files.length) unlinkSync(pick(files));
      else if (op < 0.93 && dirs.length) rmSync(pick(dirs), { recursive: true });
      else if (op < 0.96 && files.length) {
        const f = pick(files);
        unlinkSync(f);
        mkdirSync(f);
        writeFileSync(join(f, "x"), content());
      } else if (dirs.length) {
        const d = pick(dirs);
        rmSync(d, { recursive: true });
        writeFileSync(d, content());
      }
    } catch {
      // A move onto a name that exists, into a dir that just went: skipped, as a user's would fail.
    }
  }
}

for (const seed of SEEDS) {
  test(`seed ${seed}: three rounds of random moves, swaps and refills converge, and the index matches the replica`, async () => {
    const t = sandbox();
    try {
      const rnd = random(seed);
      let n = 0;
      const fresh = () => `n${++n}`;
      for (let i = 0; i < 8; i++) mkdirSync(join(t.src, `d${i}`, `e${i % 3}`), { recursive: true });
      for (let i = 0; i < 300; i++) {
        const { dirs } = walk(t.src);
        writeFileSync(join(dirs[Math.floor(rnd() * dirs.length)]!, `f${i}`), `f${i} `.repeat(1 + Math.floor(rnd() * 400)));
      }
      const opts = { source: t.src, replica: t.dst, state: t.state, force: true };
      await sync(opts);
      await sync(opts);
      for (let round = 0; round < 3; round++) {
        mutate(t.src, rnd, fresh);
        const s = await sync(opts);
        assert.is(s.result, "ok", `round ${round}: ${JSON.stringify(s.errors)}`);
        assert.is(rsyncDiff(t.src, t.dst), "", `round ${round}: the replica differs from the source`);
        const st = await status({ source: t.src, replica: t.dst, state: t.state, verify: true });
        assert.equal(st.drift, [], `round ${round}: the index disagrees with the replica`);
        assert.equal(st.pending, [], `round ${round}: a sync would still do something`);
        assert.equal(await digestLies(t), [], `round ${round}: a stored digest vouches for rows that differ`);
      }
    } finally {
      t.cleanup();
    }
  });
}

test.run();
