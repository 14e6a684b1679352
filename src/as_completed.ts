/**
 * `asCompleted`: iterate over the results of awaitables in the order they
 * finish, as asyncio's `asyncio.as_completed()`.
 *
 * @module
 */
import { checkOptions, checkTime } from "./_checks.ts";
import { describe } from "./_describe.ts";
import { isAwaitable, isCollection, toFutures } from "./_children.ts";
import { TimeoutError } from "./errors.ts";
import { setCallbackOwner } from "./_introspect.ts";
import { WaiterList } from "./_waiters.ts";
import type { AbstractEventLoop, Handle } from "./abstract_event_loop.ts";
import type { Future } from "./futures.ts";
import type { Awaitable } from "./tasks.ts";

/** Options for `asCompleted`. */
export interface AsCompletedOptions {
  /**
   * Milliseconds after which the iteration throws `TimeoutError` instead
   * of yielding the rest (which keep running); `null` or `undefined` (the
   * default) waits without limit.
   */
  timeout?: number | null;
}

/**
 * What `asCompleted` returns: iterate it with `for await` to get each
 * result as soon as it is ready (the first error ends the loop), or with
 * a plain `for` to get, in order, a promise for each next result (to
 * handle each error on its own).
 */
export interface AsCompleted<T> extends AsyncIterable<T> {
  /**
   * Promises for the results, in completion order: the first settles
   * with the first awaitable to finish, and so on.
   *
   * @returns An iterator of promises.
   */
  [Symbol.iterator](): Iterator<Promise<T>>;
}

/** The shared state of both iteration styles. */
class Completions<T> {
  #todo: Set<Future<T>>;
  #left: number;
  // Futures done and not yet handed out; `null` marks a timeout.
  #done: (Future<T> | null)[] = [];
  #head = 0;
  // Calls of next() waiting for the queue, first come first served. A
  // wake-up its task is cancelled before using goes to the next.
  #waiters: WaiterList = new WaiterList("asCompleted", {
    onAbandon: () => this.#wakeOne(),
    describe: () => `asCompleted: next of ${this.#todo.size} running`,
    awaits: () => this.#todo,
  });
  #timer: Handle | undefined = undefined;
  #onDone = (future: Future<T>): void => this.#completed(future);

  constructor(
    futures: Set<Future<T>>,
    loop: AbstractEventLoop,
    ms: number | null,
  ) {
    this.#todo = futures;
    this.#left = futures.size;
    // The awaiters of the futures still running: the tasks waiting for
    // their next result, if any.
    setCallbackOwner(this.#onDone, () => this.#waiters.waiters());
    for (const future of futures) future.addDoneCallback(this.#onDone);
    if (futures.size > 0 && ms !== null && ms !== Infinity) {
      this.#timer = loop.callLater(ms, () => this.#timedOut());
    }
  }

  /**
   * Claims one of the futures still to come; `false` once all are
   * claimed. Iterators claim as they hand out a next value, and wait for
   * it with `wait()`.
   */
  claim(): boolean {
    if (this.#left === 0) return false;
    this.#left--;
    return true;
  }

  /**
   * Waits for the next future to be done, or throws TimeoutError after a
   * timeout. Cancelling the awaiting task loses nothing: the claim is
   * given back and the next future stays queued for the next call. The
   * future comes wrapped: a promise resolved with a Future would adopt
   * its result instead.
   *
   * Waiters are served in order: a call does not take a future that a
   * woken waiter is on its way to take (as the semaphore's permits), so a
   * woken waiter always finds one.
   */
  async wait(): Promise<{ readonly future: Future<T> }> {
    while (this.#done.length - this.#head <= this.#waiters.woken) {
      try {
        await this.#waiters.park(undefined);
      } catch (error) {
        this.#left++;
        throw error;
      }
    }
    const future = this.#done[this.#head];
    this.#done[this.#head++] = null;
    if (this.#head === this.#done.length) {
      this.#done = [];
      this.#head = 0;
    }
    if (future === null) {
      throw new TimeoutError("Timed out: asCompleted timeout passed");
    }
    return { future };
  }

  /** Wakes the next waiter if a future is there for it. */
  #wakeOne(): void {
    if (this.#done.length - this.#head > this.#waiters.woken) {
      this.#waiters.wake();
    }
  }

  #push(item: Future<T> | null): void {
    this.#done.push(item);
    this.#wakeOne();
  }
  #completed(future: Future<T>): void {
    if (!this.#todo.delete(future)) return;
    this.#push(future);
    if (this.#todo.size === 0) {
      this.#timer?.cancel();
      this.#timer = undefined;
    }
  }

  #timedOut(): void {
    this.#timer = undefined;
    for (const future of this.#todo) {
      future.removeDoneCallback(this.#onDone);
      this.#push(null);
    }
    this.#todo.clear();
  }
}

