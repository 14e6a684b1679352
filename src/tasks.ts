/**
 * `Task`: a coroutine function running on the loop, as asyncio's
 * `asyncio.Task`, with cancellation delivered at its awaits.
 *
 * @module
 */
import {
  awaitWithoutPromise,
  currentTaskStore,
  resumingTask,
  setAwaitHooks,
  setResumingTask,
  type Wait,
} from "./_current.ts";
import { checkBoolean, checkOptions, isThenable } from "./_checks.ts";
import { describe } from "./_describe.ts";
import {
  type AwaitRecord,
  everTraced,
  noteTaskCreated,
  recording,
  setTaskInspector,
  taskFinished,
  tracing,
  warnCancelNotDelivered,
  watchPendingTask,
} from "./_introspect.ts";
import { CancelledError, InvalidStateError } from "./errors.ts";
import { findRunningLoop, setCurrentTaskLoop } from "./_loops.ts";
import {
  type AbstractEventLoop,
  type CoroutineFunction,
  getEventLoop,
  getRunningLoop,
} from "./abstract_event_loop.ts";
import { Future } from "./futures.ts";

/** Options for `createTask`. */
export interface TaskOptions {
  /** The task's name; `Task-N` by default. */
  name?: string;
  /**
   * Start the body at once, inside `createTask`, instead of on the next
   * loop iteration (asyncio 3.12's eager tasks). A plain function that
   * returns a value completes the task before `createTask` returns; an
   * `async` body that never awaits the loop completes it a microtask
   * later, when its promise settles. On a loop that is not running yet
   * the task starts on its first iteration, as any task (asyncio).
   */
  eager?: boolean;
  /** The loop; the running loop by default. */
  loop?: AbstractEventLoop;
}

let taskCounter = 0;
// What the body's first call returns when it returned a promise.
const BODY_PENDING = Symbol("body pending");
const promiseThen = Promise.prototype.then;
const futureThen = Future.prototype.then;

setCurrentTaskLoop(() =>
  (currentTaskStore.getStore() as Task<unknown> | undefined)?.getLoop()
);

/**
 * A coroutine function scheduled on the loop. It starts on the next
 * iteration (or at once with `eager`), inside its own context: every loop
 * awaitable it awaits, in any promise chain it starts, is registered with
 * it, so `cancel()` throws `CancelledError` at those awaits. Create tasks
 * with `createTask` or `loop.createTask`. asyncio: `asyncio.Task`.
 *
 * @typeParam T The type of the result.
 *
 * @example Cancelling a sleeping task
 * ```ts
 * import { CancelledError, createTask, run, sleep } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const task = createTask(() => sleep(60_000));
 *   await sleep(0);
 *   task.cancel("no longer needed");
 *   await assert.rejects(task, CancelledError);
 *   assert.ok(task.cancelled());
 * });
 * ```
 */
export class Task<T> extends Future<T> {
  #fn: CoroutineFunction<T> | undefined;
  #name: string | number; // the number of a default name, made on demand
  // The waits in flight. A task usually awaits one future at a time: that
  // wait has a field of its own; waits in parallel promise chains go to
  // the set.
  #wait: Wait | undefined = undefined;
  #moreWaits: Set<Wait> | undefined = undefined;
  // A cancellation no wait has taken yet, delivered at the next await.
  #mustCancel = false;
  #cancelMessage: string | undefined = undefined;
  #cancelsRequested = 0;
  #propagating = false; // inside cancel(), passing it to the awaited
  #controller: AbortController | undefined = undefined;

