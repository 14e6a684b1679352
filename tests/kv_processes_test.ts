/**
 * KvQueue across real processes: this process puts jobs, worker processes
 * (tests/fixtures/kv_worker.ts) share the database file and take them.
 * Deno KV gives back a dead worker's messages only once their claim
 * lapses (5 s after its last keep-alive) and a process looks, so the
 * crash test waits that long: this file runs in `deno task test:kv`, not
 * in `deno task test`.
 */
import assert from "node:assert/strict";
import { run } from "../mod.ts";
import { KvQueue } from "../src/kv.ts";
import { main as distributedJobs } from "../examples/distributed_jobs.ts";
import { JOBS as EXAMPLE_JOBS } from "../examples/job_queue.ts";
import { EXAMPLES } from "../examples/main.ts";
import type { Job, WorkerOptions } from "./fixtures/kv_worker.ts";
import { spawnWorker, type WorkerProcess } from "./_kv_workers.ts";
import { withTempDir } from "./_tmp.ts";

const OPTIONS: WorkerOptions = {
  backoffSchedule: [50, 50, 50],
  prefetch: 1,
  pollInterval: 100,
  concurrency: 2,
};
const JOBS = 30;
// Deno KV's claim on a message lapses 5 s after the holder's last
// keep-alive; a process opening the database after that takes it back.
const CLAIM = 5000;

/** `promise`, or an error after `ms`. */
async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function counter(kv: Deno.Kv, key: Deno.KvKey): Promise<bigint> {
  return (await kv.get<Deno.KvU64>(key)).value?.value ?? 0n;
}

Deno.test("KvQueue across processes: a SIGKILLed worker's items come back, retries and dead letters work, every effect happens once", async () => {
  await withTempDir(async (dir) => {
    const db = `${dir}/jobs.db`;
    const workers: WorkerProcess[] = ["w1", "w2", "w3"].map((name) =>
      spawnWorker(dir, db, name, OPTIONS)
    );
    try {
      for (const w of workers) {
        await w.waitFor((text) => text.startsWith("ready"), 20_000);
      }
      await run(async () => {
        using kv = await Deno.openKv(db);
        const queue = new KvQueue<Job>(kv, OPTIONS);
        for (let i = 0; i < JOBS; i++) {
          await queue.put({ ms: 300 }, { key: `job${i}` });
        }
        await queue.put({ ms: 0, failures: 2 }, { key: "flaky" });
        await queue.put({ ms: 0, failures: 1e9 }, { key: "poison" });

        // Kill w1 in the middle of a job: one it started and has not done.
        const [w1] = workers;
        const isDone = (key: string) =>
          w1.lines.some((l) => l.text === `done ${key}`);
        await w1.waitFor((text) => {
          const [event, key] = text.split(" ");
          return event === "start" && key.startsWith("job") && !isDone(key);
        }, 20_000);
        const killedAt = performance.now();
        const status = await w1.kill();
        assert.equal(status.signal, "SIGKILL");
        const inHand = w1.lines.filter((l) => l.text.startsWith("start job"))
          .map((l) => l.text.split(" ")[1])
          .filter((key) => !isDone(key));
        assert.ok(inHand.length > 0, "w1 died holding a job");

        // A supervisor restarts it once the claim has lapsed.
        const wait = CLAIM + 500 - (performance.now() - killedAt);
        await new Promise((resolve) => setTimeout(resolve, wait));
        const w4 = spawnWorker(dir, db, "w4", OPTIONS);
        workers.push(w4);

        await within(queue.join(), 20_000, "every job finished");

        // Every job took effect exactly once; w1's were redone elsewhere.
        for (let i = 0; i < JOBS; i++) {
          assert.equal(
            await counter(kv, ["effects", `job${i}`]),
            1n,
            `job${i}`,
          );
        }
        const others = workers.slice(1).flatMap((w) => w.lines);
        for (const key of inHand) {
          assert.ok(
            others.some((l) => l.text.startsWith(`start ${key} `)),
            `${key}, in hand when w1 died, was delivered again`,
          );
        }
        // Failed twice, then done, with one effect.
        assert.equal(await counter(kv, ["deliveries", "flaky"]), 3n);
        assert.equal(await counter(kv, ["effects", "flaky"]), 1n);
        // Failed every attempt: a dead letter, no effect.
        const letters = await Array.fromAsync(queue.deadLetters());
        assert.deepEqual(
          letters.map(({ key, attempts, error }) => ({ key, attempts, error })),
          [{ key: "poison", attempts: 4, error: "Error: job fails" }],
        );
        assert.equal(await counter(kv, ["effects", "poison"]), 0n);

        // An idle worker takes what another process puts within about
        // one pollInterval (Deno KV alone: up to 60 s).
        const put = performance.now();
        await queue.put({ ms: 0 }, { key: "late" });
        await Promise.any(
          workers.slice(1).map((w) =>
            w.waitFor((text) => text.startsWith("start late "), 5000)
          ),
        );
        const latency = performance.now() - put;
        assert.ok(latency < 2000, `delivered after ${latency} ms`);
        await queue.join();
      });
      for (const w of workers.slice(1)) {
        const status = await w.stop();
        assert.equal(status.code, 0);
        assert.equal(w.lines.at(-1)?.text, `stopped ${w.name}`);
      }
    } finally {
      for (const w of workers) {
        try {
          w.child.kill("SIGKILL");
        } catch { /* already gone */ }
        await w.child.status;
      }
    }
  });
});

Deno.test("examples/distributed_jobs: three worker processes finish every job once, job 4 ends in the dead letters", async () => {
  await withTempDir(async (dir) => {
    const lines: string[] = [];
    const report = await run(() =>
      distributedJobs({ dir, print: (line) => lines.push(line) })
    );
    for (const job of EXAMPLE_JOBS) {
      if (job.id === 4) continue;
      assert.match(report.handledBy[job.id], /^w[123] \(pid \d+\)$/);
    }
    assert.equal(report.handledBy[4], undefined);
    assert.deepEqual(report.dead, [{
      id: 4,
      attempts: 3,
      error: "Error: no input",
    }]);
    for (const name of ["w1", "w2", "w3"]) {
      assert.ok(lines.includes(`[${name}] stopped`), `${name} stopped`);
    }
    assert.ok(lines.includes("job 4: dead letter"));
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  });
  const example = EXAMPLES.find((e) => e.name === "distributed_jobs");
  assert.deepEqual(example?.flags, [
    "--unstable-kv",
    "--allow-read=examples/data",
    "--allow-write=examples/data",
    "--allow-run=deno",
  ]);
});
