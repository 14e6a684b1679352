/**
 * The core workloads (`_core_workloads.ts`) written with Effection 4 the
 * way its guides write them: generator operations started by `run`,
 * children by `spawn` and awaited with `yield*`, `sleep` for timers, a
 * `createQueue` per direction for the ping-pong. Bench-only: `compare.ts`
 * runs them through `compare_cell.ts`; nothing in `src/` imports Effection.
 *
 * Effection has no lock, and no yield that lets timers or I/O in without
 * a real timer: its `sleep(0)` is a `setTimeout(0)` (about 2.4 ms here,
 * as Deno clamps nested timers), so `switch` waits on a resolved promise
 * (`until(Promise.resolve())`), a microtask hop like plain promises'
 * `await null`.
 */
// Pinned here, not in deno.json's import map: bench-only, so neither the
// published config nor the Node/Bun test setup installs it (deno.lock pins
// its integrity).
// deno-lint-ignore-file no-import-prefix
import {
  createQueue,
  type Operation,
  run,
  sleep,
  spawn as spawnTask,
  type Task,
  until,
} from "npm:effection@4.1.1";
import { type Bytes, perTask, rate } from "./_core_workloads.ts";

// deno-lint-ignore require-yield
function* noop(): Operation<number> {
  return 1;
}

/** Spawn `n` children, then `yield*` each. */
export function spawn(n: number): Promise<number> {
  return run(function* () {
    const start = performance.now();
    const tasks: Task<number>[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = yield* spawnTask(noop);
    for (let i = 0; i < n; i++) yield* tasks[i];
    return rate(n, start);
  });
}

/** `n` microtask hops: `yield* until(Promise.resolve())`. */
export function switches(n: number): Promise<number> {
  return run(function* () {
    const start = performance.now();
    for (let i = 0; i < n; i++) yield* until(Promise.resolve());
    return rate(n, start);
  });
}

/** `n` children each in `sleep(random up to 100 ms)`, then `yield*` each. */
export function timers(n: number): Promise<number> {
  return run(function* () {
    const start = performance.now();
    const tasks: Task<void>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const ms = Math.random() * 100;
      tasks[i] = yield* spawnTask(() => sleep(ms));
    }
    for (let i = 0; i < n; i++) yield* tasks[i];
    return rate(n, start);
  });
}

/** `n` round trips through two queues (one value in flight each way). */
export function pingpong(n: number): Promise<number> {
  return run(function* () {
    const ping = createQueue<number, never>();
    const pong = createQueue<number, never>();
    const start = performance.now();
    const echo = yield* spawnTask(function* () {
      for (let i = 0; i < n; i++) pong.add((yield* ping.next()).value);
    });
    for (let i = 0; i < n; i++) {
      ping.add(i);
      yield* pong.next();
    }
    yield* echo;
    return rate(n, start);
  });
}

/**
 * `n` children each in `sleep(60_000)`, measured by `used` before and
 * after; leaving `run` halts them.
 */
export function sleepers(used: () => Bytes, n: number): Promise<Bytes> {
  return run(function* () {
    const before = used();
    for (let i = 0; i < n; i++) yield* spawnTask(() => sleep(60_000));
    yield* until(Promise.resolve()); // every child has started and sleeps
    return perTask(before, used(), n);
  });
}
