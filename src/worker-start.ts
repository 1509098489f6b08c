import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { workerCode } from "./worker-code.ts";

/** The worker threads a run may start: src/stage-worker.ts and src/walk-ahead-worker.ts. */
export type WorkerName = "stage-worker" | "walk-ahead-worker";

/**
 * What a worker posts instead of throwing. Deno prints any error a worker leaves uncaught as
 * `Uncaught (in worker "")`, even when the main thread listens for it, so a worker reports its own
 * failure and the main thread goes on without it.
 */
export interface WorkerFailure {
  failed: string;
}

export const isWorkerFailure = (m: unknown): m is WorkerFailure => typeof m === "object" && m !== null && "failed" in m;

/** The text of what a worker caught, for its WorkerFailure. */
export const failureOf = (err: unknown): WorkerFailure => ({ failed: String((err as Error)?.message ?? err) });

/**
 * Starts a worker from the code the bundle carries (see workerCode) as a data: URL: the one form
 * that both Node's worker_threads and Deno's take for an ES module (Deno runs no `eval: true`
 * module, and neither takes a blob: URL). Else from its file, built in dist/ beside the CommonJS
 * bundle, or in ../dist/ for the sources (npm test builds first). A missing file throws here:
 * Deno would print its "Module not found" from inside the worker.
 */
export function startWorker(name: WorkerName): Worker {
  const code = workerCode[name];
  if (code !== undefined) return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
  const url = new URL(import.meta.url.endsWith(".ts") ? `../dist/${name}.mjs` : `./${name}.mjs`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) throw new Error(`${fileURLToPath(url)} is missing`);
  return new Worker(url);
}
