/**
 * The event loop's interface, as asyncio's `events.py`: `Handle`,
 * `TimerHandle`, the `AbstractEventLoop` contract that futures, tasks and
 * locks program against, and the functions that find the running loop.
 * The concrete `EventLoop` sits above futures and tasks and registers
 * itself in `_loops.ts`, which keeps the state these functions read.
 *
 * @module
 */
import { repr } from "./_describe.ts";
import {
  currentOrNewLoop,
  findRunningLoop,
  setCurrentLoop,
  setHandleRunner,
} from "./_loops.ts";
import { InvalidStateError } from "./errors.ts";
import type { Future } from "./futures.ts";
import type { Signal } from "./_signals.ts";
import type { WorkerExecutor } from "./executor.ts";
import type { Awaitable, Task, TaskOptions } from "./tasks.ts";

/** A context passed to an exception handler, as asyncio's context dict. */
export interface ExceptionContext {
  /** What happened, in words. */
  message: string;
  /** The error, when there is one. */
  exception?: unknown;
  /** The Future or Task concerned. */
  future?: Future<unknown>;
  /** The Handle whose callback threw. */
  handle?: Handle;
  /** Anything else worth reporting. */
  [key: string]: unknown;
}

/** A loop's exception handler: `(loop, context) => void`. */
export type ExceptionHandler = (
  loop: AbstractEventLoop,
  context: ExceptionContext,
) => void;

/** What `createTask` accepts: a function that returns a promise. */
export type CoroutineFunction<T> = () => PromiseLike<T> | T;

/** A loop's task factory, as asyncio's `loop.set_task_factory`. */
export type TaskFactory = <T>(
  loop: AbstractEventLoop,
  fn: CoroutineFunction<T>,
  options: TaskOptions,
) => Task<T>;

/**
 * The contract of an event loop that futures, tasks, locks and queues rely
 * on. `EventLoop` implements it.
 */
export interface AbstractEventLoop {
  /** The loop's monotonic time in milliseconds. */
  time(): number;
  /** Schedules `callback(...args)` on the next iteration, FIFO. */
  callSoon<A extends unknown[]>(
    callback: (...args: A) => void,
    ...args: A
  ): Handle;
  /** Schedules `callback(...args)` after `delay` ms. */
  callLater<A extends unknown[]>(
    delay: number,
    callback: (...args: A) => void,
    ...args: A
  ): TimerHandle;
  /** Schedules `callback(...args)` at loop time `when`. */
  callAt<A extends unknown[]>(
    when: number,
    callback: (...args: A) => void,
    ...args: A
  ): TimerHandle;
  /** `callSoon(callback, arg)` without a Handle to return: for futures and tasks. */
  _callSoonWith<A>(callback: (arg: A) => void, arg: A): void;
  /** Creates a Future bound to this loop. */
  createFuture<T>(): Future<T>;
  /** Wraps `fn` in a Task scheduled on this loop. */
  createTask<T>(fn: CoroutineFunction<T>, options?: TaskOptions): Task<T>;
  /** Runs the loop until `stop()`; settles when it stops. */
  runForever(): Promise<void>;
  /** Runs the loop until `awaitable` is done; resolves to its result. */
  runUntilComplete<T>(awaitable: Awaitable<T>): Promise<T>;
  /** Stops the loop after the current iteration. */
  stop(): void;
  /** Closes the loop; it cannot run again. */
  close(): void;
  /** Whether the loop is running. */
  isRunning(): boolean;
  /** Whether the loop was closed. */
  isClosed(): boolean;
  /** Reports an error to the loop's exception handler. */
  callExceptionHandler(context: ExceptionContext): void;
  /** Runs a module's exported function in a Web Worker of `executor`. */
  runInExecutor<T = unknown>(
    executor: WorkerExecutor | undefined,
    module: string | URL,
    name: string,
    ...args: unknown[]
  ): Future<T>;
  /** Shuts down the default executor's workers. */
  shutdownDefaultExecutor(): Promise<void>;
  /** Calls `callback(...args)` on the loop whenever `signal` arrives. */
  addSignalHandler<A extends unknown[]>(
    signal: Signal,
    callback: (...args: A) => void,
    ...args: A
  ): void;
  /** Stops handling `signal`; returns whether a handler was removed. */
  removeSignalHandler(signal: Signal): boolean;
  /** Sets the handler for errors nobody caught. */
  setExceptionHandler(handler: ExceptionHandler | undefined): void;
  /** The handler set with `setExceptionHandler`. */
  getExceptionHandler(): ExceptionHandler | undefined;
  /** The default handler: prints to stderr. */
  defaultExceptionHandler(context: ExceptionContext): void;
  /** Turns debug mode on or off. */
  setDebug(enabled: boolean): void;
  /** Whether debug mode is on. */
  getDebug(): boolean;
  /** Sets the factory `createTask` uses. */
  setTaskFactory(factory: TaskFactory | undefined): void;
  /** The task factory, if set. */
  getTaskFactory(): TaskFactory | undefined;
  /** Tracks a future whose exception nobody retrieved yet. */
  _trackUnretrieved(future: Future<unknown>, context: ExceptionContext): void;
  /** Stops tracking it: the exception was retrieved. */
  _untrackUnretrieved(future: Future<unknown>): void;
  /** A future resolved once every task is blocked and nothing is ready. */
  _whenIdle(): Future<void>;
  /** An operation that finishes without a peer's help started: it holds a virtual clock. */
  _ioStarted(): void;
  /** That operation finished. */
  _ioFinished(): void;
  /** Registers a task in `allTasks()`. */
  _registerTask(task: Task<unknown>): void;
  /** Removes a task that is done. */
  _unregisterTask(task: Task<unknown>): void;
  /** Every task of this loop that is not done. */
  _tasks(): Iterable<Task<unknown>>;
}

