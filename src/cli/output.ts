import type { SyncSummary } from "../run.ts";

/** Names may hold newlines or escapes; human output shows them escaped so one path stays one line. */
export function printable(path: string): string {
  return path.replace(/[\x00-\x1f\x7f\\]/g, (c) => (c === "\\" ? "\\\\" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

const MARKERS: Record<string, string> = {
  create: ">f+", update: ">f.", symlink: "cL+", mkdir: "cd+", meta: ".m.", rename: ">r ", delete: "*del", rmdir: "*del", backup: "*bak", error: "!err",
};

/** One line per planned path, rsync -i style: a marker, the action, the path. */
export function formatPlanLine(p: { action: string; path: string; from?: string }): string {
  const from = p.from ? ` (from ${printable(p.from)})` : "";
  return `${(MARKERS[p.action] ?? "").padEnd(4)} ${p.action.padEnd(7)} ${printable(p.path)}${from}`;
}

export function formatSummary(s: SyncSummary): string {
  const c = s.counts;
  const secs = s.durationMs / 1000;
  const rate = secs > 0 ? `, ${formatBytes(Math.round(s.bytes / secs))}/s` : "";
  const parts = [
    `${c.create} created`, `${c.update} updated`, `${c.delete} deleted`, `${c.mkdir} dirs made`, `${c.rmdir} dirs removed`,
    `${c.symlink} links`, `${c.meta} meta`, `${c.rename} renamed`,
  ];
  if (c.backup) parts.push(`${c.backup} backed up`);
  const head = s.dryRun ? "dry run, would do" : "synced";
  return `${head}: ${parts.join(", ")}; ${formatBytes(s.bytes)} in ${secs.toFixed(2)} s${rate}; ${s.errors.length} errors`;
}
