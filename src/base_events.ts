/**
 * `EventLoop`: the concrete event loop, as asyncio's `base_events.py`. It
 * owns a FIFO ready queue and a timer heap behind a single host timer, runs
 * on a `Clock` (real or virtual), and yields to the host's own event loop
 * at least every millisecond of work so that Deno's I/O and timers run.
 *
 * How the loop runs — read this before changing `#drive`, `#idle` or
 * `#wake`. The loop lives inside the host's event loop: `runForever()`
 * starts `#drive()`, one async function on the host's microtask queue,
 * and the host gets a turn only where the driver awaits a macrotask
 * (`hostYield()`, `#idle()`). Nothing blocks.
 *
 * One iteration of `#drive` (asyncio's `_run_once`):
 * 1. Due timers (by one `clock.now()` reading) move to the back of the
 *    ready queue, earliest first, ties in the order scheduled; cancelled
 *    ones are dropped.
 * 2. The entries ready at that moment run, in order; what they schedule
 *    waits for the next iteration, so an iteration always ends. An entry is
 *    a (callback, argument) pair (`_ready_queue.ts`): a user's Handle as
 *    (`runHandle` from `_loops.ts`, handle), skipped without a turn once
 *    cancelled, or one of the loop's own wake-ups, which has no Handle. A
 *    callback that throws goes to the exception handler and the loop goes
 *    on.
 * 3. After each callback, the step of the task it woke runs in place,
 *    before the next callback, as CPython runs `Task.__step` inline:
 *    waking a task sets `resumingTask` (`_current.ts`), its code continues
 *    in microtasks, and the driver passes microtask turns until the task's
 *    next loop await (`Future.then`) or its end clears it. After
 *    MAX_STEP_TURNS turns (a step awaiting a plain promise) the driver
 *    gives up; the rest of that step runs among later callbacks.
 * 4. `stop()` ends the loop at the end of an iteration: the one running,
 *    or the next one if it came while the loop was idle (asyncio's too).
 * 5. If nothing is ready, up to four microtask turns let woken code
 *    schedule something; if still nothing is ready and no timer is due,
 *    the loop idles.
 *
 * Yielding to the host. Every 64 callbacks and every 8th iteration the
 * driver reads the real time (`performance.now()`, even on a virtual
 * clock); once more than SLICE_MS (1 ms) has passed since the host last
 * had a turn, it yields one macrotask (`setImmediate`, or a MessageChannel
 * message), so that Deno's I/O callbacks and timers run.
 *
 * Idling (`#idle`). The driver sets `#wakeup` and awaits it. Whatever
 * gives the loop work calls `#wake()`: `callSoon` and the loop's own
 * wake-ups, a new timer, `stop()`, the clock moving (`Clock.subscribe`),
 * the last I/O finishing on a virtual clock, and the host timers below.
 * - `waitAllTasksBlocked()`'s waiters (`_whenIdle`) come first: they are
 *   released once a whole host macrotask passed with nothing scheduled,
 *   and the clock does not jump in that wait.
 * - A real clock keeps one host `setTimeout` for the earliest deadline,
 *   armed across wake-ups and replaced only by an earlier deadline, so a
 *   loop that idles often does not set and clear a host timer each time.
 *   One that fires early (its timer cancelled, or a deadline past the
 *   host's longest delay) wakes a loop that finds nothing and re-arms.
 * - A virtual clock jumps (`#jump`) to the earliest live deadline, never
 *   to Infinity, after one host macrotask (`autojumpThreshold` 0) or after
 *   `autojumpThreshold` real ms of unbroken idleness (a wake clears that
 *   host timer; with Infinity only `advance()` moves time). It never
 *   jumps while I/O is in flight: adapters call `_ioStarted()` when an
 *   operation that finishes without a peer begins (connect, write, file
 *   I/O, an executor job) and `_ioFinished()` when it settles or is given
 *   up, and the last one wakes the idle loop to try again. A read waiting
 *   for a peer holds nothing. A real clock ignores the count.
 *
 * `close()` (refused while running) drops pending callbacks and timers
 * unrun, removes signal handlers (they keep the process alive), reports
 * every exception nobody retrieved, forgets the tasks (debug mode reports
 * one collected while pending), and makes scheduling throw
 * InvalidStateError. It cancels no task and leaves the executor alone:
 * `run()` does both before it closes the loop.
 *
 * What must stay true:
 * - Order: ready entries run first in, first out; timers by deadline, ties
 *   in the order scheduled, after the entries ready before they came due;
 *   a woken task's step ends (within MAX_STEP_TURNS) before the next
 *   callback. Tests and code ported from asyncio rely on it.
 * - No lost wake-up: deciding to idle (nothing ready, no timer due) and
 *   setting `#wakeup` happen in one synchronous stretch, and whatever adds
 *   work calls `#wake()` while `#wakeup` is set. A new source of work must
 *   do the same.
 * - No starvation: an iteration runs only what was ready at its start,
 *   every iteration collects due timers, and once the slice has passed the
 *   host gets a macrotask within 64 callbacks or 8 iterations.
 * - Virtual time moves only while the loop is idle with no I/O in flight,
 *   and exactly to the next deadline, so a test on it is deterministic.
 *
 * @module
 */
