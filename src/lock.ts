/**
 * `Lock`: mutual exclusion between tasks, as asyncio's `asyncio.Lock`.
 *
 * @module
 */
import { checkFunction } from "./_checks.ts";
import { InvalidStateError } from "./errors.ts";
import { ReleaseOnDispose, WaiterList } from "./_waiters.ts";
import { currentTaskStore } from "./_current.ts";
import { recording } from "./_introspect.ts";

const ACQUIRED: Promise<true> = Promise.resolve(true);

/**
 * A mutual-exclusion lock for tasks. `acquire()` takes it, waiting while
 * another task holds it; `release()` gives it to the task that has waited
 * longest (FIFO), so no task starves. A lock is not owned by a task: any
 * task may release it. asyncio: `asyncio.Lock`.
 *
 * Prefer a scoped form, which releases on every exit path — return, throw
 * or cancellation — where Python writes `async with lock:`:
 *
 * - `using _ = await lock.hold();` for the rest of the block, or
 * - `await lock.withLock(async () => { ... })` around a callback.
 *
 * Cancellation is safe at any moment: a task cancelled while waiting
 * leaves the queue; one cancelled just after `release()` picked it (woken,
 * not yet resumed) passes the lock on to the next waiter, or unlocks it.
 *
 * Unlike asyncio, `release()` hands the lock straight to the next waiter,
 * so `locked()` stays `true` until that task resumes with it (asyncio
 * reports `false` in between, though no other task can take it then).
 *
 * @example Serialising a critical section
 * ```ts
 * import { createTask, Lock, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * const log: string[] = [];
 * await run(async () => {
 *   const lock = new Lock();
 *   const worker = async (name: string) => {
 *     using _ = await lock.hold(); // async with lock:
 *     log.push(`${name} in`);
 *     await sleep(10);
 *     log.push(`${name} out`);
 *   };
 *   const a = createTask(() => worker("a"));
 *   const b = createTask(() => worker("b"));
 *   await a;
 *   await b;
 *   assert.ok(!lock.locked());
 * }, { clock: new VirtualClock() });
 * assert.deepEqual(log, ["a in", "a out", "b in", "b out"]);
 * ```
 */
export class Lock {
  #locked = false;
  // The task holding the lock, known while tasks are being recorded (debug
  // mode, a task dump): the task tree names it, and a lock-order deadlock
  // shows as an await cycle.
  #holder: object | undefined = undefined;
  #waiters: WaiterList = new WaiterList("lock", {
    // Woken (so handed the lock) but cancelled: pass it on.
    onAbandon: () => this.#handOff(),
    describe: (): string => `Lock.acquire() on ${this}${this.#heldBy()}`,
    blockedBy: () => this.#holder,
  });

  /**
   * Whether the lock is held (or already handed to a waiter that has not
   * resumed yet). asyncio: `Lock.locked()`.
   *
   * @returns `true` while held.
   */
  locked(): boolean {
    return this.#locked;
  }

  /**
   * Takes the lock, waiting in FIFO order while another task holds it.
   * Pair it with `release()` in a `finally`, or use `hold()`/`withLock()`.
   * asyncio: `Lock.acquire()`.
   *
   * @returns A promise resolving to `true` once the lock is held.
   * @throws {CancelledError} If the task is cancelled while waiting; the
   * lock is then not held by it.
   * @throws {InvalidStateError} If tasks of another event loop are
   * waiting for this lock.
   *
   * @example Acquire and release by hand
   * ```ts
   * import { Lock, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const lock = new Lock();
   *   await lock.acquire();
   *   try {
   *     assert.ok(lock.locked());
   *   } finally {
   *     lock.release();
   *   }
   *   assert.ok(!lock.locked());
   * });
   * ```
   */
  acquire(): Promise<true> {
    if (!this.#locked) {
      this.#locked = true;
      if (recording) this.#holder = currentTaskStore.getStore();
      return ACQUIRED;
    }
    // release() hands the lock over: once woken, this waiter holds it.
    return this.#waiters.park(true);
  }

  /**
   * Releases the lock: the longest-waiting task gets it, or it becomes
   * free. asyncio: `Lock.release()`.
   *
   * @throws {InvalidStateError} If the lock is not held (asyncio raises
   * `RuntimeError`).
   *
   * @example Releasing twice is an error
   * ```ts
   * import { InvalidStateError, Lock, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const lock = new Lock();
   *   await lock.acquire();
   *   lock.release();
   *   assert.throws(() => lock.release(), InvalidStateError);
   * });
   * ```
   */
  release(): void {
    if (!this.#locked) {
      throw new InvalidStateError("Cannot release lock: lock is not acquired");
    }
    this.#handOff();
  }

  /**
   * Acquires the lock for a `using` declaration, which releases it when
   * the block exits in any way. Python: `async with lock:`.
   *
   * @returns A promise for a `Disposable` that releases the lock (once).
   * @throws {CancelledError} If the task is cancelled while waiting.
   *
   * @example `using` in place of `async with`
   * ```ts
   * import { Lock, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const lock = new Lock();
   *   {
   *     using _ = await lock.hold();
   *     assert.ok(lock.locked());
   *   }
   *   assert.ok(!lock.locked());
   * });
   * ```
   */
  hold(): Promise<Disposable> {
    const held = new ReleaseOnDispose(this);
    if (!this.#locked) {
      this.#locked = true;
      if (recording) this.#holder = currentTaskStore.getStore();
      return Promise.resolve(held);
    }
    return this.#waiters.park(held);
  }

  /**
   * Runs `fn` while holding the lock and releases it however `fn` ends.
   * Python: `async with lock: return await fn()`.
   *
   * @typeParam R What `fn` returns.
   * @param fn The critical section.
   * @returns What `fn` returns.
   * @throws Whatever `fn` throws, after releasing the lock.
   * @throws {CancelledError} If the task is cancelled while waiting.
   * @throws {TypeError} If `fn` is not a function; the lock is not taken.
   *
   * @example A callback-scoped critical section
   * ```ts
   * import { Lock, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const lock = new Lock();
   *   const value = await lock.withLock(async () => {
   *     assert.ok(lock.locked());
   *     return 42;
   *   });
   *   assert.equal(value, 42);
   *   assert.ok(!lock.locked());
   * });
   * ```
   */
  async withLock<R>(fn: () => R | PromiseLike<R>): Promise<R> {
    checkFunction("call withLock", "fn", fn);
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** A description for logs, as asyncio's repr: `<Lock [locked, waiters:1]>`. */
  toString(): string {
    const waiters = this.#waiters.size;
    return `<Lock [${this.#locked ? "locked" : "unlocked"}${
      waiters > 0 ? `, waiters:${waiters}` : ""
    }]>`;
  }

  #handOff(): void {
    this.#holder = recording ? this.#waiters.headTask() : undefined;
    if (!this.#waiters.wake()) this.#locked = false;
  }

  #heldBy(): string {
    const holder = this.#holder as { getName?: () => string } | undefined;
    if (holder === undefined || typeof holder.getName !== "function") return "";
    return ` held by '${holder.getName()}'`;
  }
}
