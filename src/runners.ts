/**
 * `run` and `Runner`: the usual entry point, as asyncio's `runners.py`.
 *
 * @module
 */
import { EventLoop } from "./base_events.ts";
import { checkBoolean, checkClock, checkOptions } from "./_checks.ts";
import { describe } from "./_describe.ts";
import type { Clock } from "./clock.ts";
import {
  canListenForSignals,
  exitProcess,
  listenForSignal,
} from "./_signals.ts";
import {
  CancelledError,
  InvalidStateError,
  KeyboardInterrupt,
} from "./errors.ts";
import { findRunningLoop } from "./_loops.ts";
import { type CoroutineFunction, setEventLoop } from "./abstract_event_loop.ts";
import type { Future } from "./futures.ts";
import { ensureFuture, type Task } from "./tasks.ts";

/** Options for `run` and `new Runner()`. */
export interface RunOptions {
  /** Debug mode for the loop. */
  debug?: boolean;
  /** The loop's clock: a `VirtualClock` in tests. */
  clock?: Clock;
  /**
   * Turn Ctrl-C (SIGINT) into cancellation of the main task, as asyncio's
   * Runner does; a second Ctrl-C exits at once with status 130. On by
   * default where the runtime has signals.
   */
  handleSigint?: boolean;
}

/**
 * Runs coroutine functions on one loop, then cleans up: `close()` cancels
 * the tasks still pending, waits for their cleanup, and closes the loop.
 * Use it for several `run`s on the same loop. asyncio: `asyncio.Runner`.
 *
 * @example Two runs on one loop
 * ```ts
 * import { Runner, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await using runner = new Runner({ clock: new VirtualClock() });
 * assert.equal(await runner.run(() => sleep(1000, "one")), "one");
 * assert.equal(await runner.run(() => sleep(1000, "two")), "two");
 * assert.equal(runner.getLoop().time(), 2000);
 * ```
 */
export class Runner {
  #options: RunOptions;
  #loop: EventLoop | undefined = undefined;
  #closed = false;
  #running = false;

  /**
   * Creates a runner; its loop is made on first use.
   *
   * @param options Debug mode and clock.
   * @throws {TypeError} If `options` is not an object, `clock` not a
   * `Clock`, or `debug` or `handleSigint` not a boolean.
   */
  constructor(options?: RunOptions) {
    // Checked here, not when the loop is made on first use.
    checkOptions("create runner", options);
    checkClock("create runner", options?.clock);
    checkBoolean("create runner", "debug", options?.debug);
    checkBoolean("create runner", "handleSigint", options?.handleSigint);
    this.#options = { ...options };
  }