  /**
   * Creates and schedules a task. Prefer `createTask(fn)`.
   *
   * @param fn A function returning a promise: the coroutine.
   * @param options Name, eagerness and loop.
   * @throws {TypeError} If `fn` is not a function (for example an already
   * started promise).
   */
  constructor(fn: CoroutineFunction<T>, options?: TaskOptions) {
    if (typeof fn !== "function") throw notAFunction(fn);
    checkTaskOptions(options);
    const loop = options?.loop ?? getRunningLoop();
    if (loop.isClosed()) {
      throw new InvalidStateError("Cannot create task: event loop is closed");
    }
    super({ loop });
    this.#fn = fn;
    this.#name = options?.name ?? ++taskCounter;
    if (recording) {
      noteTaskCreated(this, currentTaskStore.getStore(), loop.time());
      if (tracing) watchPendingTask(this, loop);
    }
    loop._registerTask(this as Task<unknown>);
    if (options?.eager && loop.isRunning()) this.#start();
    else loop._callSoonWith(Task.#startOnLoop, this as Task<unknown>);
  }

  /**
   * The task's name.
   *
   * @returns The name, `Task-N` unless set.
   */
  getName(): string {
    if (typeof this.#name === "number") this.#name = `Task-${this.#name}`;
    return this.#name;
  }

  /**
   * Renames the task.
   *
   * @param name The new name.
   * @throws {TypeError} If `name` is not a string.
   */
  setName(name: string): void {
    checkName("set task name", name);
    this.#name = name;
  }

  /**
   * An `AbortSignal` aborted when the task is cancelled, to hand to
   * `fetch` and to Deno APIs that take a signal: a plain promise cannot be
   * interrupted otherwise. After `uncancel()` withdraws every request, a
   * fresh signal replaces the aborted one.
   *
   * @returns The signal.
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#cancelsRequested > 0 || this.cancelled()) {
        this.#controller.abort(new CancelledError(this.#cancelMessage));
      }
    }
    return this.#controller.signal;
  }

  /**
   * Requests cancellation: `CancelledError` is thrown at every loop await
   * the task is suspended on, on the next iteration (and an awaited Future
   * or Task is cancelled too); if it awaits none, at its next one. The
   * coroutine may catch it. asyncio: `Task.cancel()`.
   *
   * @param message Carried by the CancelledError.
   * @returns `false` if the task is already done, else `true`.
   * @throws {InvalidStateError} If the task is in a circle of tasks that
   * await each other: a deadlock, which no cancel can end.
   */
  override cancel(message?: string): boolean {
    if (this.done()) return super.cancel(message); // marks an error retrieved
    this.#cancelsRequested++;
    this.#cancelMessage = message;
    if (this.#controller !== undefined && !this.#controller.signal.aborted) {
      this.#controller.abort(new CancelledError(message));
    }
    if (this.#wait === undefined && !this.#moreWaits?.size) {
      this.#mustCancel = true;
      if (
        tracing && this.#fn === undefined && this.#controller === undefined &&
        resumingTask !== this && currentTaskStore.getStore() !== this
      ) warnCancelNotDelivered(this);
      return true;
    }
    // Tasks that await each other in a circle pass the cancel round it
    // back to this one. Cancelling a task only asks what it awaits to end,
    // so a deadlock cannot be cancelled away: say so (asyncio recurses
    // until the stack overflows).
    if (this.#propagating) {
      throw new InvalidStateError(
        `Cannot cancel ${this}: it is in a circle of tasks that await each ` +
          "other (a deadlock), which cancelling cannot end; captureTaskTree() " +
          "shows the circle",
      );
    }
    // Copied first: cancelling one wait may end another.
    const waits = this.#moreWaits === undefined ? [] : [...this.#moreWaits];
    if (this.#wait !== undefined) waits.unshift(this.#wait);
    this.#propagating = true;
    try {
      for (const wait of waits) wait.cancel(message);
    } finally {
      this.#propagating = false;
    }
    return true;
  }

  /**
   * How many cancellation requests are pending. asyncio:
   * `Task.cancelling()`.
   *
   * @returns The count of `cancel()` calls not withdrawn by `uncancel()`.
   */
  cancelling(): number {
    return this.#cancelsRequested;
  }

  /**
   * Withdraws one cancellation request; at zero, a cancellation not yet
   * delivered is dropped. Used by `timeout` and `TaskGroup`. asyncio:
   * `Task.uncancel()`.
   *
   * @returns The remaining count.
   */
  uncancel(): number {
    if (this.#cancelsRequested > 0) {
      this.#cancelsRequested--;
      if (this.#cancelsRequested === 0) {
        // No request left: a cancel not yet delivered is dropped, and so
        // is one aimed at a wait whose future finished first.
        this.#mustCancel = false;
        this.#wait?.uncancel();
        this.#moreWaits?.forEach((wait) => wait.uncancel());
        if (this.#controller?.signal.aborted) this.#controller = undefined;
      }
    }
    return this.#cancelsRequested;
  }

  /**
   * Tasks are completed by their coroutine only.
   *
   * @throws {InvalidStateError} Always.
   */
  override setResult(_result: T): never {
    throw new InvalidStateError("Cannot set result: Task does not support it");
  }

  /**
   * Tasks are completed by their coroutine only.
   *
   * @throws {InvalidStateError} Always.
   */
  override setException(_exception: unknown): never {
    throw new InvalidStateError(
      "Cannot set exception: Task does not support it",
    );
  }

  /**
   * The state part of `toString()`, with the task's name.
   *
   * @returns For example `name='Task-1' pending`.
   */
  protected override _describeState(): string {
    return `name='${this.getName()}' ${super._describeState()}`;
  }

  /** Runs the body inside the task's context; called once. */
  #start(): void {
    const fn = this.#fn;
    this.#fn = undefined;
    if (fn === undefined || this.done()) return;
    if (this.#mustCancel) {
      // Cancelled before it started: the body never runs.
      this.#mustCancel = false;
      this.#finish(false, new CancelledError(this.#cancelMessage));
      return;
    }
    let result: unknown;
    try {
      result = currentTaskStore.run(this, Task.#runBody, this, fn);
    } catch (error) {
      this.#finish(false, error);
      return;
    }
    if (result !== BODY_PENDING) this.#finish(true, result);
  }

  /**
   * Calls the body inside the task's context and waits there for what it
   * returns, with functions shared by every task rather than two closures
   * made for each (about 150 of the 1,000 bytes spawning a task
   * allocates). A native promise's reactions run in the context that
   * called then(), so they find their task in the store; a Future resumes
   * its waits from the loop, after marking the awaiting task as the one
   * resuming, and is awaited without the promise then() would make. Another
   * thenable calls back from wherever it settles, so it gets the closures.
   */
  static #runBody(task: Task<unknown>, fn: () => unknown): unknown {
    const result = fn();
    if (result instanceof Promise && result.then === promiseThen) {
      result.then(Task.#bodyReturned, Task.#bodyFailed);
    } else if (result instanceof Future && canResume(task, result)) {
      awaitWithoutPromise(
        result,
        Task.#bodyFutureReturned,
        Task.#bodyFutureFailed,
      );
    } else if (isThenable(result)) {
      result.then(
        (value) => task.#finish(true, value),
        (error) => task.#finish(false, error),
      );
    } else return result;
    return BODY_PENDING;
  }

  static #bodyReturned(value: unknown): void {
    (currentTaskStore.getStore() as Task<unknown>).#finish(true, value);
  }

  static #bodyFailed(error: unknown): void {
    (currentTaskStore.getStore() as Task<unknown>).#finish(false, error);
  }

  static #bodyFutureReturned(value: unknown): void {
    (resumingTask as Task<unknown>).#finish(true, value);
  }

  static #bodyFutureFailed(error: unknown): void {
    (resumingTask as Task<unknown>).#finish(false, error);
  }

