/**
 * `TaskGroup` and `taskGroup`: structured concurrency, as asyncio's
 * `taskgroups.py`. A group's tasks never outlive it: the group waits for
 * all of them, and the first failure cancels the rest.
 *
 * @module
 */
import { describe } from "./_describe.ts";
import {
  AWAITS,
  DESCRIBE,
  labelFuture,
  setCallbackOwner,
} from "./_introspect.ts";
import { CancelledError, InvalidStateError, TaskGroupError } from "./errors.ts";
import type {
  AbstractEventLoop,
  CoroutineFunction,
} from "./abstract_event_loop.ts";
import type { Future } from "./futures.ts";
import { currentTask, type Task, type TaskOptions } from "./tasks.ts";

/** Options for `TaskGroup.createTask`. */
export type TaskGroupTaskOptions = Omit<TaskOptions, "loop">;

/** The body's outcome, as the group's exit sees it. */
type Outcome =
  | { readonly kind: "returned" }
  | { readonly kind: "threw"; readonly error: unknown }
  | { readonly kind: "unknown" }; // `await using`: the block's fate is hidden

/**
 * How the body of `taskGroup(fn)` ended, which it tells its group (an
 * `await using` block cannot): handed to the group as the constructor
 * argument its public signature leaves out.
 */
class Body {
  outcome: Outcome = { kind: "unknown" };
}

/**
 * A group of tasks that finish together: the group waits for every task
 * it created; when one fails, it cancels the others and the code running
 * the group, then throws a `TaskGroupError` carrying every error, in the
 * order they happened. A child cancelled on its own is not an error.
 * Cancelling the task running the group cancels the children too and
 * stays a `CancelledError`. asyncio: `asyncio.TaskGroup`.
 *
 * Prefer `taskGroup(fn)`, which is exact. `await using group = new
 * TaskGroup()` works too, with two limits of `await using` (its dispose
 * method cannot see how the block ended):
 *
 * - An error thrown by the block itself does not cancel the children:
 *   the group waits for them as if the block had ended normally, then
 *   the error propagates (with child errors, as a `SuppressedError`
 *   whose `error` is the `TaskGroupError`). A cancellation of the host
 *   task is recognised, and does cancel the children.
 * - When a child fails while the block is awaiting, the group cancels the
 *   block: its `CancelledError` and the group's `TaskGroupError` then
 *   surface together as a `SuppressedError` (`error` is the
 *   `TaskGroupError`, `suppressed` the `CancelledError`).
 *
 * @example With `await using`
 * ```ts
 * import { run, sleep, TaskGroup } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   let a, b;
 *   {
 *     await using group = new TaskGroup();
 *     a = group.createTask(() => sleep(100, "a"));
 *     b = group.createTask(() => sleep(200, "b"));
 *   } // waits here for both
 *   assert.deepEqual([a.result(), b.result()], ["a", "b"]);
 * }, { clock: new VirtualClock() });
 * ```
 */
export class TaskGroup {
  #loop: AbstractEventLoop;
  #parent: Task<unknown>;
  #parentCancellingAtStart: number;
  #parentCancelRequested = false;
  #exiting = false;
  #aborting = false;
  #tasks = new Set<Task<unknown>>();
  #errors: unknown[] = [];
  #onCompleted: Future<void> | undefined = undefined;
  #onTaskDone = (task: Task<unknown>): void => this.#taskDone(task);
  #body: Body | undefined;

