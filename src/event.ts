/**
 * `Event`: a flag tasks can wait for, as asyncio's `asyncio.Event`.
 *
 * @module
 */
import { WaiterList } from "./_waiters.ts";
import { DESCRIBE_AS, type DescribedAs } from "./_introspect.ts";

const SET: Promise<true> = Promise.resolve(true);

/**
 * A flag, initially false, that tasks wait on: `set()` wakes every waiting
 * task and lets later `wait()` calls return at once, until `clear()`.
 * A task woken by `set()` returns from `wait()` even if `clear()` runs
 * before it resumes. asyncio: `asyncio.Event`.
 *
 * @example Starting workers together
 * ```ts
 * import { createTask, Event, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const go = new Event();
 *   const started: number[] = [];
 *   const workers = [1, 2, 3].map((n) =>
 *     createTask(async () => {
 *       await go.wait();
 *       started.push(n);
 *     })
 *   );
 *   await sleep(100);
 *   assert.deepEqual(started, []);
 *   go.set();
 *   for (const worker of workers) await worker;
 *   assert.deepEqual(started, [1, 2, 3]);
 * }, { clock: new VirtualClock() });
 * ```
 */
export class Event {
  #value = false;
  #waiters: WaiterList = new WaiterList("event", {
    describe: (): string =>
      (this as DescribedAs)[DESCRIBE_AS]?.() ?? `Event.wait() on ${this}`,
  });

  /**
   * Whether the flag is set. asyncio: `Event.is_set()`.
   *
   * @returns The flag.
   */
  isSet(): boolean {
    return this.#value;
  }

  /**
   * Sets the flag and wakes every task waiting for it. asyncio:
   * `Event.set()`.
   */
  set(): void {
    if (this.#value) return;
    this.#value = true;
    this.#waiters.wakeAll();
  }

  /**
   * Resets the flag: later `wait()` calls block until the next `set()`.
   * asyncio: `Event.clear()`.
   */
  clear(): void {
    this.#value = false;
  }

  /**
   * Waits until the flag is set; returns at once if it is. asyncio:
   * `Event.wait()`.
   *
   * @returns A promise resolving to `true`.
   * @throws {CancelledError} If the task is cancelled while waiting.
   * @throws {InvalidStateError} If tasks of another event loop are waiting.
   *
   * @example Waiting for a signal from a callback
   * ```ts
   * import { Event, getRunningLoop, run } from "@aio/asyncio";
   * import { VirtualClock } from "@aio/asyncio/testing";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const ready = new Event();
   *   getRunningLoop().callLater(50, () => ready.set());
   *   assert.equal(await ready.wait(), true);
   *   assert.equal(getRunningLoop().time(), 50);
   * }, { clock: new VirtualClock() });
   * ```
   */
  wait(): Promise<true> {
    if (this.#value) return SET;
    return this.#waiters.park(true);
  }

  /** A description for logs, as asyncio's repr: `<Event [unset, waiters:2]>`. */
  toString(): string {
    const waiters = this.#waiters.size;
    return `<Event [${this.#value ? "set" : "unset"}${
      waiters > 0 ? `, waiters:${waiters}` : ""
    }]>`;
  }
}
