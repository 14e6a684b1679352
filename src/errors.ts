/**
 * The error classes every layer may throw. This module imports nothing, so
 * futures, tasks, locks, queues and the I/O adapters can all depend on it.
 *
 * @module
 */

/**
 * Thrown at the await of a task that was cancelled, and by `result()` of a
 * cancelled Future. asyncio: `asyncio.CancelledError`.
 *
 * A coroutine may catch it to clean up; it should normally re-throw it.
 *
 * @example Cleaning up when cancelled
 * ```ts
 * import { CancelledError, createTask, run, sleep } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const task = createTask(async () => {
 *     try {
 *       await sleep(60_000);
 *     } catch (error) {
 *       assert.ok(error instanceof CancelledError);
 *       throw error; // re-throw after cleaning up
 *     }
 *   });
 *   await sleep(1);
 *   task.cancel("stop");
 *   await assert.rejects(task, CancelledError);
 * });
 * ```
 */
export class CancelledError extends Error {
  /**
   * Creates a CancelledError.
   *
   * @param message The message passed to `cancel(msg)`, if any.
   */
  constructor(message?: string) {
    super(message ?? "");
    this.name = "CancelledError";
  }
}

/**
 * Thrown when a deadline passes: by `waitFor`, `timeout` and `timeoutAt`.
 * asyncio: `TimeoutError`.
 *
 * @example Catching a timeout
 * ```ts
 * import { TimeoutError } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const error = new TimeoutError("Timed out after 5 ms");
 * assert.ok(error instanceof TimeoutError);
 * ```
 */
export class TimeoutError extends Error {
  /**
   * Creates a TimeoutError.
   *
   * @param message What timed out.
   */
  constructor(message?: string) {
    super(message ?? "");
    this.name = "TimeoutError";
  }
}

/**
 * Thrown when an operation is not allowed in the object's current state: a
 * Future's `result()` before it is done, `setResult` on a done Future, using
 * a closed or already running event loop. asyncio raises
 * `asyncio.InvalidStateError` for futures and `RuntimeError` for the loop;
 * JavaScript has no `RuntimeError`, so both are this class.
 *
 * @example Asking for a result too early
 * ```ts
 * import { InvalidStateError, newEventLoop } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const loop = newEventLoop();
 * const future = loop.createFuture<number>();
 * assert.throws(() => future.result(), InvalidStateError);
 * loop.close();
 * ```
 */
export class InvalidStateError extends Error {
  /**
   * Creates an InvalidStateError.
   *
   * @param message What was not allowed, and why.
   */
  constructor(message?: string) {
    super(message ?? "");
    this.name = "InvalidStateError";
  }
}

/**
 * Thrown by `getNowait()` on an empty queue. asyncio: `asyncio.QueueEmpty`.
 *
 * @example Polling a queue
 * ```ts
 * import { QueueEmpty } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * assert.ok(new QueueEmpty() instanceof Error);
 * ```
 */
export class QueueEmpty extends Error {
  /**
   * Creates a QueueEmpty error.
   *
   * @param message Details.
   */
  constructor(message = "Cannot get item: queue is empty") {
    super(message);
    this.name = "QueueEmpty";
  }
}

/**
 * Thrown by `putNowait()` on a full queue. asyncio: `asyncio.QueueFull`.
 *
 * @example A bounded queue refusing an item
 * ```ts
 * import { QueueFull } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * assert.ok(new QueueFull() instanceof Error);
 * ```
 */
export class QueueFull extends Error {
  /**
   * Creates a QueueFull error.
   *
   * @param message Details.
   */
  constructor(message = "Cannot put item: queue is full") {
    super(message);
    this.name = "QueueFull";
  }
}

/**
 * Thrown by `put` and `get` on a queue that was shut down. asyncio 3.13:
 * `asyncio.QueueShutDown`.
 *
 * @example Recognising a shut-down queue
 * ```ts
 * import { QueueShutDown } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * assert.ok(new QueueShutDown() instanceof Error);
 * ```
 */
export class QueueShutDown extends Error {
  /**
   * Creates a QueueShutDown error.
   *
   * @param message Details.
   */
  constructor(message = "Queue is shut down") {
    super(message);
    this.name = "QueueShutDown";
  }
}

/**
 * Thrown by `Barrier.wait()` when the barrier is broken or reset while
 * tasks wait. asyncio: `asyncio.BrokenBarrierError`.
 *
 * @example Recognising a broken barrier
 * ```ts
 * import { BrokenBarrierError } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * assert.ok(new BrokenBarrierError() instanceof Error);
 * ```
 */
export class BrokenBarrierError extends Error {
  /**
   * Creates a BrokenBarrierError.
   *
   * @param message Details.
   */
  constructor(message = "Barrier is broken") {
    super(message);
    this.name = "BrokenBarrierError";
  }
}

