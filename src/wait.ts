/**
 * `wait` and `waitFor`: wait for a set of awaitables until a condition or
 * a timeout, and wait for one with a deadline, as asyncio's `wait()` and
 * `wait_for()`.
 *
 * @module
 */
import { checkOptions, checkTime } from "./_checks.ts";
import { describe, repr } from "./_describe.ts";
import { isAwaitable, toFutures } from "./_children.ts";
import { CancelledError, InvalidStateError, TimeoutError } from "./errors.ts";
import {
  AWAITS,
  DESCRIBE,
  formatDuration,
  setCallbackOwner,
} from "./_introspect.ts";
import {
  type AbstractEventLoop,
  getRunningLoop,
  type TimerHandle,
} from "./abstract_event_loop.ts";
import { Future } from "./futures.ts";
import { type Awaitable, currentTask, ensureFuture } from "./tasks.ts";
import { timeout } from "./timeouts.ts";

/** `wait` returns when any awaitable finishes or is cancelled. */
export const FIRST_COMPLETED = "FIRST_COMPLETED";
/**
 * `wait` returns when any awaitable fails with an error (not a
 * cancellation), or else when all are done.
 */
export const FIRST_EXCEPTION = "FIRST_EXCEPTION";
/** `wait` returns when every awaitable is done (the default). */
export const ALL_COMPLETED = "ALL_COMPLETED";

/** When `wait` returns: `FIRST_COMPLETED`, `FIRST_EXCEPTION` or `ALL_COMPLETED`. */
export type ReturnWhen =
  | typeof FIRST_COMPLETED
  | typeof FIRST_EXCEPTION
  | typeof ALL_COMPLETED;

/** Options for `wait`. */
export interface WaitOptions {
  /** When to return; `ALL_COMPLETED` by default. */
  returnWhen?: ReturnWhen;
  /**
   * Return after this many milliseconds even if the condition is not met;
   * `null` or `undefined` (the default) waits without limit.
   */
  timeout?: number | null;
}

function release(waiter: Future<void>): void {
  if (!waiter.done()) waiter.setResult();
}

/** The future a `wait()` call awaits until its condition is met. */
class WaitFuture extends Future<void> {
  timer: TimerHandle | undefined = undefined;

  constructor(
    loop: AbstractEventLoop,
    readonly futures: ReadonlySet<Future<unknown>>,
    readonly returnWhen: ReturnWhen,
  ) {
    super({ loop });
  }

  /** For the task tree: `wait(3, FIRST_COMPLETED; 1 done), timeout in 2.0 s`. */
  [DESCRIBE](now: number): string {
    let done = 0;
    for (const future of this.futures) if (future.done()) done++;
    const timer = this.timer;
    const deadline = timer === undefined || timer.cancelled()
      ? ""
      : `, timeout in ${formatDuration(timer.when() - now)}`;
    return `wait(${this.futures.size}, ${this.returnWhen}; ${done} done)${deadline}`;
  }

  [AWAITS](): Iterable<object> {
    return this.futures;
  }
}

/**
 * Waits for awaitables until `returnWhen` is met or `timeout` passes, and
 * resolves to `[done, pending]`: two Sets of Futures. It never throws the
 * awaitables' errors and never cancels them — a timeout just returns what
 * is still pending. asyncio: `asyncio.wait()`.
 *
 * Tasks and Futures come back as themselves. A promise is wrapped in a
 * Future and a function started as a Task, so to find them in the Sets,
 * pass Tasks (asyncio 3.11+ refuses coroutines here for that reason).
 *
 * @typeParam T The result type.
 * @param aws A non-empty iterable of Tasks, Futures, promises or functions.
 * @param options `returnWhen` and `timeout` (milliseconds).
 * @returns `[done, pending]`.
 * @throws {TypeError} If `aws` is not an iterable of awaitables,
 * `options` not an object, or `returnWhen` not a string.
 * @throws {RangeError} If `aws` is empty, `returnWhen` is unknown or
 * `timeout` is NaN.
 * @throws {CancelledError} If the awaiting task is cancelled; the
 * awaitables keep running.
 *
 * @example The first of several answers
 * ```ts
 * import {
 *   createTask,
 *   FIRST_COMPLETED,
 *   run,
 *   sleep,
 *   wait,
 * } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const mirrors = [300, 100, 200].map((ms) =>
 *     createTask(() => sleep(ms, `mirror answered in ${ms} ms`))
 *   );
 *   const [done, pending] = await wait(mirrors, {
 *     returnWhen: FIRST_COMPLETED,
 *   });
 *   assert.deepEqual([...done].map((t) => t.result()), [
 *     "mirror answered in 100 ms",
 *   ]);
 *   for (const task of pending) task.cancel();
 * }, { clock: new VirtualClock() });
 * ```
 */
