import { test } from "uvu";
import * as assert from "uvu/assert";
import { status, sync } from "../src/index.ts";
import { sandbox, rsyncDiff } from "./fixtures/tree.ts";
import { digestLies } from "./fixtures/digests.ts";
import { mutate, seededTree } from "./fixtures/mutate.ts";

/**
 * Seeded random mixes of what moves trees around (rotated logs, moved and swapped files and
 * directories, refilled directories, hard links, type changes), three rounds a seed. After each
 * round the replica must equal the source (rsync, the oracle) and the index must match the
 * replica (status --verify re-hashes every file), and every digest the run stored must vouch
 * for rows that hold the listing (a run skips such directories unread). Seven of the eight default seeds (7 of seeds
 * 1-60) failed before the fixes that came with this test; SYNCHRO_FUZZ_SEEDS=1,2,3 runs others.
 */
const SEEDS = (process.env.SYNCHRO_FUZZ_SEEDS ?? "3,11,15,19,39,40,57,58").split(",").map(Number);

for (const seed of SEEDS) {
  test(`seed ${seed}: three rounds of random moves, swaps and refills converge, and the index matches the replica`, async () => {
    const t = sandbox();
    try {
      const { rnd, fresh } = seededTree(t.src, seed);
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
