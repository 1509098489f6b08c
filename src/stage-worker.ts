// The worker half of src/stager.ts: copies small files to temporary names on the second core.
import { parentPort } from "node:worker_threads";
import { loadHasher } from "./hash.ts";
import { SourceChanged, stageSmall } from "./apply.ts";
import type { StageReply, StageRequest } from "./stage-protocol.ts";
import { failureOf } from "./worker-start.ts";

function stage(r: StageRequest): StageReply {
  try {
    const staged = stageSmall(r.src, r.dst, r.entry);
    return { id: r.id, ...staged };
  } catch (err) {
    const e = err as { code?: unknown; path?: unknown; message?: unknown };
    return {
      id: r.id,
      error: {
        changed: err instanceof SourceChanged,
        message: String(e?.message ?? err),
        ...(typeof e?.code === "string" ? { code: e.code } : {}),
        ...(typeof e?.path === "string" ? { path: e.path } : {}),
      },
    };
  }
}

// A start that fails is reported, not thrown (see WorkerFailure): the main thread copies instead.
try {
  await loadHasher();
  parentPort!.on("message", (batch: StageRequest[]) => parentPort!.postMessage(batch.map(stage)));
  parentPort!.postMessage("ready");
} catch (err) {
  parentPort!.postMessage(failureOf(err));
}
