/**
 * The core workloads, shared by `core_bench.ts` and `sync_bench.ts` (deno
 * bench), `compare.ts` (the side-by-side table with CPython asyncio and
 * uvloop; `core_peers.py` and `sync_peers.py` run the same workloads in
 * Python) and `runtimes.ts` (Deno, Node and Bun side by side). They use
 * the core only, so they run on all three.
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

/** Create 200,000 tasks, then await each. */
export function spawn(): Promise<void> {
  return run(async () => {
    const tasks: Task<number>[] = new Array(SPAWN_N);
    for (let i = 0; i < SPAWN_N; i++) tasks[i] = createTask(noop);
    for (let i = 0; i < SPAWN_N; i++) await tasks[i];
  });
}

/** One task awaiting sleep(0) 1,000,000 times. */
export function switches(): Promise<void> {
  return run(async () => {
    for (let i = 0; i < SWITCH_N; i++) await sleep(0);
  });
}

/** 200,000 callLater with random delays up to 100 ms, on the real clock. */
export function timers(): Promise<void> {
  return run(async () => {
    const loop = getRunningLoop();
    const done = loop.createFuture<void>();
    let left = TIMERS_N;
    const fire = () => {
      if (--left === 0) done.setResult();
    };
    for (let i = 0; i < TIMERS_N; i++) {
      loop.callLater(Math.random() * 100, fire);
    }
    await done;
  });
}

/** Round trips per second through two `Queue(1)`s. */
export async function pingpong(): Promise<number> {
  return await run(async () => {
    const ping = new Queue<number>(1);
    const pong = new Queue<number>(1);
    const start = performance.now();
    const echo = createTask(async () => {
      for (let i = 0; i < PINGPONG_N; i++) await pong.put(await ping.get());
    });
    for (let i = 0; i < PINGPONG_N; i++) {
      await ping.put(i);
      await pong.get();
    }
    await echo;
    return PINGPONG_N / ((performance.now() - start) / 1000);
  });
}

/** Lock acquisitions per second, 100 tasks contending. */
export async function lock(): Promise<number> {
  return await run(async () => {
    const lock = new Lock();
    const worker = async () => {
      for (let i = 0; i < LOCK_ROUNDS; i++) {
        using _ = await lock.hold(); // async with lock:
        await sleep(0);
      }
    };
    const start = performance.now();
    const tasks = Array.from({ length: LOCK_TASKS }, () => createTask(worker));
    for (const task of tasks) await task;
    return (LOCK_TASKS * LOCK_ROUNDS) / ((performance.now() - start) / 1000);
  });
}

/**
 * Heap bytes per sleeping task: 100,000 tasks each in `sleep(60_000)` on
 * the real clock, measured by `heapUsed` (which collects fully first)
 * before and after; then all are cancelled.
 */
export async function sleepers(heapUsed: () => number): Promise<number> {
  return await run(async () => {
    const before = heapUsed();
    const tasks: Task<void>[] = new Array(SLEEPERS_N);
    for (let i = 0; i < SLEEPERS_N; i++) {
      tasks[i] = createTask(() => sleep(60_000));
    }
    await sleep(0); // every task has started and sleeps
    const bytes = (heapUsed() - before) / SLEEPERS_N;
    for (const task of tasks) task.cancel();
    for (const task of tasks) await task.then(() => {}, () => {});
    return bytes;
  });
}

export const WORKLOADS = {
  spawn: { run: spawn, ops: SPAWN_N },
  switch: { run: switches, ops: SWITCH_N },
  timers: { run: timers, ops: TIMERS_N },
} as const;
