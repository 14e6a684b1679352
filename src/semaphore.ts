/**
 * `Semaphore` and `BoundedSemaphore`: a counter of permits, as asyncio's
 * `asyncio.Semaphore` and `asyncio.BoundedSemaphore`.
 *
 * @module
 */
import { checkFunction, checkNumber } from "./_checks.ts";
import { InvalidStateError } from "./errors.ts";
import { ReleaseOnDispose, WaiterList } from "./_waiters.ts";

const ACQUIRED: Promise<true> = Promise.resolve(true);

function checkValue(what: string, value: unknown): number {
  // asyncio: ValueError("Semaphore initial value must be >= 0").
  return checkNumber(
    `create ${what}`,
    "value",
    value,
    "an integer >= 0",
    (n) => Number.isInteger(n) && n >= 0,
  );
}

/**
 * A counter of permits: `acquire()` takes one, waiting while there are
 * none; `release()` gives one back. Use it to bound concurrency — at most
 * `value` tasks inside at once. Waiters are served in FIFO order: a permit
 * is never taken from under a task that waited longer. asyncio:
 * `asyncio.Semaphore`.
 *
 * Scoped forms, for Python's `async with sem:`: `using _ = await
 * sem.hold()` and `await sem.withPermit(fn)`.
 *
 * A task cancelled after `release()` picked it (woken, not yet resumed)
 * gives the permit back, and the next waiter gets it.
 *
 * @example At most two downloads at a time
 * ```ts
 * import { createTask, run, Semaphore, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const slots = new Semaphore(2);
 *   let active = 0;
 *   let peak = 0;
 *   const download = async () => {
 *     using _ = await slots.hold(); // async with slots:
 *     peak = Math.max(peak, ++active);
 *     await sleep(100);
 *     active--;
 *   };
 *   const tasks = Array.from({ length: 5 }, () => createTask(download));
 *   for (const task of tasks) await task;
 *   assert.equal(peak, 2);
 * }, { clock: new VirtualClock() });
 * ```
 */
