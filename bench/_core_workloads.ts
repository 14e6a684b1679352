/**
 * The core workloads, shared by `core_bench.ts` and `sync_bench.ts` (deno
 * bench), `compare.ts` (every peer side by side; `compare_cell.py`,
 * `_effection_workloads.ts` and `_effect_workloads.ts` run the same
 * workloads elsewhere) and `runtimes.ts` (Deno, Node and Bun side by side).
 * They use the core only, so they run on all three.
 *
 * Each takes its size (the default is the published one; `compare.ts
 * --quick` passes smaller ones) and returns operations per second, timed
 * inside `run()` from the first operation to the last, as every peer's
 * twin times it: loop start and teardown are not counted.
 */
import {
  createTask,
  getRunningLoop,
  Lock,
  Queue,
  run,
  sleep,
  type Task,
} from "../mod.ts";

export const SPAWN_N = 200_000;
export const SWITCH_N = 1_000_000;
export const TIMERS_N = 200_000;
export const PINGPONG_N = 200_000;
export const LOCK_TASKS = 100;
export const LOCK_ROUNDS = 2_000;
export const SLEEPERS_N = 100_000;

function noop(): Promise<number> {
  return Promise.resolve(1);
}

/** Operations per second, `ops` done since `start` (performance.now()). */
export function rate(ops: number, start: number): number {
  return ops / ((performance.now() - start) / 1000);
}

/** Create `n` tasks (200,000), then await each. */
export async function spawn(n: number = SPAWN_N): Promise<number> {
  return await run(async () => {
    const start = performance.now();
    const tasks: Task<number>[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = createTask(noop);
    for (let i = 0; i < n; i++) await tasks[i];
    return rate(n, start);
  });
}

/** One task awaiting sleep(0) `n` (1,000,000) times. */
export async function switches(n: number = SWITCH_N): Promise<number> {
  return await run(async () => {
    const start = performance.now();
    for (let i = 0; i < n; i++) await sleep(0);
    return rate(n, start);
  });
}

/** `n` (200,000) callLater with random delays up to 100 ms, real clock. */
export async function timers(n: number = TIMERS_N): Promise<number> {
  return await run(async () => {
    const loop = getRunningLoop();
    const start = performance.now();
    const done = loop.createFuture<void>();
    let left = n;
    const fire = () => {
      if (--left === 0) done.setResult();
    };
    for (let i = 0; i < n; i++) loop.callLater(Math.random() * 100, fire);
    await done;
    return rate(n, start);
  });
}

/** Round trips per second through two `Queue(1)`s, `n` (200,000) of them. */
export async function pingpong(n: number = PINGPONG_N): Promise<number> {
  return await run(async () => {
    const ping = new Queue<number>(1);
    const pong = new Queue<number>(1);
    const start = performance.now();
    const echo = createTask(async () => {
      for (let i = 0; i < n; i++) await pong.put(await ping.get());
    });
    for (let i = 0; i < n; i++) {
      await ping.put(i);
      await pong.get();
    }
    await echo;
    return rate(n, start);
  });
}

/**
 * Lock acquisitions per second, 100 tasks contending, each `rounds`
 * (2,000) times with a `sleep(0)` inside.
 */
export async function lock(rounds: number = LOCK_ROUNDS): Promise<number> {
  return await run(async () => {
    const lock = new Lock();
    const worker = async () => {
      for (let i = 0; i < rounds; i++) {
        using _ = await lock.hold(); // async with lock:
        await sleep(0);
      }
    };
    const start = performance.now();
    const tasks = Array.from({ length: LOCK_TASKS }, () => createTask(worker));
    for (const task of tasks) await task;
    return rate(LOCK_TASKS * rounds, start);
  });
}

/** Memory figures in bytes, e.g. `{ heap, rss }`. */
export type Bytes = Record<string, number>;

/** `(after - before) / n` for each figure. */
export function perTask(before: Bytes, after: Bytes, n: number): Bytes {
  const result: Bytes = {};
  for (const key of Object.keys(before)) {
    result[key] = (after[key] - before[key]) / n;
  }
  return result;
}

/**
 * Bytes per sleeping task: `n` (100,000) tasks each in `sleep(60_000)` on
 * the real clock, measured by `used` (which collects fully first) before
 * and after, each figure it gives (heap bytes, resident bytes) divided by
 * `n`; then all are cancelled.
 */
export async function sleepers(
  used: () => Bytes,
  n: number = SLEEPERS_N,
): Promise<Bytes> {
  return await run(async () => {
    const before = used();
    const tasks: Task<void>[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = createTask(() => sleep(60_000));
    await sleep(0); // every task has started and sleeps
    const bytes = perTask(before, used(), n);
    for (const task of tasks) task.cancel();
    for (const task of tasks) await task.then(() => {}, () => {});
    return bytes;
  });
}
