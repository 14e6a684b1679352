/**
 * `VirtualClock`: time that moves only when the loop is idle, as trio's
 * `MockClock` with autojump.
 *
 * @module
 */
import type { Clock } from "./clock.ts";

/** Options for `new VirtualClock()`. */
export interface VirtualClockOptions {
  /** The time to start at, in milliseconds; 0 by default. */
  start?: number;
  /**
   * Real milliseconds the loop must stay idle before the clock jumps to the
   * next deadline. 0 (the default) jumps as soon as every microtask has
   * run; a few milliseconds let loopback I/O arrive first in tests with
   * real sockets; `Infinity` never jumps, so only `advance()` moves time.
   */
  autojumpThreshold?: number;
}

/**
 * A virtual clock for tests: a loop on it jumps to the next timer whenever
 * it is idle, so `await sleep(3_600_000)` returns at once with
 * `loop.time()` advanced by exactly that, always in the same order. I/O in
 * flight that finishes without a peer (connect, write, file I/O) holds the
 * clock; a read waiting for a peer does not. asyncio has no equivalent;
 * trio: `trio.testing.MockClock`.
 *
 * @example An hour in an instant
 * ```ts
 * import { getRunningLoop, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * const clock = new VirtualClock();
 * await run(async () => {
 *   await sleep(3_600_000);
 *   assert.equal(getRunningLoop().time(), 3_600_000);
 * }, { clock });
 * assert.equal(clock.now(), 3_600_000);
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  #listeners = new Set<() => void>();
  /** Real milliseconds of idleness before the loop jumps. */
  readonly autojumpThreshold: number;

  /**
   * Creates a virtual clock.
   *
   * @param options Start time and autojump threshold.
   * @throws {RangeError} If a value is negative or NaN.
   */
  constructor(options?: VirtualClockOptions) {
    const start = options?.start ?? 0;
    const threshold = options?.autojumpThreshold ?? 0;
    if (!(start >= 0) || !Number.isFinite(start)) {
      throw new RangeError(
        `Cannot create clock: start ${start} is not a finite time >= 0`,
      );
    }
    if (!(threshold >= 0)) {
      throw new RangeError(
        `Cannot create clock: autojumpThreshold ${threshold} is not >= 0`,
      );
    }
    this.#now = start;
    this.autojumpThreshold = threshold;
  }

  /**
   * The virtual time in milliseconds.
   *
   * @returns The time.
   */
  now(): number {
    return this.#now;
  }

  /**
   * Moves the time forward to `when` (never backward). Loops call it.
   *
   * @param when The new time.
   */
  jumpTo(when: number): void {
    if (when > this.#now) {
      this.#now = when;
      for (const listener of this.#listeners) listener();
    }
  }

  /**
   * Moves the time forward by `ms`, waking loops whose timers come due.
   *
   * @param ms Milliseconds to add.
   * @throws {RangeError} If `ms` is negative or NaN.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) {
      throw new RangeError(`Cannot advance clock: ${ms} is not >= 0`);
    }
    this.jumpTo(this.#now + ms);
  }

  /**
   * Calls `listener` whenever the time moves. Loops use it.
   *
   * @param listener The callback.
   * @returns A function that unsubscribes.
   */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
