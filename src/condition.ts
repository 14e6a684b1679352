/**
 * `Condition`: wait until notified, under a lock, as asyncio's
 * `asyncio.Condition`.
 *
 * @module
 */
import { checkFunction, checkNumber } from "./_checks.ts";
import { describe } from "./_describe.ts";
import { CancelledError, InvalidStateError } from "./errors.ts";
import { Lock } from "./lock.ts";
import { WaiterList } from "./_waiters.ts";
import { DESCRIBE_AS, type DescribedAs } from "./_introspect.ts";

/**
 * A condition variable: tasks holding its lock `wait()` until another task
 * `notify()`s them, then re-acquire the lock before returning. Always
 * re-check what you waited for (or use `waitFor`): a wake-up says the
 * state may have changed, not that it did. asyncio: `asyncio.Condition`.
 *
 * The lock is a `Lock`, made for the condition or passed in to share it
 * between conditions. Hold it with `using _ = await cond.hold()` or
 * `cond.withLock(fn)` where Python writes `async with cond:`.
 *
 * Cancellation never loses a notification: a task cancelled after it was
 * notified, while it waits to re-acquire the lock or before it even
 * resumed, passes the notification to the next waiter. `wait()` always
 * re-acquires the lock before it returns or throws, even when cancelled,
 * so the caller's `finally` can release it.
 *
 * @example A producer and a consumer sharing state
 * ```ts
 * import { Condition, createTask, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const cond = new Condition();
 *   const items: string[] = [];
 *   const consumer = createTask(async () => {
 *     using _ = await cond.hold(); // async with cond:
 *     await cond.waitFor(() => items.length > 0);
 *     return items.shift();
 *   });
 *   await sleep(10);
 *   await cond.withLock(() => {
 *     items.push("job");
 *     cond.notify();
 *   });
 *   assert.equal(await consumer, "job");
 * }, { clock: new VirtualClock() });
 * ```
 */
