/**
 * The core workloads, shared by `core_bench.ts` (deno bench) and
 * `compare.ts` (the side-by-side table with CPython asyncio and uvloop).
 * `core_peers.py` runs the same workloads in Python.
 */
import { createTask, getRunningLoop, run, sleep, type Task } from "../mod.ts";

export const SPAWN_N = 200_000;
export const SWITCH_N = 1_000_000;
export const TIMERS_N = 200_000;

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

export const WORKLOADS = {
  spawn: { run: spawn, ops: SPAWN_N },
  switch: { run: switches, ops: SWITCH_N },
  timers: { run: timers, ops: TIMERS_N },
} as const;
