/**
 * KvQueue across processes: items per second with 1, 2 and 4 worker
 * processes sharing one local Deno KV file, and the delivery latency from
 * `put()` in this process to the job's start in a worker.
 *
 * Run: deno run --unstable-kv --allow-read=bench,tests --allow-write=bench/.tmp
 *   --allow-run=deno bench/kv_workers.ts [ROUNDS] [ITEMS]
 *
 * Two workloads, each round and each worker count interleaved (so that the
 * machine's swings hit every count alike): ITEMS no-op jobs (the queue's
 * own cost), and ITEMS / 10 jobs of 50 ms of waiting each (I/O-bound work,
 * one at a time per worker). The workers start first and wait; this
 * process puts every job as fast as it can and times until `join()`
 * returns. Then the latency, put → start: 20 jobs one by one, each put
 * once the previous started ("warm": the workers just worked), and, for
 * the no-op workload, 5 jobs each after 2.5 to 3.5 s of idleness
 * ("cold": the workers poll every `pollInterval`, 1 s). For comparison, "in-process"
 * runs the no-op jobs through a KvQueue whose producer and consumer share
 * this process. Prints each run, then the median and range.
 */
import { run } from "../mod.ts";
import { KvQueue } from "../src/kv.ts";
import type { Job, WorkerOptions } from "../tests/fixtures/kv_worker.ts";
import { spawnWorker } from "../tests/_kv_workers.ts";

const ROUNDS = Number(Deno.args[0] ?? 3);
const ITEMS = Number(Deno.args[1] ?? 1000);
const COUNTS = [1, 2, 4];
const LATENCY_SAMPLES = 20;
const DIR = new URL("./.tmp", import.meta.url).pathname;

interface Workload {
  readonly name: string;
  readonly items: number;
  readonly job: Job;
  readonly options: WorkerOptions;
}

const WORKLOADS: readonly Workload[] = [
  {
    name: "no-op jobs",
    items: ITEMS,
    job: { ms: 0 },
    options: { record: false, concurrency: 4 },
  },
  {
    name: "50 ms jobs",
    items: Math.max(1, ITEMS / 10),
    job: { ms: 50 },
    options: { record: false, concurrency: 1 },
  },
];

interface Result {
  readonly perSecond: number;
  readonly latency: number;
  readonly cold?: number;
}

const COLD_SAMPLES = 5;
const COLD_IDLE = 2500;

/** Deletes a database file and its journal, left over or not. */
async function removeDatabase(db: string): Promise<void> {
  for (const suffix of ["", "-shm", "-wal"]) {
    await Deno.remove(db + suffix).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

async function measure(
  workload: Workload,
  count: number,
  id: string,
): Promise<Result> {
  const db = `${DIR}/${id}.db`;
  await removeDatabase(db);
  const workers = Array.from(
    { length: count },
    (_, i) => spawnWorker(DIR, db, `w${i + 1}`, workload.options),
  );
  try {
    for (const w of workers) {
      await w.waitFor((text) => text.startsWith("ready"), 30_000);
    }
    return await run(async () => {
      using kv = await Deno.openKv(db);
      // Polls join() often: this process only produces.
      const queue = new KvQueue<Job>(kv, { pollInterval: 10 });
      const start = performance.now();
      for (let i = 0; i < workload.items; i++) await queue.put(workload.job);
      await queue.join();
      const elapsed = performance.now() - start;
      const latencies: number[] = [];
      for (let i = 0; i < LATENCY_SAMPLES; i++) {
        const key = `latency-${i}`;
        const put = performance.now();
        await queue.put({ ms: 0 }, { key });
        const seen = await Promise.any(
          workers.map((w) =>
            w.waitFor((text) => text.startsWith(`start ${key} `), 10_000)
          ),
        );
        latencies.push(seen.at - put);
      }
      const colds: number[] = [];
      for (let i = 0; workload.job.ms === 0 && i < COLD_SAMPLES; i++) {
        // A random part, so that the put does not fall at one fixed point
        // of the workers' polling cycle.
        const idle = COLD_IDLE + Math.random() * 1000;
        await new Promise((resolve) => setTimeout(resolve, idle));
        const key = `cold-${i}`;
        const put = performance.now();
        await queue.put({ ms: 0 }, { key });
        const seen = await Promise.any(
          workers.map((w) =>
            w.waitFor((text) => text.startsWith(`start ${key} `), 10_000)
          ),
        );
        colds.push(seen.at - put);
      }
      await queue.join();
      return {
        perSecond: workload.items / (elapsed / 1000),
        latency: median(latencies),
        cold: colds.length > 0 ? median(colds) : undefined,
      };
    });
  } finally {
    for (const w of workers) await w.stop();
    await removeDatabase(db);
  }
}

/** The no-op jobs with producer and consumer in this one process. */
async function inProcess(id: string): Promise<Result> {
  const db = `${DIR}/${id}.db`;
  await removeDatabase(db);
  try {
    return await run(async () => {
      using kv = await Deno.openKv(db);
      const queue = new KvQueue<Job>(kv, { pollInterval: 10 });
      const worker = queue.work(() => {}, { concurrency: 4 });
      const start = performance.now();
      for (let i = 0; i < ITEMS; i++) await queue.put({ ms: 0 });
      await queue.join();
      const elapsed = performance.now() - start;
      const latencies: number[] = [];
      for (let i = 0; i < LATENCY_SAMPLES; i++) {
        const put = performance.now();
        await queue.put({ ms: 0 });
        await queue.join();
        latencies.push(performance.now() - put);
      }
      queue.shutdown();
      await worker;
      return {
        perSecond: ITEMS / (elapsed / 1000),
        latency: median(latencies),
      };
    });
  } finally {
    await removeDatabase(db);
  }
}

if (import.meta.main) {
  await Deno.mkdir(DIR, { recursive: true });
  const results = new Map<string, Result[]>();
  for (let r = 1; r <= ROUNDS; r++) {
    const local = await inProcess(`r${r}-local`);
    console.log(
      `round ${r}, no-op jobs, in-process: ${local.perSecond.toFixed(0)} ` +
        `items/s, latency median ${local.latency.toFixed(0)} ms (put → done)`,
    );
    results.set("no-op jobs, in-process", [
      ...(results.get("no-op jobs, in-process") ?? []),
      local,
    ]);
    for (const workload of WORKLOADS) {
      for (const count of COUNTS) {
        const result = await measure(workload, count, `r${r}-${count}`);
        const label = `${workload.name}, ${count} worker(s)`;
        console.log(
          `round ${r}, ${label}: ${result.perSecond.toFixed(0)} items/s, ` +
            `latency median ${result.latency.toFixed(0)} ms` +
            (result.cold === undefined
              ? ""
              : `, cold ${result.cold.toFixed(0)} ms`),
        );
        results.set(label, [...(results.get(label) ?? []), result]);
      }
    }
  }
  console.log(`\n${ROUNDS} round(s): median (range)`);
  for (const [label, list] of results) {
    const rates = list.map((r) => r.perSecond);
    const latencies = list.map((r) => r.latency);
    const range = (values: number[]) =>
      `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;
    const colds = list.flatMap((r) => r.cold === undefined ? [] : [r.cold]);
    console.log(
      `${label}: ${median(rates).toFixed(0)} items/s (${range(rates)}), ` +
        `latency ${median(latencies).toFixed(0)} ms (${range(latencies)})` +
        (colds.length === 0
          ? ""
          : `, cold ${median(colds).toFixed(0)} ms (${range(colds)})`),
    );
  }
}
