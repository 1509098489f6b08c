// The worker half of src/walk-ahead.ts: lists its share of the source tree on the second core.
import { parentPort } from "node:worker_threads";
import { compileExcludes } from "./config.ts";
import { listingDigest } from "./digest.ts";
import { listDir, type Entry, type Listing } from "./walk.ts";
import { diffListing } from "./changed-entries.ts";
import { joinPath } from "./plan.ts";
import { BATCH, FREE, TAKEN, WAITING, WORKER, weightOf, type AheadBatch, type AheadInput, type AheadResult } from "./walk-ahead-protocol.ts";
import { failureOf } from "./worker-start.ts";

// The input comes as the first message: the worker may have started before its run (see warmWalkAhead).
const input = await new Promise<AheadInput>((resolve) => parentPort!.once("message", resolve));
const digests = new Map(input.digests);
const prints = new Map(input.prints);
const isExcluded = compileExcludes(input.excludes);
const shared = new Int32Array(input.shared);
const owners = new Int32Array(input.owners);
let produced = 0;
let root = -1;
let batch: AheadResult[] = [];

function flush(end = false): void {
  if (batch.length === 0 && !end) return;
  parentPort!.postMessage({ root, results: batch, end } satisfies AheadBatch);
  batch = [];
}

/**
 * Blocks this thread (never the main one) while it holds more than its limit of listings, not
 * yet taken. Not while the main thread waits for it (see take() in src/walk-ahead.ts).
 */
function throttle(): void {
  for (;;) {
    const taken = Atomics.load(shared, TAKEN);
    if (produced - taken < input.limit || Atomics.load(shared, WAITING) !== 0) return;
    flush();
    Atomics.wait(shared, TAKEN, taken, 100);
  }
}

function resultOf(dir: string, listing: Listing, digest: string | null, subdirs: Entry[]): AheadResult {
  if (digest === null) return { dir, clean: false, listing, digest };
  if (digests.get(dir) === digest) return { dir, clean: true, count: listing.entries.length, subdirs };
  const changes = digests.has(dir) ? diffListing(input.salt, listing.entries, prints.get(dir)) : null;
  return changes ? { dir, clean: false, changes, digest } : { dir, clean: false, listing, digest };
}

/** Depth first, children in name order: the order in which the main thread will ask. */
function visit(dir: string): void {
  throttle();
  const listing = listDir(dir === "" ? input.source : `${input.source}/${dir}`, input.avoid);
  const digest = listing.skipped.length === 0 && !listing.error ? listingDigest(input.salt, listing.entries) : null;
  const subdirs = listing.entries.filter((e) => e.kind === "dir" && !isExcluded(joinPath(dir, e.name), "dir"));
  const result = resultOf(dir, listing, digest, subdirs);
  batch.push(result);
  produced += weightOf(result);
  if (batch.length >= BATCH) flush();
  for (const sub of subdirs) visit(joinPath(dir, sub.name));
}

// From the last root back: the main thread takes them from the first, and the two meet wherever
// their speeds put the split, with no guess made in advance. A failure (a tree too deep for the
// stack) is reported, not thrown (see WorkerFailure): the main thread lists what is left.
try {
  for (let i = input.roots.length - 1; i >= 0; i--) {
    throttle();
    if (Atomics.compareExchange(owners, i, FREE, WORKER) !== FREE) break;
    root = i;
    visit(input.roots[i]!);
    flush(true);
  }
  parentPort!.postMessage("done");
} catch (err) {
  parentPort!.postMessage(failureOf(err));
}
