/**
 * `VirtualClock`: time that moves only when the loop is idle, as trio's
 * `MockClock` with autojump.
 *
 * @module
 */
import { checkFunction, checkNumber, checkOptions } from "./_checks.ts";
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
   * @throws {TypeError} If `options` is not an object, or a value not a
   * number.
   * @throws {RangeError} If `start` is negative, NaN or infinite, or
   * `autojumpThreshold` negative or NaN.
   */
  constructor(options?: VirtualClockOptions) {
    const action = "create virtual clock";
    checkOptions(action, options);
    this.#now = checkNumber(
      action,
      "start",
      options?.start ?? 0,
      "a finite number >= 0",
      isFiniteTime,
    );
    this.autojumpThreshold = checkNumber(
      action,
      "autojumpThreshold",
      options?.autojumpThreshold ?? 0,
      "a number >= 0",
      (n) => n >= 0,
    );
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
   * @throws {TypeError} If `when` is not a number.
   * @throws {RangeError} If `when` is NaN or infinite.
   */
  jumpTo(when: number): void {
    checkNumber(
      "jump virtual clock",
      "when",
      when,
      "a finite time",
      Number.isFinite,
    );
    if (when > this.#now) {
      this.#now = when;
      for (const listener of this.#listeners) listener();
    }
  }

  /**
   * Moves the time forward by `ms`, waking loops whose timers come due.
   *
   * @param ms Milliseconds to add.
   * @throws {TypeError} If `ms` is not a number.
   * @throws {RangeError} If `ms` is negative, NaN or infinite.
   */
  advance(ms: number): void {
    checkNumber(
      "advance virtual clock",
      "ms",
      ms,
      "a finite number >= 0",
      isFiniteTime,
    );
    this.jumpTo(this.#now + ms);
  }

  /**
   * Calls `listener` whenever the time moves. Loops use it.
   *
   * @param listener The callback.
   * @returns A function that unsubscribes.
   * @throws {TypeError} If `listener` is not a function.
   */
  subscribe(listener: () => void): () => void {
    checkFunction("subscribe to virtual clock", "listener", listener);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function isFiniteTime(n: number): boolean {
  return n >= 0 && n !== Infinity;
}
