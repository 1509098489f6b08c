import type { WorkerName } from "./worker-start.ts";

/**
 * Each worker's code, which the build puts here in the ES bundles (scripts/build.mjs): then
 * `dist/synchro.mjs` and `dist/index.mjs` are one file each, to copy anywhere. Empty when running
 * the sources and in the CommonJS bundle, which start the workers from their files.
 */
export const workerCode: Partial<Record<WorkerName, string>> = {};