/**
 * Thrown by `Runner.run()` when Ctrl-C (SIGINT) cancelled the main task
 * and it ended cancelled. `run()` handles it as Python's interpreter does:
 * after the cleanup it exits the process with status 130. asyncio:
 * `KeyboardInterrupt`.
 *
 * @example Telling an interrupt apart
 * ```ts
 * import { KeyboardInterrupt } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const error = new KeyboardInterrupt();
 * assert.equal(error.name, "KeyboardInterrupt");
 * ```
 */
export class KeyboardInterrupt extends Error {
  /**
   * Creates a KeyboardInterrupt.
   *
   * @param message Details.
   */
  constructor(message = "Interrupted by SIGINT") {
    super(message);
    this.name = "KeyboardInterrupt";
  }
}

/**
 * Thrown by `taskGroup` (and a `TaskGroup` ended by `await using`) when
 * tasks of the group failed: `errors` holds every error, in the order they
 * happened — the tasks' and the body's own. asyncio raises an
 * `ExceptionGroup`; this is JavaScript's `AggregateError` for it.
 *
 * @example Reading every error of a group
 * ```ts
 * import { run, sleep, taskGroup, TaskGroupError } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const error = await taskGroup(async (group) => {
 *     group.createTask(async () => {
 *       await sleep(10);
 *       throw new RangeError("first");
 *     });
 *     group.createTask(async () => {
 *       try {
 *         await sleep(1000);
 *       } catch {
 *         throw new TypeError("second, while cancelled");
 *       }
 *     });
 *   }).catch((e) => e);
 *   assert.ok(error instanceof TaskGroupError);
 *   assert.ok(error instanceof AggregateError);
 *   assert.deepEqual(error.errors.map((e) => e.message), [
 *     "first",
 *     "second, while cancelled",
 *   ]);
 * }, { clock: new VirtualClock() });
 * ```
 */
export class TaskGroupError extends AggregateError {
  /**
   * Creates a TaskGroupError.
   *
   * @param errors The errors, in the order they happened.
   * @param message Details; by default how many errors there are.
   */
  constructor(errors: Iterable<unknown>, message?: string) {
    const list = [...errors];
    super(
      list,
      message ??
        `Unhandled errors in a TaskGroup (${list.length} sub-error${
          list.length === 1 ? "" : "s"
        })`,
    );
    this.name = "TaskGroupError";
  }
}

/**
 * Thrown by `StreamReader.readExactly()` and `readUntil()` when the stream
 * ends first: `partial` holds the bytes read before the end, `expected` the
 * count asked for (`null` when reading up to a separator). asyncio:
 * `asyncio.IncompleteReadError` (an `EOFError` there; JavaScript has no
 * such class).
 *
 * @example Catching an early end of stream
 * ```ts
 * import { IncompleteReadError, run, StreamReader } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const reader = new StreamReader();
 *   reader.feedData("abc");
 *   reader.feedEof();
 *   const error = await reader.readExactly(5).catch((e) => e);
 *   assert.ok(error instanceof IncompleteReadError);
 *   assert.equal(new TextDecoder().decode(error.partial), "abc");
 *   assert.equal(error.expected, 5);
 * });
 * ```
 */
export class IncompleteReadError extends Error {
  /** The bytes read before the stream ended. */
  readonly partial: Uint8Array;
  /** How many bytes were expected; `null` when reading up to a separator. */
  readonly expected: number | null;

  /**
   * Creates an IncompleteReadError.
   *
   * @param partial The bytes read before the stream ended.
   * @param expected How many bytes were expected, or `null` if unknown.
   */
  constructor(partial: Uint8Array, expected: number | null) {
    // asyncio's wording; with no count to expect (a separator that never
    // came), only what was read.
    super(
      expected === null
        ? `${partial.length} bytes read before the end of the stream`
        : `${partial.length} bytes read on a total of ${expected} expected bytes`,
    );
    this.name = "IncompleteReadError";
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * Thrown by `StreamReader.readUntil()` and `readLine()` when the separator
 * is not found within the reader's `limit`, or is found past it:
 * `consumed` is how many bytes would have to be consumed. After
 * `readUntil`, the data stays in the buffer; after `readLine`, the
 * over-long line is dropped, so the reader stays usable. asyncio:
 * `asyncio.LimitOverrunError` (its `readline()` wraps it in a
 * `ValueError`; here `readLine()` throws it as is).
 *
 * @example A line longer than the limit
 * ```ts
 * import { LimitOverrunError, run, StreamReader } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const reader = new StreamReader({ limit: 4 });
 *   reader.feedData("far too long\nok\n");
 *   await assert.rejects(reader.readLine(), LimitOverrunError);
 *   assert.equal(new TextDecoder().decode(await reader.readLine()), "ok\n");
 * });
 * ```
 */
export class LimitOverrunError extends Error {
  /** How many bytes the read would have consumed. */
  readonly consumed: number;

  /**
   * Creates a LimitOverrunError.
   *
   * @param message What overran.
   * @param consumed How many bytes the read would have consumed.
   */
  constructor(message: string, consumed: number) {
    super(message);
    this.name = "LimitOverrunError";
    this.consumed = consumed;
  }
}
