import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { sandbox, rsyncDiff, rmSync, writeFileSync, mkdirSync, replicaNames } from "./fixtures/tree.ts";
import { runCli, startCli, exited } from "./fixtures/cli.ts";
import { openDatabase } from "../src/store/db.ts";
import { random } from "../scripts/tree.ts";

/**
 * kill -9 at random moments of real syncs. Seeded (SYNCHRO_CRASH_SEED) so a failure can be
 * replayed; bounded by a time budget and a kill count so the file stays well under a minute.
 */
const SEED = Number(process.env.SYNCHRO_CRASH_SEED ?? 20261125);
const BUDGET_MS = Number(process.env.SYNCHRO_CRASH_BUDGET_MS ?? 25_000);
const MAX_KILLS = 40;
const MIN_KILLS = 8;
const BIG = 24 << 20;

const sha = (data: Uint8Array): string => createHash("sha1").update(data).digest("hex");

/** Source writes go through here, so every version a path ever had is known by its hash. */
function versioned(src: string) {
  const versions = new Map<string, Set<string>>();
  let serial = 0;
  return {
    versions,
    write(rel: string, size: number) {
      // Each 4 KiB block carries the version and its offset: a torn or mixed copy cannot hash like any version.
      const buf = Buffer.alloc(size, serial % 251);
      const tag = `v${serial++} ${rel} `;
      for (let off = 0; off < size; off += 4096) buf.write(`${tag}${off}`, off, Math.min(64, size - off));
      mkdirSync(join(src, rel, ".."), { recursive: true });
      writeFileSync(join(src, rel), buf);
      const set = versions.get(rel) ?? new Set();
      set.add(sha(buf));
      versions.set(rel, set);
    },
  };
}

function filesUnder(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const name of rel ? readdirSync(join(root, rel)) : replicaNames(root)) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(root, r));
    if (st.isDirectory()) out.push(...filesUnder(root, r));
    else if (st.isFile()) out.push(r);
  }
  return out;
}

const isTemp = (rel: string) => /(^|\/)\.synchro-[^/]*\.tmp$/.test(rel);

async function integrity(state: string): Promise<string> {
  const db = await openDatabase(state);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    return String(Object.values(db.prepare("PRAGMA integrity_check").get() ?? {})[0]);
  } finally {
    db.close();
  }
}

/** Polls fast for a temporary file in the replica: a kill then lands in the middle of a copy. */
async function untilCopying(dst: string, child: { exitCode: number | null }): Promise<void> {
  while (child.exitCode === null) {
    try {
      if (filesUnder(dst).some(isTemp)) return;
    } catch {
      // The replica is not made yet, or a dir vanished while we looked.
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

test("kill -9 at random moments never leaves a torn file, keeps the index sound, and the next run converges", async () => {
  const t = sandbox();
  const rand = random(SEED);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const src = versioned(t.src);
  const args = ["sync", t.src, t.dst, "--state", t.state, "--log", t.log, "--force"];
  const stats = { tried: 0, landed: 0, tempsLeft: 0 };
  try {
    for (let i = 0; i < 4; i++) src.write(`big/b${i}.bin`, BIG);
    for (let i = 0; i < 150; i++) src.write(`d${i % 7}/s${i}.txt`, 1 + Math.floor(rand() * 8000));

    let fullMs = 0;
    const started = Date.now();
    let round = 0;
    while (stats.landed < MAX_KILLS && (Date.now() - started < BUDGET_MS || stats.landed < MIN_KILLS)) {
      round++;
      // Mutate: rewrite a big file, change and add small ones, delete some, move a dir.
      src.write(`big/b${Math.floor(rand() * 4)}.bin`, BIG - Math.floor(rand() * 4096));
      for (let k = 0; k < 10; k++) src.write(`d${Math.floor(rand() * 7)}/s${Math.floor(rand() * 200)}.txt`, 1 + Math.floor(rand() * 8000));
      const smalls = filesUnder(t.src).filter((p) => !p.startsWith("big/"));
      for (let k = 0; k < 3; k++) rmSync(join(t.src, pick(smalls)), { force: true });
      if (round % 5 === 0) {
        const from = `d${Math.floor(rand() * 7)}`;
        if (existsSync(join(t.src, from))) {
          const to = `moved${round}`;
          renameSync(join(t.src, from), join(t.src, to));
          for (const [p, set] of [...src.versions]) if (p.startsWith(from + "/")) src.versions.set(to + p.slice(from.length), set);
        }
      }

      // One or two killed runs in a row, then a run that must finish.
      const kills = rand() < 0.3 ? 2 : 1;
      for (let k = 0; k < kills; k++) {
        const child = startCli(args);
        stats.tried++;
        if (rand() < 0.5) await untilCopying(t.dst, child);
        else await new Promise((r) => setTimeout(r, rand() * (fullMs || 300)));
        const landed = child.exitCode === null;
        child.kill("SIGKILL");
        await exited(child);
        if (!landed) continue;
        stats.landed++;

        const finals = existsSync(t.dst) ? filesUnder(t.dst) : [];
        const temps = finals.filter(isTemp);
        if (temps.length > 0) stats.tempsLeft++;
        for (const rel of finals) {
          if (isTemp(rel)) continue;
          const ok = src.versions.get(rel)?.has(sha(readFileSync(join(t.dst, rel))));
          assert.ok(ok, `round ${round}: ${rel} holds content no source version ever had (seed ${SEED})`);
        }
        if (existsSync(t.state)) assert.is(await integrity(t.state), "ok", `round ${round}: PRAGMA integrity_check after kill`);
      }

      const t0 = Date.now();
      const r = runCli(args);
      fullMs = Math.max(fullMs, Date.now() - t0);
      assert.is(r.code, 0, `round ${round} (seed ${SEED}): ${r.stderr}`);
      assert.is(rsyncDiff(t.src, t.dst), "", `round ${round}: the run after a kill mirrors exactly (seed ${SEED})`);
      assert.equal(filesUnder(t.dst).filter(isTemp), [], `round ${round}: stray temp files removed`);
      assert.is(await integrity(t.state), "ok");
    }
    console.log(`  crash test (seed ${SEED}): ${stats.tried} kills tried, ${stats.landed} landed mid-run, ${stats.tempsLeft} left temp files, ${round} rounds`);
    assert.ok(stats.landed >= MIN_KILLS, `only ${stats.landed} kills landed during a run`);
    assert.ok(stats.tempsLeft > 0, "no kill landed during a copy; the test did not exercise temp files");
  } finally {
    t.cleanup();
  }
});

test.run();