/**
 * Runs awaitables concurrently and hands out their results in the order
 * they finish. asyncio: `asyncio.as_completed()`.
 *
 * `for await (const result of asCompleted(aws))` gives each result as it
 * arrives; an awaitable that fails throws its error there, which ends the
 * loop. `for (const next of asCompleted(aws))` gives a promise per
 * awaitable: whichever is awaited first settles with the first to
 * finish, and so on. `await next` inside a `try` to handle each error and
 * go on (asyncio's plain iteration). A function is started as its own Task, a promise wrapped in
 * a Future; the same Future or promise given twice counts once.
 *
 * Unlike asyncio 3.13's `async for`, which yields the finished Futures
 * themselves, `for await` yields results: JavaScript and TypeScript take
 * a thenable yielded by an async iterator for its value. To know which
 * task finished, let it return something that says so, or loop over
 * `wait(pending, { returnWhen: FIRST_COMPLETED })`.
 *
 * If `timeout` passes first, the next iteration throws `TimeoutError`.
 * Leaving the loop early (`break`, an error, a timeout) cancels nothing:
 * what has not finished keeps running (cancel it yourself if needed), and
 * iterating the same `asCompleted(...)` again goes on with the rest.
 *
 * @typeParam T The result type.
 * @param aws An iterable of Tasks, Futures, promises or functions.
 * @param options `timeout` in milliseconds.
 * @returns An async iterable of results, also iterable as promises.
 * @throws {TypeError} If `aws` is not an iterable of awaitables, or
 * `options` not an object.
 * @throws {RangeError} If `timeout` is NaN.
 *
 * @example Results as they arrive
 * ```ts
 * import { asCompleted, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const mirrors = [300, 100, 200].map((ms) => () =>
 *     sleep(ms, `mirror ${ms}`)
 *   );
 *   const order: string[] = [];
 *   for await (const answer of asCompleted(mirrors)) order.push(answer);
 *   assert.deepEqual(order, ["mirror 100", "mirror 200", "mirror 300"]);
 * }, { clock: new VirtualClock() });
 * ```
 *
 * @example Handling each failure, with a timeout
 * ```ts
 * import { asCompleted, run, sleep, TimeoutError } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * async function check(ms: number) {
 *   await sleep(ms);
 *   if (ms === 200) throw new Error(`check ${ms} failed`);
 *   return `check ${ms} passed`;
 * }
 *
 * await run(async () => {
 *   const log: string[] = [];
 *   const checks = [100, 200, 5000].map((ms) => () => check(ms));
 *   for (const next of asCompleted(checks, { timeout: 1000 })) {
 *     try {
 *       log.push(await next);
 *     } catch (error) {
 *       if (error instanceof TimeoutError) {
 *         log.push("gave up");
 *         break;
 *       }
 *       log.push((error as Error).message);
 *     }
 *   }
 *   assert.deepEqual(log, ["check 100 passed", "check 200 failed", "gave up"]);
 * }, { clock: new VirtualClock() });
 * ```
 */
export function asCompleted<T>(
  aws: Iterable<Awaitable<T>>,
  options?: AsCompletedOptions,
): AsCompleted<T> {
  if (isAwaitable(aws) || !isCollection(aws)) {
    throw new TypeError(
      `Cannot iterate as completed: expected an iterable of awaitables, got ${
        describe(aws)
      }`,
    );
  }
  checkOptions("iterate as completed", options);
  const ms = checkTime("iterate as completed", "timeout", options?.timeout);
  const { futures, loop } = toFutures("iterate as completed", aws);
  const completions = new Completions(
    new Set(futures) as Set<Future<T>>,
    loop,
    ms,
  );
  const nextResult = async (): Promise<T> => {
    const { future } = await completions.wait();
    return future.result();
  };
  // `break` (which calls `return()`) stops nothing: the same iterable can
  // be iterated again for the rest, as asyncio's iterator can.
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      return {
        async next(): Promise<IteratorResult<T>> {
          if (!completions.claim()) return { done: true, value: undefined };
          return { done: false, value: await nextResult() };
        },
      };
    },
    [Symbol.iterator](): Iterator<Promise<T>> {
      return {
        next(): IteratorResult<Promise<T>> {
          if (!completions.claim()) return { done: true, value: undefined };
          return { done: false, value: new NextCompletion(nextResult) };
        },
      };
    },
  };
}

/**
 * A promise for the next completion that starts waiting when it is first
 * awaited, so that whichever is awaited first gets the first to finish,
 * as asyncio's `_wait_for_one` coroutines do. Never awaited, it waits for
 * nothing and never rejects unhandled.
 */
class NextCompletion<T> implements Promise<T> {
  #start: () => Promise<T>;
  #promise: Promise<T> | undefined = undefined;

  constructor(start: () => Promise<T>) {
    this.#start = start;
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#started().then(onFulfilled, onRejected);
  }

  catch<R = never>(
    onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null,
  ): Promise<T | R> {
    return this.#started().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.#started().finally(onFinally);
  }

  get [Symbol.toStringTag](): string {
    return "NextCompletion";
  }

  #started(): Promise<T> {
    return this.#promise ??= this.#start();
  }
}