import { resumingTask, setResumingTask } from "./_current.ts";
import {
  checkBoolean,
  checkClock,
  checkFunction,
  checkNumber,
  checkOptions,
} from "./_checks.ts";
import { describe, repr } from "./_describe.ts";
import { debugFromEnvironment } from "./_env.ts";
import { ReadyQueue } from "./_ready_queue.ts";
import { creationFrames, formatSite, requestTracing } from "./_introspect.ts";
import { describeTaskAwait } from "./_awaits.ts";
import { TimerHeap } from "./_heap.ts";
import { checkSignalName, listenForSignal, type Signal } from "./_signals.ts";
import {
  defaultExecutor,
  shutdownDefaultExecutor,
  type WorkerExecutor,
} from "./executor.ts";
import { type Clock, RealClock } from "./clock.ts";
import { InvalidStateError } from "./errors.ts";
import {
  clearCurrentLoop,
  findRunningLoop,
  runHandle,
  setExecuting,
  setLoopFactory,
  setRunning,
} from "./_loops.ts";
import {
  type AbstractEventLoop,
  type CoroutineFunction,
  type ExceptionContext,
  type ExceptionHandler,
  Handle,
  type TaskFactory,
  TimerHandle,
} from "./abstract_event_loop.ts";
import { Future } from "./futures.ts";
import {
  type Awaitable,
  ensureFuture,
  Task,
  type TaskOptions,
} from "./tasks.ts";

export type { Signal } from "./_signals.ts";

/** Options for `newEventLoop` and `new EventLoop()`. */
export interface EventLoopOptions {
  /** Where the loop reads time; a `RealClock` by default. */
  clock?: Clock;
  /**
   * Debug mode: records where tasks and futures are created and where
   * tasks await, warns about slow callbacks and task steps, and reports
   * tasks collected while pending. Off by default, unless the
   * `AIO_ASYNCIO_DEBUG` environment variable is set (and readable).
   */
  debug?: boolean;
}

// Shared by every handle scheduled without arguments, so a long-lived timer
// does not keep an empty array alive of its own.
const NO_ARGS: never[] = [];
/**
 * Microtask turns a resumed task's step may take before the next callback:
 * a step that awaits a plain promise would otherwise hold the loop until
 * the promise settles.
 */
const MAX_STEP_TURNS = 64;
/**
 * Awaited to let one microtask turn pass: a settled native promise takes
 * the same single turn as `await null` without wrapping a new one.
 */
const MICROTASK_TURN: Promise<void> = Promise.resolve();
/** Yield to the host after this much real time of uninterrupted work. */
const SLICE_MS = 1;
/**
 * The longest delay a host timer takes: `setTimeout` clamps a longer one
 * to 1 ms (with a `TimeoutOverflowWarning`), so a far deadline is reached
 * in steps of this, as std's `async/delay.ts` does.
 */
const MAX_HOST_DELAY = 2 ** 31 - 1;
/** Drop cancelled timers from the heap once they are this share of it. */
const CANCELLED_TIMERS_SHARE = 0.5;
const MIN_TIMERS_TO_CLEAN = 100;

// Host primitives that yield a macrotask; captured at import because fake
// timer libraries replace setTimeout but leave these alone, and the loop
// must keep yielding while time is faked.
const hostSetImmediate: ((callback: () => void) => unknown) | undefined =
  (globalThis as { setImmediate?: (callback: () => void) => unknown })
    .setImmediate;
let messageChannel: MessageChannel | undefined;
const channelCallbacks: (() => void)[] = [];

function yieldToHost(callback: () => void): void {
  if (hostSetImmediate !== undefined) {
    hostSetImmediate(callback);
    return;
  }
  if (messageChannel === undefined) {
    messageChannel = new MessageChannel();
    messageChannel.port1.onmessage = () => channelCallbacks.shift()?.();
  }
  channelCallbacks.push(callback);
  messageChannel.port2.postMessage(null);
}

/** `yieldToHost` as a promise, for the driver to await. */
function hostYield(): Promise<void> {
  return new Promise((resolve) => yieldToHost(resolve));
}

interface UnretrievedRecord {
  readonly future: WeakRef<Future<unknown>>;
  readonly context: ExceptionContext;
}

/**
 * The Handle of a ready-queue entry, for reports: a user's Handle itself,
 * or one made on demand for the loop's own wake-ups, which have none.
 */
function asHandle(callback: (arg: unknown) => void, arg: unknown): Handle {
  return callback === runHandle
    ? arg as Handle
    : new Handle(callback, undefined, arg);
}

function formatError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? String(error);
  return String(error);
}

/**
 * An asyncio event loop. Most programs never touch it: `run(main)` makes
 * one, runs `main` as a task and closes it. Use it directly to schedule
 * callbacks, to run a loop by hand, or to give it a virtual clock.
 * asyncio: `asyncio.AbstractEventLoop` / `BaseEventLoop`.
 *
 * Unlike asyncio, `runForever` and `runUntilComplete` return promises: a
 * JavaScript thread cannot block, so the loop runs inside the host's.
 *
 * @example Scheduling callbacks in order
 * ```ts
 * import { EventLoop } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const loop = new EventLoop();
 * const calls: string[] = [];
 * loop.callLater(20, () => { calls.push("later"); loop.stop(); });
 * loop.callSoon(() => calls.push("soon"));
 * await loop.runForever();
 * loop.close();
 * assert.deepEqual(calls, ["soon", "later"]);
 * ```
 */
