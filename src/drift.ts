import { isTempName } from "./apply.ts";
import { hashFile, loadHasher } from "./hash.ts";
import { joinPath, replicaRewritten, sameFileMeta, type IndexRow } from "./plan.ts";
import { listDir, statEntry, type Entry, type Kind } from "./walk.ts";
import type { EntryQueries } from "./store/entries.ts";

/** How the replica on disk differs from what the index says synchro wrote there. */
export type DriftKind = "modified" | "missing" | "extra" | "type" | "mode";

export interface Drift {
  path: string;
  kind: DriftKind;
}

export interface CompareInput {
  dir: string;
  /** The replica's listing of `dir`, without synchro's own temporary files. */
  replica: readonly Entry[];
  index: readonly IndexRow[];
  isExcluded: (path: string, kind: Kind) => boolean;
  /** Hash every file, not only those whose inode or ctime moved. */
  verify: boolean;
}

/** A file whose size and mtime match the index, but whose content must be hashed to be trusted. */
export interface Suspect {
  path: string;
  row: IndexRow;
  /** Reported as `mode` drift if the content turns out to be intact. */
  modeDiffers: boolean;
}

export interface Comparison {
  drift: Drift[];
  suspects: Suspect[];
  /** Directories on both sides: their contents are compared next. */
  descend: string[];
}

/**
 * Compares one replica directory with the index. Pure: no fs, no clock. A missing, extra or
 * retyped directory is reported once, not entry by entry beneath it. A same-size, same-mtime
 * file is only suspect when its inode or ctime moved (someone wrote it and reset the mtime),
 * or when `verify` asks for every file: then its content hash decides.
 */
export function compareDir(input: CompareInput): Comparison {
  const out: Comparison = { drift: [], suspects: [], descend: [] };
  const onDisk = new Map(input.replica.map((e) => [e.name, e]));
  const known = new Set<string>();
  for (const row of input.index) {
    known.add(row.name);
    const path = joinPath(input.dir, row.name);
    if (input.isExcluded(path, row.kind)) continue;
    const theirs = onDisk.get(row.name);
    if (!theirs) out.drift.push({ path, kind: "missing" });
    else compareEntry(out, path, row, theirs, input.verify);
  }
  for (const theirs of input.replica) {
    const path = joinPath(input.dir, theirs.name);
    if (!known.has(theirs.name) && !input.isExcluded(path, theirs.kind)) out.drift.push({ path, kind: "extra" });
  }
  return out;
}

function compareEntry(out: Comparison, path: string, row: IndexRow, theirs: Entry, verify: boolean): void {
  if (row.kind !== theirs.kind) {
    out.drift.push({ path, kind: "type" });
    return;
  }
  if (row.kind === "symlink") {
    if (row.target !== theirs.target) out.drift.push({ path, kind: "modified" });
    return;
  }
  const modeDiffers = row.mode !== theirs.mode;
  if (row.kind === "dir") {
    if (modeDiffers) out.drift.push({ path, kind: "mode" });
    out.descend.push(path);
    return;
  }
  if (!sameFileMeta(row, theirs)) {
    out.drift.push({ path, kind: "modified" });
    return;
  }
  if (verify || replicaRewritten(row, theirs)) out.suspects.push({ path, row, modeDiffers });
  else if (modeDiffers) out.drift.push({ path, kind: "mode" });
}

export interface DriftScan {
  source: string;
  replica: string;
  pair: number;
  entries: EntryQueries;
  isExcluded: (path: string, kind: Kind) => boolean;
  verify: boolean;
}

/**
 * Walks the replica and the index together, one directory at a time (memory stays bounded by
 * the widest directory, as in the sync walk). Reads the replica only; never writes it.
 */
export async function findDrift(scan: DriftScan): Promise<Drift[]> {
  await loadHasher();
  const drift: Drift[] = [];
  walkDir(scan, "", drift);
  return drift;
}

function walkDir(scan: DriftScan, dir: string, drift: Drift[]): void {
  const abs = dir === "" ? scan.replica : `${scan.replica}/${dir}`;
  const listing = listDir(abs);
  if (listing.error && listing.error.code !== "ENOENT") {
    throw Object.assign(new Error(`cannot read the replica directory ${abs}: ${listing.error.message}`), { code: listing.error.code });
  }
  const replica = listing.entries.filter((e) => !(e.kind === "file" && isTempName(e.name)));
  const result = compareDir({ dir, replica, index: scan.entries.listDir(scan.pair, dir), isExcluded: scan.isExcluded, verify: scan.verify });
  const found = result.drift;
  for (const s of result.suspects) {
    if (!contentIntact(scan, s)) found.push({ path: s.path, kind: "modified" });
    else if (s.modeDiffers) found.push({ path: s.path, kind: "mode" });
  }
  drift.push(...found.sort((a, b) => (a.path < b.path ? -1 : 1)));
  for (const sub of result.descend) walkDir(scan, sub, drift);
}

/**
 * The replica file still holds what was written. Rows adopted without copying carry no hash;
 * then the source stands in, but only while it still matches the row (else it is pending, not drift).
 */
function contentIntact(scan: DriftScan, s: Suspect): boolean {
  let expected = s.row.hash;
  if (expected === null) {
    const src = statEntry(`${scan.source}/${s.path}`, s.row.name);
    if (!src || src.kind !== "file" || !sameFileMeta(src, s.row)) return true;
    expected = hashFile(`${scan.source}/${s.path}`);
  }
  return hashFile(`${scan.replica}/${s.path}`) === expected;
}