export class Condition {
  #lock: Lock;
  #waiters: WaiterList = new WaiterList("condition", {
    // Notified, then cancelled before resuming: notify someone else.
    onAbandon: () => this.#waiters.wake(),
    describe: (): string =>
      (this as DescribedAs)[DESCRIBE_AS]?.() ?? `Condition.wait() on ${this}`,
  });

  /**
   * Creates a condition.
   *
   * @param lock A `Lock` to share with other conditions; a new one by
   * default.
   * @throws {TypeError} If `lock` is not a `Lock`.
   */
  constructor(lock?: Lock) {
    if (lock !== undefined && !(lock instanceof Lock)) {
      throw new TypeError(
        `Cannot create condition: expected lock as a Lock, got ${
          describe(lock)
        }`,
      );
    }
    this.#lock = lock ?? new Lock();
  }

  /**
   * Whether the underlying lock is held. asyncio: `Condition.locked()`.
   *
   * @returns `true` while held.
   */
  locked(): boolean {
    return this.#lock.locked();
  }

  /**
   * Acquires the underlying lock. asyncio: `Condition.acquire()`.
   *
   * @returns A promise resolving to `true` once held.
   * @throws {CancelledError} If the task is cancelled while waiting.
   */
  acquire(): Promise<true> {
    return this.#lock.acquire();
  }

  /**
   * Releases the underlying lock. asyncio: `Condition.release()`.
   *
   * @throws {InvalidStateError} If the lock is not held.
   */
  release(): void {
    this.#lock.release();
  }

  /**
   * Acquires the underlying lock for a `using` declaration. Python:
   * `async with cond:`.
   *
   * @returns A promise for a `Disposable` that releases the lock (once).
   * @throws {CancelledError} If the task is cancelled while waiting.
   *
   * @example Holding the lock for a block
   * ```ts
   * import { Condition, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   {
   *     using _ = await cond.hold();
   *     assert.ok(cond.locked());
   *   }
   *   assert.ok(!cond.locked());
   * });
   * ```
   */
  hold(): Promise<Disposable> {
    return this.#lock.hold();
  }

  /**
   * Runs `fn` holding the underlying lock and releases it however `fn`
   * ends. Python: `async with cond: return await fn()`.
   *
   * @typeParam R What `fn` returns.
   * @param fn The code to run under the lock.
   * @returns What `fn` returns.
   * @throws Whatever `fn` throws, after releasing the lock.
   * @throws {TypeError} If `fn` is not a function; the lock is not taken.
   *
   * @example Notifying under the lock
   * ```ts
   * import { Condition, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   const woke = await cond.withLock(() => cond.notifyAll());
   *   assert.equal(woke, undefined);
   *   assert.ok(!cond.locked());
   * });
   * ```
   */
  withLock<R>(fn: () => R | PromiseLike<R>): Promise<R> {
    return this.#lock.withLock(fn);
  }

  /**
   * Releases the lock, waits until notified, then re-acquires the lock —
   * also when cancelled, so the lock is held whenever `wait()` returns or
   * throws. asyncio: `Condition.wait()`.
   *
   * @returns A promise resolving to `true` once notified and re-locked.
   * @throws {InvalidStateError} If the lock is not held (asyncio raises
   * `RuntimeError`).
   * @throws {CancelledError} If the task is cancelled; the lock is held
   * again by then.
   *
   * @example Waiting for a notification
   * ```ts
   * import { Condition, createTask, run, sleep } from "@aio/asyncio";
   * import { VirtualClock } from "@aio/asyncio/testing";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   const waiter = createTask(() => cond.withLock(() => cond.wait()));
   *   await sleep(1);
   *   await cond.withLock(() => cond.notify());
   *   assert.equal(await waiter, true);
   * }, { clock: new VirtualClock() });
   * ```
   */
  async wait(): Promise<true> {
    if (!this.#lock.locked()) {
      throw new InvalidStateError(
        "Cannot wait on condition: lock is not acquired",
      );
    }
    this.#lock.release();
    let notified = false;
    let failed = false;
    let error: unknown;
    try {
      await this.#waiters.park(undefined);
      notified = true;
    } catch (e) {
      // Cancelled; a notification it had already received went on to the
      // next waiter through onAbandon.
      failed = true;
      error = e;
    }
    // Re-acquire the lock even if cancelled, keeping the latest
    // CancelledError to throw once the lock is held again.
    for (;;) {
      try {
        await this.#lock.acquire();
        break;
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        failed = true;
        error = e;
      }
    }
    if (failed) {
      // Notified, but the caller will never see it: pass it on.
      if (notified) this.#waiters.wake();
      throw error;
    }
    return true;
  }

  /**
   * Waits until `predicate()` is truthy, re-checking after every
   * notification, with the lock held. asyncio: `Condition.wait_for()`.
   *
   * @typeParam R What the predicate returns.
   * @param predicate Checked first, then after each wake-up.
   * @returns The predicate's last (truthy) result.
   * @throws {InvalidStateError} If it must wait and the lock is not held.
   * @throws {CancelledError} If the task is cancelled; the lock is held
   * again by then.
   *
   * @example Waiting for a counter
   * ```ts
   * import { Condition, createTask, run, sleep } from "@aio/asyncio";
   * import { VirtualClock } from "@aio/asyncio/testing";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   let count = 0;
   *   const watcher = createTask(() =>
   *     cond.withLock(() => cond.waitFor(() => count >= 3 && count))
   *   );
   *   for (let i = 0; i < 3; i++) {
   *     await sleep(10);
   *     await cond.withLock(() => {
   *       count++;
   *       cond.notifyAll();
   *     });
   *   }
   *   assert.equal(await watcher, 3);
   * }, { clock: new VirtualClock() });
   * ```
   */
  async waitFor<R>(predicate: () => R): Promise<R> {
    checkFunction("wait for predicate", "predicate", predicate);
    let result = predicate();
    while (!result) {
      await this.wait();
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` tasks waiting on this condition. They return from
   * `wait()` once they re-acquire the lock, which the caller still holds.
   * asyncio: `Condition.notify()`.
   *
   * @param n How many to wake; 1 by default.
   * @throws {InvalidStateError} If the lock is not held.
   * @throws {TypeError} If `n` is not a number.
   * @throws {RangeError} If `n` is negative or not an integer.
   *
   * @example Waking one waiter of two
   * ```ts
   * import { Condition, createTask, run, sleep } from "@aio/asyncio";
   * import { VirtualClock } from "@aio/asyncio/testing";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   const woke: number[] = [];
   *   for (const n of [1, 2]) {
   *     createTask(() => cond.withLock(async () => {
   *       await cond.wait();
   *       woke.push(n);
   *     }));
   *   }
   *   await sleep(1);
   *   await cond.withLock(() => cond.notify(1));
   *   await sleep(1);
   *   assert.deepEqual(woke, [1]);
   *   await cond.withLock(() => cond.notify(1));
   *   await sleep(1);
   *   assert.deepEqual(woke, [1, 2]);
   * }, { clock: new VirtualClock() });
   * ```
   */
  notify(n = 1): void {
    checkNumber(
      "notify condition",
      "n",
      n,
      "an integer >= 0 or Infinity",
      (count) => count >= 0 && (Number.isInteger(count) || count === Infinity),
    );
    if (!this.#lock.locked()) {
      throw new InvalidStateError(
        "Cannot notify condition: lock is not acquired",
      );
    }
    this.#waiters.wakeN(n);
  }

  /**
   * Wakes every task waiting on this condition. asyncio:
   * `Condition.notify_all()`.
   *
   * @throws {InvalidStateError} If the lock is not held.
   *
   * @example Broadcasting a change
   * ```ts
   * import { Condition, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   assert.throws(() => cond.notifyAll()); // the lock is not held
   *   await cond.withLock(() => cond.notifyAll());
   * });
   * ```
   */
  notifyAll(): void {
    this.notify(Infinity);
  }

  /** A description for logs, as asyncio's repr: `<Condition [locked, waiters:1]>`. */
  toString(): string {
    const waiters = this.#waiters.size;
    return `<Condition [${this.#lock.locked() ? "locked" : "unlocked"}${
      waiters > 0 ? `, waiters:${waiters}` : ""
    }]>`;
  }
}