/** Any callback a Handle can hold; the loop's methods keep the arguments typed. */
// deno-lint-ignore no-explicit-any
type AnyCallback = (...args: any[]) => void;

/**
 * A callback scheduled with `callSoon`; `cancel()` keeps it from running.
 * asyncio: `asyncio.Handle`.
 *
 * @example Cancelling a scheduled callback
 * ```ts
 * import { newEventLoop } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const loop = newEventLoop();
 * const calls: string[] = [];
 * const handle = loop.callSoon(() => calls.push("never"));
 * handle.cancel();
 * loop.callSoon(() => loop.stop());
 * await loop.runForever();
 * loop.close();
 * assert.ok(handle.cancelled());
 * assert.deepEqual(calls, []);
 * ```
 */
export class Handle {
  #callback: AnyCallback | null;
  // The arguments; `undefined` when the loop scheduled a one-argument
  // callback itself, which then gets `#arg` (saves an array per wake-up).
  #args: unknown[] | undefined;
  #arg: unknown;
  #cancelled = false;

  /**
   * Creates a handle; loops create them, users get them from `callSoon`.
   *
   * @param callback The function to call.
   * @param args Its arguments.
   * @param arg With `args` undefined: the one argument.
   */
  constructor(
    callback: AnyCallback,
    args: unknown[] | undefined,
    arg?: unknown,
  ) {
    this.#callback = callback;
    this.#args = args;
    this.#arg = arg;
  }

  /** Keeps the callback from running, if it has not run yet. */
  cancel(): void {
    this.#cancelled = true;
    this.#callback = null;
    this.#args = undefined;
    this.#arg = undefined;
  }

  /**
   * Whether `cancel()` was called.
   *
   * @returns `true` after `cancel()`.
   */
  cancelled(): boolean {
    return this.#cancelled;
  }