  /**
   * Creates a group owned by the current task. Use it with `await using`,
   * or use `taskGroup(fn)`.
   *
   * @throws {InvalidStateError} If called outside a task.
   */
  constructor();
  constructor(body?: Body) {
    const parent = currentTask();
    if (parent === undefined) {
      throw new InvalidStateError(
        "Cannot create TaskGroup: not inside a task; call it from a coroutine run by run() or createTask()",
      );
    }
    this.#parent = parent;
    this.#loop = parent.getLoop();
    this.#parentCancellingAtStart = parent.cancelling();
    this.#body = body instanceof Body ? body : undefined;
    // As asyncio 3.14: the group's tasks are awaited by its parent task.
    setCallbackOwner(this.#onTaskDone, () => [this.#parent]);
  }

  /**
   * Starts `fn` as a task of this group. asyncio:
   * `TaskGroup.create_task()`.
   *
   * @typeParam T The result type.
   * @param fn A function returning a promise.
   * @param options `name`, and `eager` to start the body at once.
   * @returns The task.
   * @throws {InvalidStateError} If the group has finished, or is shutting
   * down after a failure or a cancellation.
   * @throws {TypeError} If `fn` is not a function.
   */
  createTask<T>(
    fn: CoroutineFunction<T>,
    options?: TaskGroupTaskOptions,
  ): Task<T> {
    if (this.#exiting && this.#tasks.size === 0) {
      throw new InvalidStateError("Cannot create task: TaskGroup is finished");
    }
    if (this.#aborting) {
      throw new InvalidStateError(
        "Cannot create task: TaskGroup is shutting down",
      );
    }
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot create task: expected fn as a function returning a promise, got ${
          describe(fn)
        }`,
      );
    }
    const task = this.#loop.createTask(fn, options);
    // An eager task may be done already.
    if (task.done()) this.#taskDone(task as Task<unknown>);
    else {
      this.#tasks.add(task as Task<unknown>);
      task.addDoneCallback(this.#onTaskDone as (task: Future<T>) => void);
    }
    return task;
  }

  /**
   * Waits for every task, as the end of an `await using` block. See the
   * class documentation for what `await using` cannot do.
   *
   * @returns A promise that settles once every task is done.
   * @throws {TaskGroupError} If any task failed.
   * @throws {CancelledError} If the host task was cancelled while waiting.
   */
  [Symbol.asyncDispose](): Promise<void> {
    if (this.#body !== undefined) return this.#exit(this.#body.outcome);
    return this.#exit({ kind: "unknown" }).catch((error) => {
      if (error instanceof TaskGroupError) explainIfUncaught(error);
      throw error;
    });
  }

  /**
   * A description for logs, as asyncio's repr:
   * `<TaskGroup tasks=2 errors=1 cancelling>`.
   *
   * @returns The description.
   */
  toString(): string {
    const info = [];
    if (this.#tasks.size > 0) info.push(`tasks=${this.#tasks.size}`);
    if (this.#errors.length > 0) info.push(`errors=${this.#errors.length}`);
    if (this.#aborting) info.push("cancelling");
    else if (!this.#exiting) info.push("entered");
    return `<TaskGroup${info.map((part) => ` ${part}`).join("")}>`;
  }

  #abort(): void {
    this.#aborting = true;
    for (const task of this.#tasks) if (!task.done()) task.cancel();
  }

  #taskDone(task: Task<unknown>): void {
    this.#tasks.delete(task);
    const onCompleted = this.#onCompleted;
    if (onCompleted !== undefined && this.#tasks.size === 0) {
      if (!onCompleted.done()) onCompleted.setResult();
    }
    if (task.cancelled()) return;
    let error: unknown;
    try {
      task.result();
      return;
    } catch (e) {
      error = e;
    }
    this.#errors.push(error);
    if (this.#parent.done()) {
      this.#loop.callExceptionHandler({
        message:
          `Task ${task} has errored out but its parent task ${this.#parent} is already completed`,
        exception: error,
        task,
      });
      return;
    }
    if (!this.#aborting && !this.#parentCancelRequested) {
      // Cancel the siblings and whatever the host is awaiting in the
      // group's body; the exit withdraws this request again.
      this.#abort();
      this.#parentCancelRequested = true;
      this.#parent.cancel();
    }
  }

  async #exit(outcome: Outcome): Promise<void> {
    this.#exiting = true;
    const threw = outcome.kind === "threw";
    const error = threw ? outcome.error : undefined;
    let propagateCancel: CancelledError | undefined =
      threw && error instanceof CancelledError ? error : undefined;
    if (threw && !this.#aborting) {
      // The body failed, or the host was cancelled in it.
      this.#abort();
    } else if (
      outcome.kind === "unknown" && !this.#aborting &&
      this.#parent.cancelling() > this.#parentCancellingAtStart
    ) {
      // `await using`: the host has a cancellation pending, so the block
      // was most likely cut short by it.
      this.#abort();
    }
    while (this.#tasks.size > 0) {
      if (this.#onCompleted === undefined) {
        this.#onCompleted = this.#loop.createFuture<void>();
        labelFuture(this.#onCompleted, {
          [DESCRIBE]: () => {
            const n = this.#tasks.size;
            return `TaskGroup exit: waiting for ${n} task${n === 1 ? "" : "s"}`;
          },
          [AWAITS]: () => this.#tasks,
        });
      }
      try {
        await this.#onCompleted;
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        if (!this.#aborting) {
          // The host was cancelled while waiting for the children.
          propagateCancel = e;
          this.#abort();
        }
      }
      this.#onCompleted = undefined;
    }
    if (this.#parentCancelRequested) {
      // Withdraw our own request; if none is left, the CancelledError
      // the body got was ours, and must not escape.
      if (this.#parent.uncancel() === 0) propagateCancel = undefined;
    }
    const errors = this.#errors;
    if (propagateCancel !== undefined && errors.length === 0) {
      throw propagateCancel;
    }
    if (threw && !(error instanceof CancelledError)) errors.push(error);
    if (errors.length === 0) return;
    // Keep a cancellation from outside alive: re-arm it for the host's
    // next await (asyncio does the same).
    if (this.#parent.cancelling() > 0) {
      this.#parent.uncancel();
      this.#parent.cancel();
    }
    this.#errors = [];
    throw new TaskGroupError(errors);
  }
}

// The TaskGroupErrors thrown by `await using` disposals, for the listener.
const disposed = new WeakSet<TaskGroupError>();
let listening = false;

/**
 * When a child fails, the group cancels the `await using` block, so the
 * block ends with a CancelledError and the runtime wraps the group's
 * error in a SuppressedError, which Deno prints as "An error was
 * suppressed during disposal" and nothing more. If such an error goes
 * uncaught, print the TaskGroupError it hides, with every child's stack.
 * A listener that called `preventDefault()` first has handled it.
 */
function explainIfUncaught(error: TaskGroupError): void {
  disposed.add(error);
  if (listening || typeof globalThis.addEventListener !== "function") return;
  listening = true;
  globalThis.addEventListener("unhandledrejection", (event) => {
    if (event.defaultPrevented) return;
    const hidden = hiddenGroupError(event.reason, 0);
    if (hidden === undefined) return;
    console.error(
      "A TaskGroup error is wrapped in the SuppressedError below " +
        "(`await using` hides it; `taskGroup(fn)` does not):",
      hidden,
    );
  });
}

/** The disposed TaskGroupError inside nested SuppressedErrors, if any. */
function hiddenGroupError(
  reason: unknown,
  depth: number,
): TaskGroupError | undefined {
  if (reason instanceof TaskGroupError) {
    return depth > 0 && disposed.has(reason) ? reason : undefined;
  }
  if (
    depth > 8 || typeof reason !== "object" || reason === null ||
    (reason as Error).name !== "SuppressedError"
  ) {
    return undefined;
  }
  const { error, suppressed } = reason as {
    error: unknown;
    suppressed: unknown;
  };
  return hiddenGroupError(error, depth + 1) ??
    hiddenGroupError(suppressed, depth + 1);
}

/**
 * Runs `fn` with a new `TaskGroup` and returns its result once every task
 * of the group has finished. If a task fails, the others and `fn` itself
 * are cancelled (`fn` sees a `CancelledError` at its current await), and
 * once all are done a `TaskGroupError` is thrown with every error in the
 * order they happened — including an error `fn` threw. A task cancelled
 * on its own is not an error. If the calling task is cancelled, every
 * task is cancelled and the `CancelledError` propagates. asyncio:
 * `async with asyncio.TaskGroup() as group`.
 *
 * @typeParam T The result type of `fn`.
 * @param fn The body; it receives the group, to start tasks with
 * `group.createTask(fn)`.
 * @returns What `fn` returns.
 * @throws {TaskGroupError} If any task (or `fn`) failed.
 * @throws {CancelledError} If the calling task was cancelled.
 * @throws {InvalidStateError} If called outside a task.
 * @throws {TypeError} If `fn` is not a function.
 *
 * @example Two downloads, one of which fails
 * ```ts
 * import {
 *   CancelledError,
 *   run,
 *   sleep,
 *   taskGroup,
 *   TaskGroupError,
 * } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const log: string[] = [];
 *   try {
 *     await taskGroup(async (group) => {
 *       group.createTask(async () => {
 *         try {
 *           await sleep(1000);
 *         } catch (error) {
 *           if (error instanceof CancelledError) log.push("slow cancelled");
 *           throw error;
 *         }
 *       });
 *       group.createTask(async () => {
 *         await sleep(100);
 *         throw new Error("broken link");
 *       });
 *     });
 *   } catch (error) {
 *     assert.ok(error instanceof TaskGroupError);
 *     log.push(...error.errors.map((e) => (e as Error).message));
 *   }
 *   assert.deepEqual(log, ["slow cancelled", "broken link"]);
 * }, { clock: new VirtualClock() });
 * ```
 */
export async function taskGroup<T>(
  fn: (group: TaskGroup) => PromiseLike<T> | T,
): Promise<T> {
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot run task group: expected fn as a function, got ${describe(fn)}`,
    );
  }
  const body = new Body();
  const group = new (TaskGroup as new (body: Body) => TaskGroup)(body);
  let result: T;
  try {
    result = await fn(group);
  } catch (error) {
    body.outcome = { kind: "threw", error };
    await group[Symbol.asyncDispose]();
    throw error;
  }
  body.outcome = { kind: "returned" };
  await group[Symbol.asyncDispose]();
  return result;
}