  /**
   * The runner's loop, created on first call.
   *
   * @returns The loop.
   * @throws {InvalidStateError} If the runner is closed.
   */
  getLoop(): EventLoop {
    if (this.#closed) {
      throw new InvalidStateError("Cannot get loop: runner is closed");
    }
    if (this.#loop === undefined) {
      this.#loop = new EventLoop(this.#options);
      setEventLoop(this.#loop);
    }
    return this.#loop;
  }

  /**
   * Runs `main` as a task on the runner's loop and returns its result.
   *
   * @typeParam T The result type.
   * @param main A coroutine function (or an awaitable, for asyncio's
   * `run_until_complete` style).
   * @returns The result of `main`.
   * @throws Whatever `main` throws.
   * @throws {TypeError} If `main` is neither a function nor awaitable.
   * @throws {InvalidStateError} If called from a running loop.
   */
  async run<T>(
    main: CoroutineFunction<T> | Future<T> | PromiseLike<T>,
  ): Promise<T> {
    if (findRunningLoop() !== undefined || this.#running) {
      throw new InvalidStateError(
        "Cannot call run() from a running event loop: await the coroutine instead",
      );
    }
    if (
      typeof main !== "function" &&
      (main === null || typeof main !== "object" || !("then" in main))
    ) {
      throw new TypeError(
        `Cannot run: expected main as a coroutine function, got ${
          describe(main)
        }`,
      );
    }
    const loop = this.getLoop();
    this.#running = true;
    const task = ensureFuture(
      typeof main === "function" ? () => main() : main,
      { loop },
    );
    let interrupts = 0;
    const stopListening = this.#options.handleSigint !== false &&
        canListenForSignals()
      ? listenForSignal("SIGINT", () => {
        interrupts++;
        if (interrupts === 1 && !task.done()) task.cancel();
        else exitProcess(130);
      })
      : undefined;
    try {
      return await loop.runUntilComplete(task);
    } catch (error) {
      // Interrupted and the main task let the cancellation through.
      if (
        error instanceof CancelledError && interrupts > 0 &&
        (!("uncancel" in task) || (task as Task<T>).uncancel() === 0)
      ) {
        throw new KeyboardInterrupt();
      }
      throw error;
    } finally {
      stopListening?.();
      this.#running = false;
    }
  }

  /**
   * Cancels the tasks still pending, waits for them to finish, reports
   * the errors they raised, and closes the loop.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const loop = this.#loop;
    if (loop === undefined) return;
    try {
      await cancelAllTasks(loop);
      await loop.runUntilComplete(() => loop.shutdownDefaultExecutor());
    } finally {
      loop.close(); // and no longer the current loop
    }
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

async function cancelAllTasks(loop: EventLoop): Promise<void> {
  const tasks = [...loop._tasks()].filter((task) => !task.done());
  if (tasks.length === 0) return;
  for (const task of tasks) task.cancel();
  const allDone = loop.createFuture<void>();
  let remaining = tasks.length;
  const onDone = (): void => {
    if (--remaining === 0) allDone.setResult();
  };
  for (const task of tasks) task.addDoneCallback(onDone);
  await loop.runUntilComplete(allDone);
  for (const task of tasks as Task<unknown>[]) {
    if (task.cancelled()) continue;
    const exception = task.exception();
    if (exception !== undefined) {
      loop.callExceptionHandler({
        message: "Unhandled exception during run() shutdown",
        exception,
        future: task,
      });
    }
  }
}

/**
 * Runs `main` as a task on a new loop, then cancels the tasks still
 * pending, waits for their cleanup, and closes the loop. asyncio:
 * `asyncio.run()`.
 *
 * Ctrl-C (SIGINT) cancels `main`, so its cleanup code runs; if `main` ends
 * cancelled, `run` closes the loop and exits the process with status 130,
 * as Python does on an uncaught KeyboardInterrupt (use `Runner`, which
 * throws `KeyboardInterrupt` instead, to handle it yourself).
 *
 * @typeParam T The result type.
 * @param main A coroutine function: `run(main)`, not `run(main())`.
 * @param options Debug mode and clock.
 * @returns The result of `main`.
 * @throws Whatever `main` throws.
 * @throws {TypeError} If `main` is not a function (an already started
 * promise, say) or an option has the wrong type.
 * @throws {InvalidStateError} If called from a running loop.
 *
 * @example Hello, world
 * ```ts
 * import { run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 *
 * await run(async () => {
 *   console.log("Hello");
 *   await sleep(1000);
 *   console.log("World");
 * }, { clock: new VirtualClock() });
 * ```
 */
export async function run<T>(
  main: CoroutineFunction<T>,
  options?: RunOptions,
): Promise<T> {
  if (typeof main !== "function") {
    const started = main !== null && typeof main === "object" &&
      "then" in (main as object);
    throw new TypeError(
      started
        ? "Cannot run: expected main as a coroutine function, got a promise that has " +
          "already started; pass the function instead, e.g. run(main) " +
          "rather than run(main())"
        : `Cannot run: expected main as a coroutine function, got ${
          describe(main)
        }`,
    );
  }
  const runner = new Runner(options);
  try {
    return await runner.run(main);
  } catch (error) {
    if (error instanceof KeyboardInterrupt) {
      // As Python's interpreter ends on an uncaught KeyboardInterrupt: the
      // cleanup has run (below), then the conventional status for SIGINT.
      await runner.close();
      console.error("KeyboardInterrupt");
      exitProcess(130);
    }
    throw error;
  } finally {
    await runner.close();
  }
}