  #finish(ok: boolean, outcome: unknown): void {
    if (resumingTask === this) setResumingTask(undefined);
    if (this.done()) return;
    this.getLoop()._unregisterTask(this as Task<unknown>);
    if (everTraced) taskFinished(this);
    if (ok && this.#mustCancel) {
      // Cancelled right before the coroutine returned (asyncio does this).
      this.#mustCancel = false;
      super.cancel(this.#cancelMessage);
    } else if (ok) {
      super.setResult(outcome as T);
    } else if (outcome instanceof CancelledError) {
      // Keep the very error the coroutine raised, as asyncio does.
      this._cancelWith(outcome);
    } else {
      this._fail(outcome);
    }
    const controller = this.#controller;
    if (this.cancelled() && controller && !controller.signal.aborted) {
      controller.abort(new CancelledError(this.#cancelMessage));
    }
  }

  /**
   * Started by the loop: its whole first step runs before the next
   * callback, like a resumed step (an eager start is inline already).
   */
  static #startOnLoop(task: Task<unknown>): void {
    setResumingTask(task);
    task.#start();
  }

  static {
    // Futures, below, learn of the awaiting task through these hooks.
    setAwaitHooks({
      begin(owner, wait) {
        const task = owner as Task<unknown>;
        if (resumingTask === task) setResumingTask(undefined); // step ended
        if (task.done()) return false;
        if (task.#wait === undefined) task.#wait = wait;
        else (task.#moreWaits ??= new Set()).add(wait);
        if (!task.#mustCancel) return false;
        task.#mustCancel = false;
        return true;
      },
      end(owner, wait) {
        const task = owner as Task<unknown>;
        if (task.#wait === wait) task.#wait = undefined;
        else task.#moreWaits?.delete(wait);
      },
      cancelMessage: (owner) => (owner as Task<unknown>).#cancelMessage,
    });
    setTaskInspector({
      waits(owner) {
        const task = owner as Task<unknown>;
        const waits = task.#moreWaits === undefined ? [] : [...task.#moreWaits];
        if (task.#wait !== undefined) waits.unshift(task.#wait);
        return waits as AwaitRecord[];
      },
      started: (owner) => (owner as Task<unknown>).#fn === undefined,
      signalInUse: (owner) =>
        (owner as Task<unknown>).#controller !== undefined,
    });
  }
}

/**
 * Whether `task`, running, may await `future` without then()'s promise:
 * it resumes from its loop (one that refuses — a task awaiting itself, a
 * future of another loop — rejects at once, while no task is resuming),
 * and its then() is Future's own.
 */
function canResume(task: Task<unknown>, future: Future<unknown>): boolean {
  return future !== task && future.getLoop() === task.getLoop() &&
    future.then === futureThen; // a subclass's own then() is called
}

function notAFunction(value: unknown): TypeError {
  if (isThenable(value)) {
    return new TypeError(
      "Cannot create task: expected a coroutine function, got a promise " +
        "that has already started; pass the function instead, " +
        "e.g. createTask(() => work()) rather than createTask(work())",
    );
  }
  return new TypeError(
    `Cannot create task: expected a function returning a promise, got ${
      describe(value)
    }`,
  );
}

function checkName(action: string, name: unknown): void {
  if (typeof name !== "string") {
    throw new TypeError(
      `Cannot ${action}: expected name as a string, got ${describe(name)}`,
    );
  }
}

function checkTaskOptions(options: TaskOptions | undefined): void {
  checkOptions("create task", options);
  if (options?.name !== undefined) checkName("create task", options.name);
  checkBoolean("create task", "eager", options?.eager);
}

/**
 * Wraps a coroutine function in a Task on the running loop and schedules
 * it. asyncio: `asyncio.create_task()`.
 *
 * @typeParam T The result type.
 * @param fn A function returning a promise. Pass the function, not its
 * promise: `createTask(() => fetchData())`.
 * @param options `name`, and `eager` to start the body at once.
 * @returns The task.
 * @throws {TypeError} If `fn` is not a function.
 * @throws {InvalidStateError} If no loop is running.
 *
 * @example Two tasks running concurrently
 * ```ts
 * import { createTask, run, sleep } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const order: string[] = [];
 * await run(async () => {
 *   const slow = createTask(async () => { await sleep(20); order.push("slow"); });
 *   const fast = createTask(async () => { await sleep(10); order.push("fast"); });
 *   await slow;
 *   await fast;
 * });
 * assert.deepEqual(order, ["fast", "slow"]);
 * ```
 */
export function createTask<T>(
  fn: CoroutineFunction<T>,
  options?: Omit<TaskOptions, "loop">,
): Task<T> {
  if (typeof fn !== "function") throw notAFunction(fn);
  checkTaskOptions(options);
  return getRunningLoop().createTask(fn, options);
}

/**
 * The task running the caller, if any. asyncio: `asyncio.current_task()`.
 *
 * @returns The current task, or `undefined` outside tasks.
 *
 * @example Naming the current task
 * ```ts
 * import { createTask, currentTask, run } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const name = await createTask(async () => currentTask()?.getName(), {
 *     name: "worker",
 *   });
 *   assert.equal(name, "worker");
 * });
 * ```
 */
export function currentTask(): Task<unknown> | undefined {
  const task = currentTaskStore.getStore() as Task<unknown> | undefined;
  if (task === undefined || task.done()) return undefined;
  return task;
}

/**
 * The tasks of a loop that are not done yet. asyncio:
 * `asyncio.all_tasks()`.
 *
 * @param loop The loop; the running loop by default.
 * @returns A new Set of tasks.
 *
 * @example Counting pending tasks
 * ```ts
 * import { allTasks, createTask, run, sleep } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const task = createTask(() => sleep(10));
 *   assert.equal(allTasks().size, 2); // main and task
 *   await task;
 * });
 * ```
 */
export function allTasks(loop?: AbstractEventLoop): Set<Task<unknown>> {
  const target = loop ?? getRunningLoop();
  const tasks = new Set<Task<unknown>>();
  for (const task of target._tasks()) if (!task.done()) tasks.add(task);
  return tasks;
}

/** What `ensureFuture` and the composition functions accept. */
export type Awaitable<T> =
  | Future<T>
  | PromiseLike<T>
  | CoroutineFunction<T>;

/**
 * Turns an awaitable into a Future: a Future or Task is returned as is; a
 * function becomes a Task; a promise is wrapped in a Future that settles
 * with it (cancelling that Future cannot stop the promise — give the work a
 * Task of its own for that). asyncio: `asyncio.ensure_future()`.
 *
 * @typeParam T The result type.
 * @param awaitable A Future, Task, promise or coroutine function.
 * @param options The loop; the running (or current) loop by default.
 * @returns A Future.
 * @throws {TypeError} If `awaitable` is none of those.
 *
 * @example Wrapping a promise
 * ```ts
 * import { ensureFuture, isFuture, run } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const future = ensureFuture(Promise.resolve(7));
 *   assert.ok(isFuture(future));
 *   assert.equal(await future, 7);
 * });
 * ```
 */
export function ensureFuture<T>(
  awaitable: Awaitable<T>,
  options?: { loop?: AbstractEventLoop },
): Future<T> {
  if (awaitable instanceof Future) {
    if (options?.loop !== undefined && awaitable.getLoop() !== options.loop) {
      throw new TypeError(
        "Cannot use future: it is bound to a different event loop; pass a " +
          "function instead, e.g. loop.runUntilComplete(() => sleep(10)), so " +
          "the work starts on this loop",
      );
    }
    return awaitable;
  }
  const loop = options?.loop ?? findRunningLoop() ?? getEventLoop();
  if (typeof awaitable === "function") return loop.createTask(awaitable);
  if (isThenable(awaitable)) {
    const future = loop.createFuture<T>();
    awaitable.then(
      (value) => {
        if (!future.done()) future.setResult(value);
      },
      (error) => {
        if (future.done()) return;
        if (error instanceof CancelledError) future.cancel(error.message);
        else future.setException(error);
      },
    );
    return future;
  }
  throw new TypeError(
    `Cannot make a future: expected a Future, promise or function, got ${
      describe(awaitable)
    }`,
  );
}
