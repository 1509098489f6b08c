// The worker half of src/walk-ahead.ts: lists its share of the source tree on the second core.
import { parentPort, workerData } from "node:worker_threads";
import { loadHasher } from "./hash.ts";
import { compileExcludes } from "./config.ts";
import { listingDigest } from "./digest.ts";
import { listDir } from "./walk.ts";
import { joinPath } from "./plan.ts";
import { AHEAD_LIMIT, BATCH, type AheadInput, type AheadResult } from "./walk-ahead-protocol.ts";

const input = workerData as AheadInput;
const digests = new Map(input.digests);
const isExcluded = compileExcludes(input.excludes);
const consumed = new Int32Array(input.consumed);
let produced = 0;
let batch: AheadResult[] = [];

function flush(): void {
  if (batch.length === 0) return;
  parentPort!.postMessage(batch);
  batch = [];
}

/** Blocks this thread (never the main one) while it is too far ahead: listings wait in memory. */
function throttle(): void {
  for (;;) {
    const seen = Atomics.load(consumed, 0);
    if (produced - seen < AHEAD_LIMIT) return;
    flush();
    Atomics.wait(consumed, 0, seen, 100);
  }
}

/** Depth first, children in name order: the order in which the main thread will ask. */
function visit(dir: string): void {
  throttle();
  const listing = listDir(dir === "" ? input.source : `${input.source}/${dir}`);
  const digest = listing.skipped.length === 0 && !listing.error ? listingDigest(input.salt, listing.entries) : null;
  const subdirs = listing.entries.filter((e) => e.kind === "dir" && !isExcluded(joinPath(dir, e.name), "dir"));
  if (digest !== null && digests.get(dir) === digest) batch.push({ dir, clean: true, count: listing.entries.length, subdirs });
  else batch.push({ dir, clean: false, listing, digest });
  produced++;
  if (batch.length >= BATCH) flush();
  for (const sub of subdirs) visit(joinPath(dir, sub.name));
}

await loadHasher();
for (const root of input.roots) visit(root);
flush();
parentPort!.postMessage("done");