export function wait<F extends Future<unknown>>(
  aws: Iterable<F>,
  options?: WaitOptions,
): Promise<[Set<F>, Set<F>]>;
/** Waits for promises and functions too; see the first signature. @returns `[done, pending]`. */
export function wait<T>(
  aws: Iterable<Awaitable<T>>,
  options?: WaitOptions,
): Promise<[Set<Future<T>>, Set<Future<T>>]>;
export async function wait<T>(
  aws: Iterable<Awaitable<T>>,
  options?: WaitOptions,
): Promise<[Set<Future<T>>, Set<Future<T>>]> {
  if (isAwaitable(aws) || !isIterable(aws)) {
    throw new TypeError(
      `Cannot wait: expected an iterable of awaitables, got ${describe(aws)}`,
    );
  }
  checkOptions("wait", options);
  const returnWhen = options?.returnWhen ?? ALL_COMPLETED;
  if (
    returnWhen !== ALL_COMPLETED && returnWhen !== FIRST_COMPLETED &&
    returnWhen !== FIRST_EXCEPTION
  ) {
    // A string that is none of them is out of range; anything else is
    // the wrong type.
    const ErrorClass = typeof returnWhen === "string" ? RangeError : TypeError;
    throw new ErrorClass(
      `Cannot wait: expected returnWhen as FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${
        repr(returnWhen)
      }`,
    );
  }
  const ms = checkTime("wait", "timeout", options?.timeout);
  const items = [...aws];
  if (items.length === 0) {
    throw new RangeError("Cannot wait: no awaitables given");
  }
  const loop = getRunningLoop();
  const futures = new Set(toFutures("wait", items).futures) as Set<Future<T>>;

  const waiter = new WaitFuture(
    loop,
    futures as Set<Future<unknown>>,
    returnWhen,
  );
  let counter = futures.size;
  const onDone = (future: Future<T>): void => {
    counter--;
    if (
      counter <= 0 || returnWhen === FIRST_COMPLETED ||
      (returnWhen === FIRST_EXCEPTION && failed(future as Future<unknown>))
    ) {
      release(waiter);
    }
  };
  setCallbackOwner(onDone, waiter);
  for (const future of futures) {
    if (future.done()) onDone(future);
    else future.addDoneCallback(onDone);
  }
  const timer = ms === null || ms === Infinity || waiter.done()
    ? undefined
    : loop.callLater(ms, release, waiter);
  waiter.timer = timer;
  try {
    // Even when already satisfied this takes one loop iteration, and is a
    // point where the awaiting task can be cancelled, as in asyncio.
    await waiter;
  } finally {
    timer?.cancel();
    for (const future of futures) future.removeDoneCallback(onDone);
  }
  const done = new Set<Future<T>>();
  const pending = new Set<Future<T>>();
  for (const future of futures) (future.done() ? done : pending).add(future);
  return [done, pending];
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return value !== null && typeof value === "object" &&
    typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}

function failed(future: Future<unknown>): boolean {
  if (future.cancelled()) return false;
  try {
    future.result();
    return false;
  } catch {
    return true;
  }
}

/**
 * Waits for one awaitable with a deadline: its result if it finishes in
 * `ms` milliseconds; otherwise it is cancelled, `waitFor` waits until it
 * has actually finished (so its cleanup has run), then throws
 * `TimeoutError`. If the awaitable swallows the cancellation and returns a
 * value, that value is returned, as in asyncio 3.12+. Cancelling the task
 * that awaits `waitFor` cancels the awaitable too; to keep it running,
 * pass `shield(task)`. asyncio: `asyncio.wait_for()`.
 *
 * A function runs in the awaiting task, as asyncio 3.12+ runs a
 * coroutine: its body starts at once, and the deadline cancels the awaits
 * inside it, so a `queue.get()` or `lock.acquire()` cut by the deadline
 * takes nothing with it. A promise is wrapped in a Future, and since a
 * promise cannot be stopped, only the wait for it is cut short.
 *
 * @typeParam T The result type.
 * @param aw A Task, Future, promise or function.
 * @param ms Milliseconds; `null` or `undefined` waits without limit; 0 or
 * less cancels `aw` at once unless it is already done (a function then
 * never starts).
 * @returns The result of `aw`.
 * @throws {TimeoutError} If the deadline passed first.
 * @throws {InvalidStateError} If called outside a task.
 * @throws {TypeError} If `aw` is not awaitable or `ms` not a number.
 * @throws {RangeError} If `ms` is NaN.
 *
 * @example A request with a deadline
 * ```ts
 * import { run, sleep, TimeoutError, waitFor } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(await waitFor(() => sleep(50, "quick"), 100), "quick");
 *   await assert.rejects(waitFor(() => sleep(500, "slow"), 100), TimeoutError);
 * }, { clock: new VirtualClock() });
 * ```
 */
export async function waitFor<T>(
  aw: Awaitable<T>,
  ms?: number | null,
): Promise<T> {
  if (!isAwaitable(aw)) {
    throw new TypeError(
      `Cannot wait for: expected a Future, Task, promise or function, got ${
        describe(aw)
      }`,
    );
  }
  const delay = checkTime("wait for", "ms", ms);
  if (delay !== null && delay <= 0) {
    const future = ensureFuture(aw);
    if (future.done()) return future.result();
    await cancelAndWait(future as Future<unknown>);
    try {
      return future.result();
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error;
      const timeoutError = new TimeoutError(
        `Timed out: waitFor was given ${delay} ms`,
      );
      timeoutError.cause = error;
      throw timeoutError;
    }
  }
  if (currentTask() === undefined) {
    throw new InvalidStateError(
      "Cannot wait for: not inside a task; call it from a coroutine run by run() or createTask()",
    );
  }
  if (typeof aw === "function") return await timeout(delay, () => aw());
  const future = ensureFuture(aw);
  return await timeout(delay, () => future);
}

/** Cancels `future` and waits until it is done, without awaiting it directly. */
async function cancelAndWait(future: Future<unknown>): Promise<void> {
  const waiter = getRunningLoop().createFuture<void>();
  const onDone = (): void => release(waiter);
  future.addDoneCallback(onDone);
  try {
    future.cancel();
    // Awaiting `future` itself would let our own cancellation cancel it
    // again; the waiter keeps this wait cancellable on its own.
    await waiter;
  } finally {
    future.removeDoneCallback(onDone);
  }
}
