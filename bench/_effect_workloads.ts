/**
 * The core workloads (`_core_workloads.ts`) written with Effect 4 the way
 * its documentation writes them: `Effect.gen` programs run with
 * `Effect.runPromise`, fibers started with `Effect.forkChild` (Effect 4's
 * name for `fork`) and awaited with `Fiber.join`, `Effect.yieldNow` as the
 * yield, `Effect.sleep` for timers, `Queue.bounded(1)` for the ping-pong
 * and `Semaphore.make(1)` with `withPermits(1)` as the lock. Bench-only:
 * `compare.ts` runs them through `compare_cell.ts`; nothing in `src/`
 * imports Effect.
 */
// Pinned here, not in deno.json's import map: bench-only, so neither the
// published config nor the Node/Bun test setup installs it (deno.lock pins
// its integrity).
// deno-lint-ignore no-import-prefix
import { Effect, Fiber, Queue, Semaphore } from "npm:effect@4.1.0";
import { type Bytes, LOCK_TASKS, perTask, rate } from "./_core_workloads.ts";

/** Fork `n` fibers of `Effect.succeed(1)`, then join each. */
export function spawn(n: number): Promise<number> {
  return Effect.runPromise(Effect.gen(function* () {
    const start = performance.now();
    const fibers: Fiber.Fiber<number>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      fibers[i] = yield* Effect.forkChild(Effect.succeed(1));
    }
    for (let i = 0; i < n; i++) yield* Fiber.join(fibers[i]);
    return rate(n, start);
  }));
}

/** One fiber yielding `n` times with `Effect.yieldNow`. */
export function switches(n: number): Promise<number> {
  return Effect.runPromise(Effect.gen(function* () {
    const start = performance.now();
    for (let i = 0; i < n; i++) yield* Effect.yieldNow;
    return rate(n, start);
  }));
}

/** `n` fibers each in `Effect.sleep(random up to 100 ms)`, then join each. */
export function timers(n: number): Promise<number> {
  return Effect.runPromise(Effect.gen(function* () {
    const start = performance.now();
    const fibers: Fiber.Fiber<void>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      fibers[i] = yield* Effect.forkChild(Effect.sleep(Math.random() * 100));
    }
    for (let i = 0; i < n; i++) yield* Fiber.join(fibers[i]);
    return rate(n, start);
  }));
}

/** `n` round trips through two `Queue.bounded(1)`. */
export function pingpong(n: number): Promise<number> {
  return Effect.runPromise(Effect.gen(function* () {
    const ping = yield* Queue.bounded<number>(1);
    const pong = yield* Queue.bounded<number>(1);
    const start = performance.now();
    const echo = yield* Effect.forkChild(Effect.gen(function* () {
      for (let i = 0; i < n; i++) {
        yield* Queue.offer(pong, yield* Queue.take(ping));
      }
    }));
    for (let i = 0; i < n; i++) {
      yield* Queue.offer(ping, i);
      yield* Queue.take(pong);
    }
    yield* Fiber.join(echo);
    return rate(n, start);
  }));
}

/**
 * 100 fibers each taking one permit of `Semaphore.make(1)` `rounds` times,
 * `Effect.yieldNow` inside.
 */
export function lock(rounds: number): Promise<number> {
  return Effect.runPromise(Effect.gen(function* () {
    const semaphore = yield* Semaphore.make(1);
    const held = semaphore.withPermits(1)(Effect.yieldNow);
    const worker = Effect.gen(function* () {
      for (let i = 0; i < rounds; i++) yield* held;
    });
    const start = performance.now();
    const fibers: Fiber.Fiber<void>[] = [];
    for (let i = 0; i < LOCK_TASKS; i++) {
      fibers.push(yield* Effect.forkChild(worker));
    }
    for (const fiber of fibers) yield* Fiber.join(fiber);
    return rate(LOCK_TASKS * rounds, start);
  }));
}

/**
 * `n` fibers each in `Effect.sleep("60 seconds")`, measured by `used`
 * before and after; then all are interrupted.
 */
export function sleepers(used: () => Bytes, n: number): Promise<Bytes> {
  return Effect.runPromise(Effect.gen(function* () {
    const before = used();
    const fibers: Fiber.Fiber<void>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      fibers[i] = yield* Effect.forkChild(Effect.sleep("60 seconds"));
    }
    yield* Effect.yieldNow; // every fiber has started and sleeps
    const bytes = perTask(before, used(), n);
    yield* Fiber.interruptAll(fibers);
    return bytes;
  }));
}
