// Times one command and reads its peak RSS and CPU time: /usr/bin/time -v when present, else /proc polling (RSS only).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

export interface Timed {
  secs: number;
  /** Peak resident set size in KiB, or null when it could not be read. */
  rssKiB: number | null;
  /** User plus system CPU seconds, all threads and children, or null without GNU time. */
  cpuSecs: number | null;
  code: number | null;
  stdout: string;
  stderr: string;
}

const GNU_TIME = "/usr/bin/time";
export const rssMethod = existsSync(GNU_TIME) ? "/usr/bin/time -v (max resident set size)" : "/proc/<pid>/status VmHWM, polled every 20 ms";

/** GNU time writes its report to a file of its own so the command's stderr stays the command's. */
export async function timed(cmd: string, args: string[]): Promise<Timed> {
  if (existsSync(GNU_TIME)) return timedWithGnuTime(cmd, args);
  return timedWithProc(cmd, args);
}

function timedWithGnuTime(cmd: string, args: string[]): Timed {
  const report = join(tmpdir(), `synchro-bench-time-${process.pid}.txt`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(GNU_TIME, ["-v", "-o", report, cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const text = readFileSync(report, "utf8");
  rmSync(report, { force: true });
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  const user = /User time \(seconds\): ([\d.]+)/.exec(text);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(text);
  const cpuSecs = user && sys ? Number(user[1]) + Number(sys[1]) : null;
  return { secs, rssKiB: m ? Number(m[1]) : null, cpuSecs, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function timedWithProc(cmd: string, args: string[]): Promise<Timed> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let peak: number | null = null;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) peak = Math.max(peak ?? 0, Number(m[1]));
      } catch {
        // The process exited between polls; the last reading stands.
      }
    }, 20);
    child.on("close", (code) => {
      clearInterval(poll);
      resolve({ secs: Number(process.hrtime.bigint() - t0) / 1e9, rssKiB: peak, cpuSecs: null, code, stdout, stderr });
    });
  });
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** An exact mirror leaves `rsync -n` nothing to itemize; returns what differs, empty when none. */
export function mirrorDiff(src: string, dst: string): string {
  const r = spawnSync("rsync", ["-aicn", "--delete", src + "/", dst + "/"], { encoding: "utf8", maxBuffer: 1 << 28 });
  return (r.stdout + r.stderr).trim();
}
