/**
 * Benchmarks for the synchronization primitives and queues, on the real
 * clock. The same workloads run on every peer (CPython asyncio, uvloop,
 * Effection, Effect, plain promises) in `deno task bench:compare`:
 *
 * - pingpong: two tasks pass a token through two `Queue(1)`s, 200,000
 *   round trips;
 * - lock: 100 tasks each take one `Lock` 2,000 times, with a `sleep(0)`
 *   inside (200,000 acquisitions, nearly all contended), written with
 *   `using _ = await lock.hold()` as Python writes `async with lock`;
 * - lock_try_finally (Deno only): the same with `acquire()`/`release()`.
 *
 * The first two live in `_core_workloads.ts`, which `runtimes.ts` also
 * runs on Node and Bun.
 *
 * `deno task bench` runs them with `Deno.bench`; `deno run
 * bench/sync_bench.ts [workload...] [--repeat N]` prints one JSON line per
 * workload with operations per second, the best of N runs.
 */
import { createTask, Lock, run, sleep } from "../mod.ts";
import { lock, LOCK_ROUNDS, LOCK_TASKS, pingpong } from "./_core_workloads.ts";

/**
 * The lock workload written with `acquire()`/`release()` in try/finally
 * instead of `using`: shows what V8's `using` machinery costs. No Python
 * twin; `async with` is the idiom there.
 */
export async function lockTryFinally(): Promise<number> {
  return await run(async () => {
    const lock = new Lock();
    const worker = async () => {
      for (let i = 0; i < LOCK_ROUNDS; i++) {
        await lock.acquire();
        try {
          await sleep(0);
        } finally {
          lock.release();
        }
      }
    };
    const start = performance.now();
    const tasks = Array.from({ length: LOCK_TASKS }, () => createTask(worker));
    for (const task of tasks) await task;
    return (LOCK_TASKS * LOCK_ROUNDS) / ((performance.now() - start) / 1000);
  });
}

const WORKLOADS: Record<string, () => Promise<number>> = {
  pingpong: () => pingpong(),
  lock: () => lock(),
  lock_try_finally: lockTryFinally,
};

Deno.bench({
  name: "pingpong: 2 tasks, two Queue(1), 200,000 round trips",
  n: 5,
  warmup: 1,
  fn: async () => {
    await pingpong();
  },
});

Deno.bench({
  name: "lock: 100 tasks x 2,000 acquisitions with sleep(0) inside",
  n: 5,
  warmup: 1,
  fn: async () => {
    await lock();
  },
});

Deno.bench({
  name: "lock_try_finally: the same with acquire/release, no `using`",
  n: 5,
  warmup: 1,
  fn: async () => {
    await lockTryFinally();
  },
});

if (import.meta.main) {
  const args = [...Deno.args];
  let repeat = 3;
  const at = args.indexOf("--repeat");
  if (at >= 0) {
    repeat = Number(args[at + 1]);
    args.splice(at, 2);
  }
  const names = args.length > 0 ? args : Object.keys(WORKLOADS);
  for (const name of names) {
    const workload = WORKLOADS[name];
    if (workload === undefined) throw new Error(`Unknown workload: ${name}`);
    let best = 0;
    for (let i = 0; i < repeat; i++) best = Math.max(best, await workload());
    console.log(JSON.stringify({
      runtime: `deno ${Deno.version.deno}`,
      workload: name,
      ops_per_s: Math.round(best),
    }));
  }
}
