/**
 * `Barrier`: a meeting point for a fixed number of tasks, as asyncio's
 * `asyncio.Barrier`.
 *
 * @module
 */
import { checkNumber } from "./_checks.ts";
import { Condition } from "./condition.ts";
import { DESCRIBE_AS, type DescribedAs } from "./_introspect.ts";
import { BrokenBarrierError } from "./errors.ts";

/** As asyncio's `_BarrierState`. */
type BarrierState = "filling" | "draining" | "resetting" | "broken";

/**
 * Blocks tasks in `wait()` until `parties` of them have arrived, then lets
 * them all through at once; it then fills again for the next round.
 * `wait()` returns each task's arrival index, 0 to `parties - 1`. Tasks
 * that arrive while a round is draining wait for the next round.
 * `abort()` breaks the barrier: every waiting and future `wait()` throws
 * `BrokenBarrierError` until `reset()`. asyncio: `asyncio.Barrier`, with
 * the same states (filling, draining, resetting, broken).
 *
 * Python's `async with barrier as i:` is `const i = await
 * barrier.wait();` — leaving the block does nothing in asyncio either.
 *
 * A task cancelled while it waits leaves the barrier: it no longer counts
 * toward `parties`.
 *
 * @example Three workers meeting between phases
 * ```ts
 * import { Barrier, createTask, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * const log: string[] = [];
 * await run(async () => {
 *   const barrier = new Barrier(3);
 *   const worker = async (n: number) => {
 *     await sleep(n * 10);
 *     log.push(`ready ${n}`);
 *     await barrier.wait();
 *     log.push(`go ${n}`);
 *   };
 *   const tasks = [1, 2, 3].map((n) => createTask(() => worker(n)));
 *   for (const task of tasks) await task;
 * }, { clock: new VirtualClock() });
 * assert.deepEqual(log.slice(0, 3), ["ready 1", "ready 2", "ready 3"]);
 * assert.deepEqual(log.slice(3).sort(), ["go 1", "go 2", "go 3"]);
 * ```
 */
export class Barrier {
  #cond = new Condition();
  #parties: number;
  #state: BarrierState = "filling";
  #count = 0;

  /**
   * Creates a barrier for `parties` tasks.
   *
   * @param parties How many tasks must call `wait()` to pass.
   * @throws {TypeError} If `parties` is not a number.
   * @throws {RangeError} If `parties` is not an integer >= 1.
   */
  constructor(parties: number) {
    // asyncio: ValueError("parties must be >= 1").
    this.#parties = checkNumber(
      "create barrier",
      "parties",
      parties,
      "an integer >= 1",
      (n) => Number.isInteger(n) && n >= 1,
    );
    // Its waiters wait on the condition; the task tree names the barrier.
    (this.#cond as DescribedAs)[DESCRIBE_AS] = () =>
      `Barrier.wait() on ${this}`;
  }

  /**
   * Waits until `parties` tasks are waiting, then returns with all of
   * them. asyncio: `Barrier.wait()`.
   *
   * @returns A promise for this task's arrival index, from 0 to
   * `parties - 1`.
   * @throws {BrokenBarrierError} If the barrier is broken, or is reset or
   * aborted while this task waits.
   * @throws {CancelledError} If the task is cancelled while waiting.
   *
   * @example Arrival indexes
   * ```ts
   * import { Barrier, createTask, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const barrier = new Barrier(2);
   *   const other = createTask(() => barrier.wait());
   *   const mine = await barrier.wait();
   *   assert.deepEqual([mine, await other].sort(), [0, 1]);
   * });
   * ```
   */
  async wait(): Promise<number> {
    const cond = this.#cond;
    await cond.acquire();
    try {
      // Wait for the previous round to drain or a reset to finish.
      await cond.waitFor(() =>
        this.#state !== "draining" && this.#state !== "resetting"
      );
      if (this.#state === "broken") {
        throw new BrokenBarrierError("Cannot pass barrier: it is broken");
      }
      const index = this.#count++;
      try {
        if (index + 1 === this.#parties) {
          // The last to arrive lets the round through.
          this.#state = "draining";
          cond.notifyAll();
        } else {
          await cond.waitFor(() => this.#state !== "filling");
          // Read afresh: the state changed while this task waited.
          const state = this.#state as BarrierState;
          if (state === "broken" || state === "resetting") {
            throw new BrokenBarrierError(
              "Cannot pass barrier: it was reset or aborted while waiting",
            );
          }
        }
        return index;
      } finally {
        this.#count--;
        this.#exit();
      }
    } finally {
      cond.release();
    }
  }

  /**
   * Returns the barrier to its empty, filling state. Tasks waiting in it
   * get `BrokenBarrierError`. asyncio: `Barrier.reset()`.
   *
   * @returns A promise that resolves once reset.
   *
   * @example Reusing an aborted barrier
   * ```ts
   * import { Barrier, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const barrier = new Barrier(2);
   *   await barrier.abort();
   *   assert.ok(barrier.broken);
   *   await barrier.reset();
   *   assert.ok(!barrier.broken);
   * });
   * ```
   */
  async reset(): Promise<void> {
    const cond = this.#cond;
    await cond.acquire();
    try {
      if (this.#count > 0) {
        // Let the waiting tasks leave with BrokenBarrierError first.
        this.#state = "resetting";
      } else {
        this.#state = "filling";
      }
      cond.notifyAll();
    } finally {
      cond.release();
    }
  }

  /**
   * Breaks the barrier: tasks waiting in it, and every later `wait()`
   * until `reset()`, get `BrokenBarrierError`. Use it when one party
   * fails and the others must not wait forever. asyncio:
   * `Barrier.abort()`.
   *
   * @returns A promise that resolves once broken.
   *
   * @example Releasing waiters with an error
   * ```ts
   * import { Barrier, BrokenBarrierError, createTask, run, sleep } from "@aio/asyncio";
   * import { VirtualClock } from "@aio/asyncio/testing";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const barrier = new Barrier(3);
   *   const waiter = createTask(() => barrier.wait());
   *   await sleep(1);
   *   await barrier.abort();
   *   await assert.rejects(waiter, BrokenBarrierError);
   * }, { clock: new VirtualClock() });
   * ```
   */
  async abort(): Promise<void> {
    const cond = this.#cond;
    await cond.acquire();
    try {
      this.#state = "broken";
      cond.notifyAll();
    } finally {
      cond.release();
    }
  }

  /** How many tasks must call `wait()` to pass. asyncio: `Barrier.parties`. */
  get parties(): number {
    return this.#parties;
  }

  /**
   * How many tasks are waiting for the current round to fill (0 while it
   * drains). asyncio: `Barrier.n_waiting`.
   */
  get nWaiting(): number {
    return this.#state === "filling" ? this.#count : 0;
  }

  /** Whether the barrier is broken. asyncio: `Barrier.broken`. */
  get broken(): boolean {
    return this.#state === "broken";
  }

  /** A description for logs, as asyncio's repr: `<Barrier [filling, waiters:1/3]>`. */
  toString(): string {
    const waiting = this.broken
      ? ""
      : `, waiters:${this.nWaiting}/${this.#parties}`;
    return `<Barrier [${this.#state}${waiting}]>`;
  }

  /** The last task out of a draining or resetting round refills it. */
  #exit(): void {
    if (this.#count === 0) {
      if (this.#state === "resetting" || this.#state === "draining") {
        this.#state = "filling";
      }
      this.#cond.notifyAll();
    }
  }
}