export class Semaphore {
  #value: number;
  #bound: number; // BoundedSemaphore's; release() refuses to pass it
  #waiters: WaiterList = new WaiterList("semaphore", {
    // Woken with a permit, then cancelled: give the permit back.
    onAbandon: () => {
      this.#value++;
    },
    describe: (): string => `${this.constructor.name}.acquire() on ${this}`,
    // As asyncio: waiters that queued behind one still on its way may go
    // now, as far as the permits reach.
    onLeave: () => {
      while (this.#value > 0 && this.#wakeNext());
    },
  });

  /**
   * Creates a semaphore.
   *
   * @param value The number of permits; 1 by default.
   * @throws {TypeError} If `value` is not a number.
   * @throws {RangeError} If `value` is negative or not an integer.
   */
  constructor(value?: number);
  // BoundedSemaphore passes its bound too: see withBound.
  constructor(value = 1, bound?: Bound) {
    this.#value = checkValue("semaphore", value);
    this.#bound = bound instanceof Bound ? bound.value : Infinity;
  }

  /**
   * Whether `acquire()` would wait: no permit is free, or earlier tasks
   * are still waiting for one. asyncio: `Semaphore.locked()`.
   *
   * @returns `true` if `acquire()` would wait.
   */
  locked(): boolean {
    return this.#value === 0 || this.#waiters.size > 0;
  }

  /**
   * Takes a permit, waiting in FIFO order while none is free. asyncio:
   * `Semaphore.acquire()`.
   *
   * @returns A promise resolving to `true` once a permit is held.
   * @throws {CancelledError} If the task is cancelled while waiting; it
   * then holds no permit.
   *
   * @example Taking and returning a permit
   * ```ts
   * import { run, Semaphore } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const sem = new Semaphore(1);
   *   await sem.acquire();
   *   assert.ok(sem.locked());
   *   sem.release();
   *   assert.ok(!sem.locked());
   * });
   * ```
   */
  acquire(): Promise<true> {
    if (!this.locked()) {
      this.#value--;
      return ACQUIRED;
    }
    // The waker takes the permit for this waiter; see #wakeNext.
    return this.#waiters.park(true);
  }

  /**
   * Gives a permit back, waking the longest-waiting task if any. A plain
   * `Semaphore` does not check that a permit was taken; use
   * `BoundedSemaphore` for that. asyncio: `Semaphore.release()`.
   *
   * @throws {InvalidStateError} From `BoundedSemaphore` only.
   *
   * @example Releasing raises the count
   * ```ts
   * import { run, Semaphore } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const sem = new Semaphore(0);
   *   assert.ok(sem.locked());
   *   sem.release();
   *   assert.equal(await sem.acquire(), true);
   * });
   * ```
   */
  release(): void {
    if (this.#value >= this.#bound) {
      throw new InvalidStateError(
        `Cannot release semaphore: released more times than acquired (value ${this.#bound})`,
      );
    }
    this.#value++;
    this.#wakeNext();
  }

  /**
   * Takes a permit for a `using` declaration, which gives it back when the
   * block exits in any way. Python: `async with sem:`.
   *
   * @returns A promise for a `Disposable` that releases the permit (once).
   * @throws {CancelledError} If the task is cancelled while waiting.
   *
   * @example `using` in place of `async with`
   * ```ts
   * import { run, Semaphore } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const sem = new Semaphore(1);
   *   {
   *     using _ = await sem.hold();
   *     assert.ok(sem.locked());
   *   }
   *   assert.ok(!sem.locked());
   * });
   * ```
   */
  hold(): Promise<Disposable> {
    const held = new ReleaseOnDispose(this);
    if (!this.locked()) {
      this.#value--;
      return Promise.resolve(held);
    }
    return this.#waiters.park(held);
  }

  /**
   * Runs `fn` holding a permit and gives it back however `fn` ends.
   * Python: `async with sem: return await fn()`.
   *
   * @typeParam R What `fn` returns.
   * @param fn The code to run.
   * @returns What `fn` returns.
   * @throws Whatever `fn` throws, after releasing the permit.
   * @throws {TypeError} If `fn` is not a function; no permit is taken.
   *
   * @example Bounding a callback
   * ```ts
   * import { run, Semaphore } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const sem = new Semaphore(3);
   *   assert.equal(await sem.withPermit(async () => "done"), "done");
   *   assert.ok(!sem.locked());
   * });
   * ```
   */
  async withPermit<R>(fn: () => R | PromiseLike<R>): Promise<R> {
    checkFunction("call withPermit", "fn", fn);
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** A description for logs, as asyncio's repr: `<Semaphore [unlocked, value:2]>`. */
  toString(): string {
    const waiters = this.#waiters.size;
    return `<${this.constructor.name} [${
      this.locked() ? "locked" : `unlocked, value:${this.#value}`
    }${waiters > 0 ? `, waiters:${waiters}` : ""}]>`;
  }

  /** Hands a permit to the longest-waiting task, if any. */
  #wakeNext(): boolean {
    if (this.#waiters.parked === 0) return false;
    this.#value--;
    this.#waiters.wake();
    return true;
  }
}

/**
 * A `Semaphore` that refuses to be released more times than it was
 * acquired, catching a bug that would silently raise the concurrency
 * limit. asyncio: `asyncio.BoundedSemaphore`.
 *
 * Over-release throws `InvalidStateError` (asyncio raises `ValueError`):
 * `release()` takes no argument, so nothing is out of range — the
 * semaphore is in a state that forbids the call, as `Lock.release()` on
 * an unlocked lock, and one `catch` handles both.
 *
 * @example Catching a double release
 * ```ts
 * import { BoundedSemaphore, InvalidStateError, run } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const sem = new BoundedSemaphore(1);
 *   await sem.acquire();
 *   sem.release();
 *   assert.throws(() => sem.release(), InvalidStateError);
 * });
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  /**
   * Creates a bounded semaphore.
   *
   * @param value The number of permits, and the most there can ever be;
   * 1 by default.
   * @throws {TypeError} If `value` is not a number.
   * @throws {RangeError} If `value` is negative or not an integer.
   */
  constructor(value = 1) {
    super(...withBound(value));
  }

  /**
   * Gives a permit back.
   *
   * @throws {InvalidStateError} If every permit is already free.
   */
  override release(): void {
    super.release(); // Semaphore's release() keeps to the bound
  }
}

/**
 * Semaphore's constructor arguments for BoundedSemaphore: `value`, and
 * the same as its bound, which the public signature leaves out (asyncio's
 * BoundedSemaphore reads `_value`; an argument needs no member).
 */
function withBound(value: number): [number] {
  return [value, new Bound(value)] as unknown as [number];
}

/** The bound, in a box only this module makes: a stray argument is not one. */
class Bound {
  constructor(readonly value: number) {}
}