export class EventLoop implements AbstractEventLoop {
  #clock: Clock;
  #ready = new ReadyQueue(1024);
  #timers = new TimerHeap<TimerHandle>();
  #cancelledTimers = 0;
  #running = false;
  #stopping = false;
  #closed = false;
  #debug: boolean;
  // This loop's debug mode holds a request for call-site tracing.
  #tracing = false;
  #exceptionHandler: ExceptionHandler | undefined = undefined;
  #taskFactory: TaskFactory | undefined = undefined;
  // Every task not known to be done. Done tasks leave in batches: a Set's
  // add and delete cost more per task than the rest of spawning one.
  #tasks: Task<unknown>[] = [];
  #doneTasks = 0;
  // Failed futures whose exception nobody retrieved yet: reported when the
  // future is collected, or at the latest by close().
  #unretrieved = new Set<UnretrievedRecord>();
  #unretrievedRecords = new WeakMap<Future<unknown>, UnretrievedRecord>();
  #registry = new FinalizationRegistry<UnretrievedRecord>((record) =>
    this.#reportLost(record)
  );
  // While idle: wakes the driver. Undefined while the driver is busy.
  #wakeup: (() => void) | undefined = undefined;
  // Clears the host timer a virtual clock's idle loop armed to jump.
  #hostTimer: (() => void) | undefined = undefined;
  // The host timer for the next timer's deadline on a real clock: it
  // stays armed across wake-ups while no earlier deadline comes, so a busy
  // loop that idles often does not set and clear a host timer each time.
  #deadlineTimer: (() => void) | undefined = undefined;
  #deadlineAt = Infinity;
  #idleWaiters: Future<void>[] = [];
  // Per signal, the function that stops listening for it.
  #signalHandlers = new Map<Signal, () => void>();
  #ioInFlight = 0;
  #onTimerCancel = (): void => this.#timerCancelled();
  #ownLoopOptions: TaskOptions = { loop: this };
  #slowCallbackDuration = 100;
  // Debug mode: the callback being timed, when it began, the task it woke.
  // The entry being timed, made a Handle only if it turns out slow.
  #slowCallback: ((arg: unknown) => void) | undefined = undefined;
  #slowArg: unknown = undefined;
  #slowStart = 0;
  #slowStep: object | undefined = undefined;

  /**
   * Creates a loop; `newEventLoop()` is the same.
   *
   * @param options Clock and debug mode.
   * @throws {TypeError} If `options` is not an object, `clock` not a
   * `Clock` or `debug` not a boolean.
   */
  constructor(options?: EventLoopOptions) {
    checkLoopOptions("create event loop", options);
    this.#clock = options?.clock ?? new RealClock();
    this.#debug = options?.debug ?? debugFromEnvironment();
    this.#traceIfDebug();
  }

  /**
   * The loop's monotonic time in milliseconds. asyncio: `loop.time()` (in
   * seconds there).
   *
   * @returns The time.
   */
  time(): number {
    return this.#clock.now();
  }

  /**
   * Schedules `callback(...args)` for the next iteration; callbacks run in
   * the order scheduled. asyncio: `loop.call_soon()`.
   *
   * @param callback The function.
   * @param args Its arguments.
   * @returns A Handle to cancel it.
   * @throws {InvalidStateError} If the loop is closed.
   */
  callSoon<A extends unknown[]>(
    callback: (...args: A) => void,
    ...args: A
  ): Handle {
    if (this.#closed) throw closedError("callSoon");
    checkCallback("callSoon", callback);
    const handle = new Handle(callback, args.length === 0 ? NO_ARGS : args);
    this.#ready.push(runHandle, handle);
    if (this.#wakeup !== undefined) this.#wake();
    return handle;
  }

  /** @internal */
  _callSoonWith<A>(callback: (arg: A) => void, arg: A): void {
    if (this.#closed) throw closedError("callSoon");
    this.#ready.push(callback, arg);
    if (this.#wakeup !== undefined) this.#wake();
  }

  /**
   * Schedules `callback(...args)` after `delay` milliseconds; callbacks due
   * at the same time run in the order scheduled. asyncio:
   * `loop.call_later()`.
   *
   * @param delay Milliseconds from now; 0 or less means the next iteration.
   * @param callback The function.
   * @param args Its arguments.
   * @returns A TimerHandle to cancel it.
   * @throws {TypeError} If `delay` is not a number.
   * @throws {RangeError} If `delay` is NaN.
   * @throws {InvalidStateError} If the loop is closed.
   */
  callLater<A extends unknown[]>(
    delay: number,
    callback: (...args: A) => void,
    ...args: A
  ): TimerHandle {
    checkMilliseconds("callLater", "delay", delay);
    return this.#scheduleAt("callLater", this.time() + delay, callback, args);
  }

  /**
   * Schedules `callback(...args)` at loop time `when`. asyncio:
   * `loop.call_at()`.
   *
   * @param when A time from `loop.time()`.
   * @param callback The function.
   * @param args Its arguments.
   * @returns A TimerHandle to cancel it.
   * @throws {TypeError} If `when` is not a number.
   * @throws {RangeError} If `when` is NaN.
   * @throws {InvalidStateError} If the loop is closed.
   */
  callAt<A extends unknown[]>(
    when: number,
    callback: (...args: A) => void,
    ...args: A
  ): TimerHandle {
    checkMilliseconds("callAt", "when", when);
    return this.#scheduleAt("callAt", when, callback, args);
  }

  /** `callLater` and `callAt` after their own argument check. */
  #scheduleAt<A extends unknown[]>(
    method: string,
    when: number,
    callback: (...args: A) => void,
    args: A,
  ): TimerHandle {
    if (this.#closed) throw closedError(method);
    checkCallback(method, callback);
    const timer = new TimerHandle(
      when,
      callback,
      args.length === 0 ? NO_ARGS : args,
      this.#onTimerCancel,
    );
    this.#timers.push(when, timer);
    if (this.#wakeup !== undefined) this.#wake();
    return timer;
  }

  /**
   * Creates a Future bound to this loop. asyncio: `loop.create_future()`.
   *
   * @typeParam T The result type.
   * @returns A pending Future.
   */
  createFuture<T>(): Future<T> {
    return new Future<T>({ loop: this });
  }

  /**
   * Wraps a coroutine function in a Task on this loop, through the task
   * factory if one is set. asyncio: `loop.create_task()`.
   *
   * @typeParam T The result type.
   * @param fn A function returning a promise.
   * @param options Name and eagerness.
   * @returns The task.
   * @throws {TypeError} If `fn` is not a function, `options` not an
   * object, or the task factory returns something else than a Task.
   * @throws {InvalidStateError} If the loop is closed.
   */
  createTask<T>(fn: CoroutineFunction<T>, options?: TaskOptions): Task<T> {
    if (this.#closed) throw closedError("createTask");
    let taskOptions = this.#ownLoopOptions;
    if (options !== undefined) {
      checkOptions("create task", options);
      taskOptions = { ...options, loop: this };
    }
    const factory = this.#taskFactory;
    if (factory === undefined) return new Task(fn, taskOptions);
    const task = factory(this, fn, taskOptions);
    if (!(task instanceof Task)) {
      throw new TypeError(
        `Cannot create task: expected the task factory ${
          repr(factory)
        } to return a Task, got ${describe(task)}`,
      );
    }
    // A factory may not pass the name on; asyncio 3.13 sets it after.
    if (options?.name !== undefined) task.setName(options.name);
    return task;
  }

  /**
   * Sets the factory `createTask` uses, or `undefined` for the default.
   * asyncio: `loop.set_task_factory()`.
   *
   * @param factory `(loop, fn, options) => Task`.
   */
  setTaskFactory(factory: TaskFactory | undefined): void {
    if (factory !== undefined) {
      checkFunction("call setTaskFactory", "factory", factory);
    }
    this.#taskFactory = factory;
  }

  /**
   * The task factory, if one is set. asyncio: `loop.get_task_factory()`.
   *
   * @returns The factory or `undefined`.
   */
  getTaskFactory(): TaskFactory | undefined {
    return this.#taskFactory;
  }

  /**
   * Runs the loop until `stop()` is called. asyncio: `loop.run_forever()`.
   *
   * @returns A promise that settles when the loop stops.
   * @throws {InvalidStateError} If the loop is closed or already running.
   */
  runForever(): Promise<void> {
    const refusal = this.#cannotRun("runForever");
    if (refusal !== undefined) return Promise.reject(refusal);
    this.#running = true;
    setRunning(this, true);
    const unsubscribe = this.#clock.subscribe?.(() => {
      if (this.#wakeup !== undefined) this.#wake();
    });
    return this.#drive().finally(() => {
      this.#clearDeadline();
      unsubscribe?.();
      this.#running = false;
      this.#stopping = false;
      setRunning(this, false);
    });
  }

  /**
   * Runs the loop until `awaitable` is done, and returns its result. A
   * function is run as a Task; a promise is wrapped in a Future. asyncio:
   * `loop.run_until_complete()`.
   *
   * @typeParam T The result type.
   * @param awaitable A Future, Task, promise or coroutine function.
   * @returns Its result.
   * @throws Whatever `awaitable` throws.
   * @throws {InvalidStateError} If the loop stops before it is done.
   */
  async runUntilComplete<T>(awaitable: Awaitable<T>): Promise<T> {
    // Checked before the awaitable becomes a task of a loop that won't run.
    const refusal = this.#cannotRun("runUntilComplete");
    if (refusal !== undefined) throw refusal;
    const future = ensureFuture(awaitable, { loop: this });
    const stop = (): void => this.stop();
    future.addDoneCallback(stop);
    try {
      await this.runForever();
    } finally {
      future.removeDoneCallback(stop);
    }
    if (!future.done()) {
      throw new InvalidStateError(
        "Cannot get result: event loop stopped before the future completed",
      );
    }
    return future.result();
  }

  /**
   * Why the loop cannot start running now, if it cannot (asyncio's
   * `_check_closed` and `_check_running`): it is closed, already running,
   * or another loop runs. One loop at a time keeps the running loop (of
   * `sleep()`, `createTask()`, `new Future()`) unambiguous.
   */
  #cannotRun(method: string): InvalidStateError | undefined {
    if (this.#closed) return closedError(method);
    if (this.#running) {
      return new InvalidStateError("Cannot run loop: it is already running");
    }
    const other = findRunningLoop();
    if (other !== undefined && other !== this) {
      return new InvalidStateError(
        "Cannot run loop: another event loop is running; await its work " +
          "there, or run this loop once the other has stopped",
      );
    }
    return undefined;
  }

  /**
   * Stops the loop after the current iteration. asyncio: `loop.stop()`.
   */
  stop(): void {
    this.#stopping = true;
    if (this.#wakeup !== undefined) this.#wake();
  }

  /**
   * Whether the loop is running. asyncio: `loop.is_running()`.
   *
   * @returns `true` while running.
   */
  isRunning(): boolean {
    return this.#running;
  }

  /**
   * Whether the loop was closed. asyncio: `loop.is_closed()`.
   *
   * @returns `true` after `close()`.
   */
  isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the loop: pending callbacks are dropped and every exception
   * that nobody retrieved is reported. asyncio: `loop.close()`.
   *
   * @throws {InvalidStateError} If the loop is running.
   */
  close(): void {
    if (this.#running) {
      throw new InvalidStateError("Cannot close loop: it is running");
    }
    if (this.#closed) return;
    this.#closed = true;
    for (const signal of [...this.#signalHandlers.keys()]) {
      this.removeSignalHandler(signal);
    }
    this.#ready.clear();
    this.#timers.clear();
    // In debug mode a task still pending is reported once it is collected
    // ("Task was destroyed but it is pending!").
    this.#tasks = [];
    this.#traceIfDebug();
    for (const record of [...this.#unretrieved]) this.#reportLost(record);
    clearCurrentLoop(this);
  }

  /**
   * Runs `module`'s export `name` with `args` in a Web Worker of
   * `executor` (the loop's default pool when `undefined`). asyncio:
   * `loop.run_in_executor(executor, func, *args)`; a function cannot cross
   * to a worker, so it is named by module URL and export.
   *
   * @typeParam T The function's result type.
   * @param executor A `WorkerExecutor`, or `undefined` for the default one.
   * @param module The module's absolute URL (a `data:` URL works too).
   * @param name The exported function's name.
   * @param args Its arguments, structured-cloned.
   * @returns A Future of the result; cancelling it ends the job.
   * @throws {InvalidStateError} If the executor is shut down.
   */
  runInExecutor<T = unknown>(
    executor: WorkerExecutor | undefined,
    module: string | URL,
    name: string,
    ...args: unknown[]
  ): Future<T> {
    if (this.#closed) throw closedError("runInExecutor");
    return (executor ?? defaultExecutor(this)).submit<T>(
      module,
      name,
      args,
      this,
    );
  }

  /**
   * Shuts down the default executor's workers, waiting for their jobs.
   * `run()` calls it on the way out. asyncio:
   * `loop.shutdown_default_executor()`.
   *
   * @returns A promise that settles once the workers are gone.
   */
  shutdownDefaultExecutor(): Promise<void> {
    return shutdownDefaultExecutor(this);
  }

  /**
   * Calls `callback(...args)` on the loop whenever `signal` arrives,
   * replacing the handler that signal had. asyncio:
   * `loop.add_signal_handler()`. Listening keeps the process alive until
   * the handler is removed or the loop closes.
   *
   * @param signal A signal name, such as `"SIGTERM"` or `"SIGHUP"`.
   * @param callback Called through `callSoon` when the signal arrives.
   * @param args Its arguments.
   * @throws {TypeError} If `signal` is unknown or cannot be caught
   * (SIGKILL, SIGSTOP), or `callback` is not a function.
   * @throws {TypeError} Where the runtime has no `Deno.addSignalListener` (Node, Bun).
   * @throws {InvalidStateError} If the loop is closed.
   */
  addSignalHandler<A extends unknown[]>(
    signal: Signal,
    callback: (...args: A) => void,
    ...args: A
  ): void {
    if (this.#closed) throw closedError("addSignalHandler");
    checkCallback("addSignalHandler", callback);
    const stop = listenForSignal(signal, () => {
      if (!this.#closed) this.callSoon(callback, ...args);
    });
    this.removeSignalHandler(signal);
    this.#signalHandlers.set(signal, stop);
  }

  /**
   * Stops handling `signal`. asyncio: `loop.remove_signal_handler()`.
   *
   * @param signal The signal name.
   * @returns Whether a handler was removed.
   */
  removeSignalHandler(signal: Signal): boolean {
    checkSignalName("remove signal handler", signal);
    const stop = this.#signalHandlers.get(signal);
    if (stop === undefined) return false;
    this.#signalHandlers.delete(signal);
    stop();
    return true;
  }

  /**
   * Sets the handler for errors nobody caught, or `undefined` for the
   * default. asyncio: `loop.set_exception_handler()`.
   *
   * @param handler `(loop, context) => void`.
   * @throws {TypeError} If `handler` is not a function.
   */
  setExceptionHandler(handler: ExceptionHandler | undefined): void {
    if (handler !== undefined) {
      checkFunction("call setExceptionHandler", "handler", handler);
    }
    this.#exceptionHandler = handler;
  }

  /**
   * The handler set with `setExceptionHandler`. asyncio:
   * `loop.get_exception_handler()`.
   *
   * @returns The handler, or `undefined`.
   */
  getExceptionHandler(): ExceptionHandler | undefined {
    return this.#exceptionHandler;
  }

  /**
   * Reports `context` to the exception handler, or to the default one.
   * asyncio: `loop.call_exception_handler()`.
   *
   * @param context What happened.
   * @throws {TypeError} If `context` is not an object with a string
   * `message`.
   */
  callExceptionHandler(context: ExceptionContext): void {
    checkContext("callExceptionHandler", context);
    const handler = this.#exceptionHandler;
    if (handler === undefined) {
      this.#callDefaultHandler(
        context,
        "Exception in default exception handler",
      );
      return;
    }
    try {
      handler(this, context);
    } catch (error) {
      this.#callDefaultHandler(
        {
          message: "Unhandled error in exception handler",
          exception: error,
          context,
        },
        "Exception in default exception handler while handling an " +
          "unexpected error in custom exception handler",
      );
    }
  }

  /**
   * Calls `defaultExceptionHandler`, which a subclass may override: if
   * it throws, the loop says so on stderr and keeps running, as asyncio.
   */
  #callDefaultHandler(context: ExceptionContext, message: string): void {
    try {
      this.defaultExceptionHandler(context);
    } catch (error) {
      console.error(`${message}\n${formatError(error)}`);
    }
  }

  /**
   * The default handler: prints the message, the future or task concerned
   * and the error's stack to stderr. asyncio:
   * `loop.default_exception_handler()`.
   *
   * @param context What happened.
   * @throws {TypeError} If `context` is not an object with a string
   * `message`.
   */
  defaultExceptionHandler(context: ExceptionContext): void {
    checkContext("defaultExceptionHandler", context);
    const lines = [context.message || "Unhandled exception in event loop"];
    // As asyncio, each value as its repr: `handle: <Handle retry(3)>`.
    for (const [key, value] of Object.entries(context)) {
      if (key === "message" || key === "exception") continue;
      if (key === "sourceTraceback" && typeof value === "string") {
        // Debug mode's creation site, as asyncio's source_traceback.
        lines.push(`Object created at (most recent call first):\n${value}`);
        continue;
      }
      lines.push(`${key}: ${repr(value)}`);
    }
    if (context.exception !== undefined) {
      lines.push(formatError(context.exception));
    }
    console.error(lines.join("\n"));
  }

  /**
   * Turns debug mode on or off. asyncio: `loop.set_debug()`.
   *
   * @param enabled Whether to debug.
   * @throws {TypeError} If `enabled` is not a boolean.
   */
  setDebug(enabled: boolean): void {
    if (typeof enabled !== "boolean") {
      throw new TypeError(
        `Cannot call setDebug: expected enabled as a boolean, got ${
          describe(enabled)
        }`,
      );
    }
    this.#debug = enabled;
    this.#traceIfDebug();
  }

  /** Holds a tracing request while this loop is open and in debug mode. */
  #traceIfDebug(): void {
    const want = this.#debug && !this.#closed;
    if (want === this.#tracing) return;
    this.#tracing = want;
    requestTracing(want ? 1 : -1);
  }

  /**
   * In debug mode, a callback or task step that runs longer than this
   * many milliseconds is reported: 100 by default. asyncio:
   * `loop.slow_callback_duration` (in seconds there).
   */
  get slowCallbackDuration(): number {
    return this.#slowCallbackDuration;
  }

  /** @throws {TypeError} {RangeError} Unless a number of milliseconds >= 0. */
  set slowCallbackDuration(ms: number) {
    this.#slowCallbackDuration = checkNumber(
      "set slowCallbackDuration",
      "ms",
      ms,
      "a number of milliseconds >= 0",
      (n) => n >= 0,
    );
  }

  /**
   * Whether debug mode is on. asyncio: `loop.get_debug()`.
   *
   * @returns `true` in debug mode.
   */
  getDebug(): boolean {
    return this.#debug;
  }

  /** @internal */
  _trackUnretrieved(future: Future<unknown>, context: ExceptionContext): void {
    // The record must not hold the future, or it could never be collected.
    const rest = { ...context };
    delete rest.future;
    if (this.#debug && rest.sourceTraceback === undefined) {
      // A string, not the Error: its frames could hold the future.
      const site = formatSite(creationFrames(future));
      if (site !== undefined) rest.sourceTraceback = site;
    }
    const record = { future: new WeakRef(future), context: rest };
    this.#unretrieved.add(record);
    this.#unretrievedRecords.set(future, record);
    this.#registry.register(future, record, record);
  }

  /** @internal */
  _untrackUnretrieved(future: Future<unknown>): void {
    const record = this.#unretrievedRecords.get(future);
    if (record === undefined) return;
    this.#unretrievedRecords.delete(future);
    this.#unretrieved.delete(record);
    this.#registry.unregister(record);
  }

  /** @internal */
  _whenIdle(): Future<void> {
    const waiter = this.createFuture<void>();
    this.#idleWaiters.push(waiter);
    return waiter;
  }

  /** @internal */
  _ioStarted(): void {
    this.#ioInFlight++;
  }

  /** @internal */
  _ioFinished(): void {
    this.#ioInFlight--;
    // Only a virtual clock waits for I/O to settle before it jumps; a real
    // clock's idle wait is ended by whatever the I/O schedules.
    if (
      this.#ioInFlight === 0 && this.#wakeup !== undefined &&
      this.#clock.jumpTo !== undefined
    ) this.#wake();
  }

  /** @internal */
  _registerTask(task: Task<unknown>): void {
    this.#tasks.push(task);
  }

  /** @internal */
  _unregisterTask(_task: Task<unknown>): void {
    this.#doneTasks++;
    if (this.#doneTasks >= 1024 && this.#doneTasks * 2 >= this.#tasks.length) {
      this.#tasks = this.#tasks.filter((task) => !task.done());
      this.#doneTasks = 0;
    }
  }

  /** @internal */
  _tasks(): Iterable<Task<unknown>> {
    return this.#tasks.filter((task) => !task.done());
  }

  /**
   * Reports an exception nobody retrieved, once: when its future is
   * collected (the registry calls this) or at `close()`, whichever comes
   * first.
   */
  #reportLost(record: UnretrievedRecord): void {
    if (!this.#unretrieved.delete(record)) return;
    this.#registry.unregister(record);
    const future = record.future.deref();
    if (future === undefined) {
      this.callExceptionHandler({ ...record.context });
      return;
    }
    this.#unretrievedRecords.delete(future);
    this.callExceptionHandler({ ...record.context, future });
  }

  /**
   * Counts a cancelled timer, which stays in the heap until it reaches the
   * top; once they are most of a large heap, rebuilds it without them, so
   * timeouts that never fire do not grow it (asyncio does the same).
   */
  #timerCancelled(): void {
    this.#cancelledTimers++;
    const timers = this.#timers;
    if (
      timers.length >= MIN_TIMERS_TO_CLEAN &&
      this.#cancelledTimers > timers.length * CANCELLED_TIMERS_SHARE
    ) {
      timers.filter((timer) => !timer.cancelled());
      this.#cancelledTimers = 0;
    }
  }

  /** Moves the timers that are due to the ready queue. */
  #collectDueTimers(): void {
    const timers = this.#timers;
    if (timers.length === 0) return;
    const now = this.#clock.now();
    while (timers.peekWhen() <= now) {
      const timer = timers.pop()!;
      if (timer.cancelled()) {
        if (this.#cancelledTimers > 0) this.#cancelledTimers--;
      } else {
        this.#ready.push(runHandle, timer);
      }
    }
  }

  /** The earliest live timer, dropping cancelled ones from the top. */
  #nextTimer(): TimerHandle | undefined {
    const timers = this.#timers;
    let timer = timers.peek();
    while (timer !== undefined && timer.cancelled()) {
      timers.pop();
      if (this.#cancelledTimers > 0) this.#cancelledTimers--;
      timer = timers.peek();
    }
    return timer;
  }

  /** The loop itself: one pass of `for (;;)` per iteration (module doc). */
  async #drive(): Promise<void> {
    const ready = this.#ready;
    let sliceStart = performance.now();
    let counter = 0; // callbacks run
    let iterations = 0;
    for (;;) {
      this.#collectDueTimers();
      // As asyncio: run the callbacks ready now; those they schedule wait
      // for the next iteration.
      let todo = ready.length;
      while (todo-- > 0) {
        const callback = ready.shift()!;
        const arg = ready.arg;
        // A cancelled Handle is skipped without a turn.
        if (callback === runHandle && (arg as Handle).cancelled()) continue;
        this.#runCallback(callback, arg);
        // A task this callback woke runs its whole step now, before the
        // next callback, as CPython runs Task.__step inline: microtask
        // turns pass until it reaches its next loop await or its end (or
        // the bound, for a step that waits on a plain promise).
        await MICROTASK_TURN;
        for (let turn = 0; resumingTask !== undefined; turn++) {
          if (turn === MAX_STEP_TURNS) {
            setResumingTask(undefined);
            break;
          }
          await MICROTASK_TURN;
        }
        if (this.#debug) this.#warnIfSlow();
        if (
          (++counter & 63) === 0 && performance.now() - sliceStart > SLICE_MS
        ) {
          await hostYield();
          sliceStart = performance.now();
        }
      }
      if (this.#stopping) break;
      if (ready.length === 0) {
        // Let woken coroutines reach their next await before deciding the
        // loop is idle; most do within a few turns.
        for (let i = 0; i < 4 && ready.length === 0; i++) {
          await MICROTASK_TURN;
        }
      }
      if (ready.length === 0 && !this.#stopping && !this.#timersDue()) {
        await this.#idle();
        sliceStart = performance.now();
      } else if (
        (++iterations & 7) === 0 && performance.now() - sliceStart > SLICE_MS
      ) {
        // Read every 8th iteration: the clock costs ~100 ns in Deno, a
        // tenth of a task switch, which is often a whole iteration.
        await hostYield();
        sliceStart = performance.now();
      }
    }
  }

  /** Whether the earliest live timer is due now: then the loop must not idle. */
  #timersDue(): boolean {
    const next = this.#nextTimer();
    return next !== undefined && next.when() <= this.#clock.now();
  }

  /**
   * Runs one ready entry with this loop marked as executing, which is the
   * loop a plain callback's `getRunningLoop()` finds; a throw goes to the
   * exception handler, so one bad callback never stops the loop.
   */
  #runCallback(callback: (arg: unknown) => void, arg: unknown): void {
    setExecuting(this);
    // Debug mode times the callback and the task step it resumes: kept in
    // fields, as locals live across the driver's awaits would cost every
    // iteration.
    const debug = this.#debug;
    if (debug) {
      this.#slowCallback = callback;
      this.#slowArg = arg;
      this.#slowStart = performance.now();
    }
    try {
      callback(arg);
    } catch (error) {
      this.callExceptionHandler({
        message: "Exception in callback",
        exception: error,
        handle: asHandle(callback, arg),
      });
    } finally {
      setExecuting(undefined);
    }
    if (debug) this.#slowStep = resumingTask;
  }

  /**
   * Debug mode: warns when a callback, with the task step it resumed (its
   * microtasks until the task's next loop await), took too long — naming
   * the task and what it awaits now, as asyncio names the slow handle.
   */
  #warnIfSlow(): void {
    const callback = this.#slowCallback;
    const arg = this.#slowArg;
    const step = this.#slowStep;
    this.#slowCallback = this.#slowArg = this.#slowStep = undefined;
    if (callback === undefined) return; // debug mode began during the step
    const took = performance.now() - this.#slowStart;
    if (took < this.#slowCallbackDuration) return;
    const ms = took.toFixed(1);
    if (!(step instanceof Task)) {
      console.warn(
        `Executing ${String(asHandle(callback, arg))} took ${ms} ms`,
      );
      return;
    }
    const now = step.done()
      ? "it finished"
      : `it now awaits ${describeTaskAwait(step, this.time())}`;
    console.warn(`Executing a step of ${String(step)} took ${ms} ms; ${now}`);
  }

  /**
   * Waits, without spinning, until there may be work: a callback scheduled
   * (from a microtask or a host callback), the next timer's deadline on
   * the host's clock, or — on a virtual clock — the loop staying idle for
   * the clock's threshold, after which the clock jumps to the deadline.
   * Idleness is confirmed after a host macrotask, so every pending
   * microtask has run first.
   */
  #idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#wakeup = resolve;
      const clock = this.#clock;
      const next = this.#nextTimer();
      if (this.#idleWaiters.length > 0) {
        yieldToHost(() => this.#idleConfirmed(resolve));
      } else if (clock.jumpTo !== undefined) {
        // A deadline at Infinity never comes: the clock must not jump there.
        if (
          next === undefined || next.when() === Infinity ||
          this.#ioInFlight > 0
        ) return;
        const threshold = clock.autojumpThreshold ?? 0;
        if (threshold === 0) yieldToHost(() => this.#jump(resolve));
        else if (threshold !== Infinity) {
          this.#armHostTimer(() => this.#jump(resolve), threshold);
        }
      } else if (next !== undefined) {
        this.#armDeadline(next.when());
      }
    });
  }

  /**
   * A host macrotask passed and nothing woke the loop: every task is
   * blocked, so `waitAllTasksBlocked()`'s waiters are released.
   */
  #idleConfirmed(resolve: () => void): void {
    if (this.#wakeup !== resolve) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const waiter of waiters) if (!waiter.done()) waiter.setResult();
    if (this.#wakeup === resolve) this.#wake();
  }

  /**
   * Jumps a virtual clock to the earliest live deadline, unless the idle
   * wait ended or I/O began in the meantime (that I/O's end wakes the loop
   * to try again).
   */
  #jump(resolve: () => void): void {
    this.#hostTimer = undefined;
    if (this.#wakeup !== resolve || this.#ioInFlight > 0) return;
    const timer = this.#nextTimer();
    const clock = this.#clock;
    if (timer === undefined) return;
    if (timer.when() > clock.now()) clock.jumpTo!(timer.when());
    this.#wake();
  }

  /**
   * Wakes the idle loop at `when` on the loop's clock, keeping a host
   * timer armed for that deadline or an earlier one. One that fires early
   * (its timer was cancelled, or the deadline lies past the host's longest
   * delay) wakes the loop, which idles again and re-arms for what is left.
   * A deadline at Infinity arms nothing: it never comes.
   */
  #armDeadline(when: number): void {
    if (this.#deadlineTimer !== undefined) {
      if (this.#deadlineAt <= when) return;
      this.#clearDeadline();
    }
    if (when === Infinity) return;
    const delay = Math.min(
      MAX_HOST_DELAY,
      Math.max(0, Math.ceil(when - this.#clock.now())),
    );
    const clear = globalThis.clearTimeout;
    const id = globalThis.setTimeout(this.#deadlineReached, delay);
    this.#deadlineTimer = () => clear(id);
    this.#deadlineAt = when;
  }

  /** The real clock's deadline timer fired: wake the loop to collect. */
  #deadlineReached = (): void => {
    this.#deadlineTimer = undefined;
    this.#deadlineAt = Infinity;
    if (this.#wakeup !== undefined) this.#wake();
  };

  #clearDeadline(): void {
    this.#deadlineTimer?.();
    this.#deadlineTimer = undefined;
    this.#deadlineAt = Infinity;
  }

  /**
   * Arms the virtual clock's autojump timer (`#wake` clears it); a delay
   * past the host's longest is reached in steps.
   */
  #armHostTimer(callback: () => void, delay: number): void {
    const clear = globalThis.clearTimeout;
    const id = delay > MAX_HOST_DELAY
      ? globalThis.setTimeout(
        () => this.#armHostTimer(callback, delay - MAX_HOST_DELAY),
        MAX_HOST_DELAY,
      )
      : globalThis.setTimeout(callback, delay);
    this.#hostTimer = () => clear(id);
  }

  /**
   * Ends the idle wait, if the loop is idle, and drops the autojump timer.
   * The deadline timer stays armed: the next idle wait may reuse it.
   */
  #wake(): void {
    const wakeup = this.#wakeup;
    this.#wakeup = undefined;
    if (this.#hostTimer !== undefined) {
      this.#hostTimer();
      this.#hostTimer = undefined;
    }
    wakeup?.();
  }
}

function closedError(method: string): InvalidStateError {
  return new InvalidStateError(`Cannot call ${method}: event loop is closed`);
}

function checkMilliseconds(
  method: string,
  name: string,
  value: number,
): void {
  checkNumber(
    `call ${method}`,
    name,
    value,
    "a number of milliseconds",
    (n) => !Number.isNaN(n),
  );
}

/**
 * A callback must be a plain function: an `async` one would start and
 * leave its promise to nobody (asyncio refuses coroutine functions too).
 */
function checkCallback(method: string, callback: unknown): void {
  checkFunction(`call ${method}`, "callback", callback);
  const kind = (callback as { [Symbol.toStringTag]?: unknown })[
    Symbol.toStringTag
  ];
  if (kind === "AsyncFunction" || kind === "AsyncGeneratorFunction") {
    throw new TypeError(
      `Cannot call ${method}: expected callback as a plain function, got an ` +
        "async function, whose promise nobody would await; run a coroutine " +
        "with createTask(fn)",
    );
  }
}

function checkContext(method: string, context: unknown): void {
  if (context === null || typeof context !== "object") {
    throw new TypeError(
      `Cannot call ${method}: expected context as an object, got ${
        describe(context)
      }`,
    );
  }
  const message = (context as ExceptionContext).message;
  if (message !== undefined && typeof message !== "string") {
    throw new TypeError(
      `Cannot call ${method}: expected context.message as a string, got ${
        describe(message)
      }`,
    );
  }
}

/** Checks `newEventLoop`'s options at the call. */
function checkLoopOptions(action: string, options: unknown): void {
  checkOptions(action, options);
  const { clock, debug } = (options ?? {}) as EventLoopOptions;
  checkClock(action, clock);
  checkBoolean(action, "debug", debug);
}

/**
 * Creates a new event loop. asyncio: `asyncio.new_event_loop()`.
 *
 * @param options Clock and debug mode.
 * @returns The loop.
 *
 * @example A loop on virtual time
 * ```ts
 * import { newEventLoop, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * const loop = newEventLoop({ clock: new VirtualClock() });
 * await loop.runUntilComplete(() => sleep(86_400_000));
 * assert.equal(loop.time(), 86_400_000);
 * loop.close();
 * ```
 */
export function newEventLoop(options?: EventLoopOptions): EventLoop {
  return new EventLoop(options);
}

setLoopFactory(() => new EventLoop());