  /**
   * A description for logs, as asyncio's repr: the class, the deadline of
   * a timer, and the callback by name with its arguments, such as
   * `<TimerHandle when=1500 retry("db", 3)>`, or `<Handle cancelled>`.
   * The slow-callback warning and the default exception handler print it.
   *
   * @returns The description.
   */
  toString(): string {
    const info = [this.constructor.name];
    if (this.#cancelled) info.push("cancelled");
    if (this instanceof TimerHandle) info.push(`when=${this.when()}`);
    const callback = this.#callback;
    if (callback !== null) {
      // The arguments as a short list, without its brackets.
      const args = repr(this.#args ?? [this.#arg], 2).slice(1, -1);
      info.push(`${repr(callback)}(${args})`);
    }
    return `<${info.join(" ")}>`;
  }

  /** Runs the callback unless it was cancelled: the loop's `runHandle`. */
  static #run(handle: Handle): void {
    const callback = handle.#callback;
    if (callback === null) return;
    const args = handle.#args;
    if (args === undefined) callback(handle.#arg);
    else if (args.length === 0) callback();
    else callback(...args);
  }

  static {
    setHandleRunner(Handle.#run);
  }
}

/**
 * A callback scheduled with `callLater` or `callAt`. asyncio:
 * `asyncio.TimerHandle`.
 *
 * @example Reading a timer's deadline
 * ```ts
 * import { newEventLoop } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const loop = newEventLoop();
 * const deadline = loop.time() + 1000;
 * const timer = loop.callAt(deadline, () => {});
 * assert.equal(timer.when(), deadline);
 * timer.cancel();
 * loop.close();
 * ```
 */
export class TimerHandle extends Handle {
  #when: number;
  #onCancel: ((timer: TimerHandle) => void) | undefined;

  /**
   * Creates a timer handle; loops create them.
   *
   * @param when The loop time to run at.
   * @param callback The function to call.
   * @param args Its arguments.
   * @param onCancel Tells the loop a timer was cancelled.
   */
  constructor(
    when: number,
    callback: AnyCallback,
    args: unknown[],
    onCancel?: (timer: TimerHandle) => void,
  ) {
    super(callback, args);
    this.#when = when;
    this.#onCancel = onCancel;
  }

  /**
   * The loop time at which the callback runs. asyncio: `TimerHandle.when()`.
   *
   * @returns A time on the loop's clock, in milliseconds.
   */
  when(): number {
    return this.#when;
  }

  /** Keeps the callback from running and frees its place in the loop. */
  override cancel(): void {
    if (!this.cancelled()) {
      super.cancel();
      this.#onCancel?.(this);
      this.#onCancel = undefined;
    }
  }
}

/**
 * Returns the running event loop. asyncio: `asyncio.get_running_loop()`.
 *
 * Inside a task or a loop callback this is that task's or callback's loop;
 * elsewhere it is the one loop that is running.
 *
 * @returns The running loop.
 * @throws {InvalidStateError} When no loop is running.
 *
 * @example Inside `run`
 * ```ts
 * import { getRunningLoop, run } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.ok(getRunningLoop().isRunning());
 * });
 * ```
 */
export function getRunningLoop(): AbstractEventLoop {
  const loop = findRunningLoop();
  if (loop === undefined) {
    throw new InvalidStateError(
      "No running event loop: call this from code that run(main) runs, " +
        "e.g. await run(async () => { createTask(work); })",
    );
  }
  return loop;
}

/**
 * Returns the running loop; outside one, the loop set with `setEventLoop`,
 * creating and setting a new one if there is none (as asyncio does in a
 * fresh program), or if the current one was closed or `run()` ended (a
 * deliberate difference: asyncio 3.12+ raises there). After
 * `setEventLoop(undefined)` it throws, as asyncio 3.13. asyncio:
 * `asyncio.get_event_loop()`.
 *
 * @returns An event loop.
 * @throws {InvalidStateError} Outside a running loop, after
 * `setEventLoop(undefined)`.
 *
 * @example Driving a loop by hand
 * ```ts
 * import { getEventLoop, sleep } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const loop = getEventLoop();
 * assert.equal(await loop.runUntilComplete(sleep(1, "done")), "done");
 * loop.close();
 * ```
 */
export function getEventLoop(): AbstractEventLoop {
  return findRunningLoop() ?? currentOrNewLoop();
}

/**
 * Sets the loop `getEventLoop` returns outside a running loop.
 * asyncio: `asyncio.set_event_loop()`.
 *
 * @param loop The loop, or `undefined` to clear it: then `getEventLoop()`
 * outside a running loop throws until a loop is set again.
 *
 * @example Making a loop current
 * ```ts
 * import { getEventLoop, newEventLoop, setEventLoop } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const loop = newEventLoop();
 * setEventLoop(loop);
 * assert.equal(getEventLoop(), loop);
 * loop.close();
 * ```
 */
export function setEventLoop(loop: AbstractEventLoop | undefined): void {
  setCurrentLoop(loop);
}
