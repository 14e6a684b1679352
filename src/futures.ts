/**
 * `Future`: a result that arrives later, as asyncio's `asyncio.Future`. It
 * is a thenable, so `await future` works; its `then` is the one place a
 * task suspends, and it records the wait with the awaiting task so that
 * cancelling the task reaches it.
 *
 * @module
 */
import {
  awaitHooks,
  currentTaskStore,
  setAwaitWithoutPromise,
  setResumingTask,
  Wait,
} from "./_current.ts";
import {
  noteAwait,
  noteCreated,
  setFutureInspector,
  tracing,
} from "./_introspect.ts";
import { CancelledError, InvalidStateError } from "./errors.ts";
import { findRunningLoop } from "./_loops.ts";
import { type AbstractEventLoop, getEventLoop } from "./abstract_event_loop.ts";

/**
 * A future's state, as asyncio's `_state`, spelt as `toString()` and the
 * errors print it. A future that failed is "finished" too: its value is a
 * `Failure`.
 */
type FutureState = "pending" | "finished" | "cancelled";

/**
 * What a failed future holds: the error, and whether anyone retrieved it
 * (until then the loop reports it as "never retrieved" when the future
 * is collected or the loop closes). A box made only on failure keeps
 * every future a field smaller than a flag would.
 */
class Failure {
  retrieved = false;
  constructor(readonly error: unknown) {}
}

/** Options for `new Future()`. */
export interface FutureOptions {
  /** The loop that runs the done-callbacks; the running (or current) loop by default. */
  loop?: AbstractEventLoop;
}

/** A callback added with `addDoneCallback`, called with the done future. */
export type DoneCallback<T> = (future: Future<T>) => void;

// Stored callbacks are typed loosely so that Future<T> stays assignable to
// Future<unknown>, as Promise<T> is to Promise<unknown>.
type StoredCallback = Wait | ((future: never) => void);

// then() creates a promise per await: a shared executor that stores its
// resolvers in these two module slots spares a closure and its context
// each time. Measured (v8 total_allocated_bytes per call, Deno 2.9.6):
// then() on a done future allocates 400 bytes this way, 504 with a
// closure executor; `await sleep(0)` 824 against 929.
let capturedResolve: (value: unknown) => void = () => {};
let capturedReject: (reason: unknown) => void = () => {};
const ignore = (): void => {};
const rethrow = (error: unknown): never => {
  throw error;
};
function captureResolvers(
  resolve: (value: never) => void,
  reject: (reason: unknown) => void,
): void {
  capturedResolve = resolve as (value: unknown) => void;
  capturedReject = reject;
}

/**
 * A placeholder for a result that is set later, by `setResult`,
 * `setException` or `cancel`. Awaiting it gives the result or throws the
 * error; callbacks added with `addDoneCallback` run on the loop, in the
 * order they were added, on the iteration after the future is done.
 * asyncio: `asyncio.Future`.
 *
 * @typeParam T The type of the result.
 *
 * @example Handing a result from a callback to a coroutine
 * ```ts
 * import { Future, getRunningLoop, run } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const answer = await run(async () => {
 *   const future = new Future<number>();
 *   getRunningLoop().callLater(10, () => future.setResult(42));
 *   return await future;
 * });
 * assert.equal(answer, 42);
 * ```
 */
export class Future<T> implements Promise<T> {
  #loop: AbstractEventLoop;
  #state: FutureState = "pending";
  // The result, a Failure, or for a cancelled future the cancel message or
  // the very CancelledError it was cancelled with.
  #value: unknown = undefined;
  // The done-callbacks: most futures get exactly one (the task awaiting
  // them), so it lives in a field and only further ones in an array.
  #callback: StoredCallback | undefined = undefined;
  #moreCallbacks: StoredCallback[] | undefined = undefined;

  /**
   * Creates a pending future.
   *
   * @param options The loop to bind to.
   */
  constructor(options?: FutureOptions) {
    this.#loop = options?.loop ?? findRunningLoop() ?? getEventLoop();
    if (tracing) noteCreated(this, new.target);
  }

  /**
   * The loop this future is bound to.
   *
   * @returns The loop.
   */
  getLoop(): AbstractEventLoop {
    return this.#loop;
  }

  /**
   * Whether the future has a result, an exception, or was cancelled.
   *
   * @returns `true` once done.
   */
  done(): boolean {
    return this.#state !== "pending";
  }

  /**
   * Whether the future was cancelled.
   *
   * @returns `true` once cancelled.
   */
  cancelled(): boolean {
    return this.#state === "cancelled";
  }

  /**
   * The result, or the error thrown.
   *
   * @returns The result.
   * @throws {CancelledError} If the future was cancelled.
   * @throws {InvalidStateError} If the future is not done yet.
   * @throws The future's exception, if it has one.
   */
  result(): T {
    if (this.#state === "cancelled") throw this.#makeCancelledError();
    if (this.#state === "pending") {
      throw new InvalidStateError("Cannot get result: future is pending");
    }
    const value = this.#value;
    if (value instanceof Failure) {
      this.#retrieved();
      throw value.error;
    }
    return value as T;
  }

  /**
   * The exception set with `setException`, or `undefined`.
   *
   * @returns The exception, if any.
   * @throws {CancelledError} If the future was cancelled.
   * @throws {InvalidStateError} If the future is not done yet.
   */
  exception(): unknown {
    if (this.#state === "cancelled") throw this.#makeCancelledError();
    if (this.#state === "pending") {
      throw new InvalidStateError("Cannot get exception: future is pending");
    }
    const value = this.#value;
    if (!(value instanceof Failure)) return undefined;
    this.#retrieved();
    return value.error;
  }

  /**
   * Marks the future done with `result` and schedules its callbacks.
   *
   * @param result The result.
   * @throws {InvalidStateError} If the future is already done.
   */
  setResult(result: T): void {
    if (this.#state !== "pending") {
      throw new InvalidStateError(
        `Cannot set result: future is ${this.#state}`,
      );
    }
    this.#value = result;
    this.#state = "finished";
    this.#scheduleCallbacks();
  }

  /**
   * Marks the future done with an error and schedules its callbacks. If
   * nobody retrieves the error, it reaches the loop's exception handler.
   *
   * @param exception The error: anything but `undefined`, which would
   * make `exception()` look like success.
   * @throws {TypeError} If `exception` is `undefined`.
   * @throws {InvalidStateError} If the future is already done.
   */
  setException(exception: unknown): void {
    if (exception === undefined) {
      throw new TypeError(
        "Cannot set exception: expected an error, got undefined; call setResult() for a result",
      );
    }
    this._fail(exception);
  }

  /**
   * As `setException`, for whatever a coroutine threw: JavaScript can
   * throw `undefined` too, and a Task must fail with it all the same.
   *
   * @param exception The error.
   * @throws {InvalidStateError} If the future is already done.
   */
  protected _fail(exception: unknown): void {
    if (this.#state !== "pending") {
      throw new InvalidStateError(
        `Cannot set exception: future is ${this.#state}`,
      );
    }
    this.#value = new Failure(exception);
    this.#state = "finished";
    this.#loop._trackUnretrieved(this as Future<unknown>, {
      message: `${this.constructor.name} exception was never retrieved`,
      exception,
      future: this as Future<unknown>,
    });
    this.#scheduleCallbacks();
  }

  /**
   * Cancels the future and schedules its callbacks. On a future that is
   * already done it changes nothing, but an exception it holds counts as
   * retrieved, as in asyncio: whoever cancels no longer waits for it.
   *
   * @param message Carried by the CancelledError its awaiters get.
   * @returns `false` if the future was already done, else `true`.
   */
  cancel(message?: string): boolean {
    if (this.#state !== "pending") {
      this.#retrieved();
      return false;
    }
    this.#cancelled(message);
    return true;
  }

  /**
   * Adds a callback to run, with the future, once it is done: on the next
   * iteration, through `callSoon`, in the order added.
   *
   * @param callback The callback.
   */
  addDoneCallback(callback: DoneCallback<T>): void {
    if (typeof callback !== "function") {
      throw new TypeError(
        `Cannot add done callback: expected a function, got ${typeof callback}`,
      );
    }
    this.#addCallback(callback);
  }

  /**
   * Removes every registration of `callback`.
   *
   * @param callback The callback.
   * @returns How many were removed.
   */
  removeDoneCallback(callback: DoneCallback<T>): number {
    let removed = 0;
    if (this.#moreCallbacks !== undefined) {
      const kept = this.#moreCallbacks.filter((c) => c !== callback);
      removed = this.#moreCallbacks.length - kept.length;
      this.#moreCallbacks = kept;
    }
    if (this.#callback === callback) {
      removed++;
      this.#callback = this.#moreCallbacks?.shift();
    }
    return removed;
  }

  /**
   * Makes the future a thenable. The callbacks run on the loop, the
   * iteration after the future is done; if a task is awaiting, cancelling
   * that task cancels this future and throws CancelledError here.
   *
   * @param onFulfilled Called with the result.
   * @param onRejected Called with the error.
   * @returns A promise for the callback's result.
   */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    const promise = new Promise<R1 | R2>(captureResolvers);
    this.#await(
      onFulfilled as ((value: unknown) => unknown) | null | undefined,
      onRejected,
      capturedResolve,
      capturedReject,
    );
    return promise;
  }

  /**
   * Registers one await by the running task, or refuses it at once. What
   * the callbacks return settles `then()`'s promise through `resolve` and
   * `reject`.
   */
  #await(
    onFulfilled: ((value: unknown) => unknown) | null | undefined,
    onRejected: ((reason: unknown) => unknown) | null | undefined,
    resolve: (value: unknown) => void,
    reject: (reason: unknown) => void,
  ): void {
    const task = currentTaskStore.getStore();
    const refusal = this.#refusal(task);
    if (refusal !== undefined) {
      const error = new InvalidStateError(refusal);
      if (typeof onRejected !== "function") reject(error);
      else {
        try {
          resolve(onRejected(error));
        } catch (thrown) {
          reject(thrown);
        }
      }
      return;
    }
    const wait = new Wait(
      this as Future<unknown>,
      task,
      onFulfilled,
      onRejected,
      resolve,
      reject,
    );
    if (tracing) noteAwait(wait);
    if (task !== undefined && awaitHooks.begin(task, wait)) {
      // A cancel requested while the task was not awaiting a future is
      // delivered here, and cancels what it was about to await (asyncio).
      wait.cancelRequested = true;
      wait.cancelMessage = awaitHooks.cancelMessage(task);
      this.cancel(wait.cancelMessage);
    }
    this.#addCallback(wait);
  }

  /**
   * As `Promise.prototype.catch`: `then(undefined, onRejected)`.
   *
   * @param onRejected Called with the error.
   * @returns A promise for the callback's result.
   */
  catch<R = never>(
    onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null,
  ): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  /**
   * As `Promise.prototype.finally`.
   *
   * @param onFinally Called once the future is done.
   * @returns A promise that settles as the future did.
   */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then(
      (value) => {
        onFinally?.();
        return value;
      },
      (reason) => {
        onFinally?.();
        throw reason;
      },
    );
  }

  /** `Future` or `Task`, for `Object.prototype.toString`. */
  get [Symbol.toStringTag](): string {
    return this.constructor.name;
  }

  /** A description for logs, as asyncio's repr. */
  toString(): string {
    return `<${this.constructor.name} ${this._describeState()}>`;
  }

  /**
   * The state part of `toString()`; subclasses add their own details.
   *
   * @returns For example `finished result=1`.
   */
  protected _describeState(): string {
    if (this.#state !== "finished") return this.#state;
    const value = this.#value;
    return value instanceof Failure
      ? `finished exception=${String(value.error)}`
      : `finished result=${String(value)}`;
  }

  /**
   * Called when an await that was cancelled after this future finished
   * drops its result: the awaiting task sees CancelledError instead. A
   * future whose result must be released (an open file, say) overrides
   * it; the default does nothing.
   *
   * @param _result The result nobody received.
   */
  protected _resultDropped(_result: T): void {}

  /**
   * Cancels the future with `error` itself: its awaiters, `result()` and
   * `exception()` get that very object (class, fields, stack and cause),
   * as a Task keeps the CancelledError its coroutine raised. Unlike
   * `cancel()`, no subclass hook runs: the work is over already.
   *
   * @param error The CancelledError to hand on.
   * @throws {InvalidStateError} If the future is already done.
   */
  protected _cancelWith(error: CancelledError): void {
    if (this.#state !== "pending") {
      throw new InvalidStateError(
        `Cannot cancel: future is ${this.#state}`,
      );
    }
    this.#cancelled(error);
  }

  #cancelled(messageOrError: string | CancelledError | undefined): void {
    this.#state = "cancelled";
    this.#value = messageOrError;
    this.#scheduleCallbacks();
  }

  #makeCancelledError(): CancelledError {
    const value = this.#value;
    if (value instanceof CancelledError) return value;
    return new CancelledError(value as string | undefined);
  }

  /**
   * Why an await of this future could never resume, if it could not: the
   * loop that runs its callbacks is closed, or not running (a top-level
   * `await sleep(1)`), or is not the awaiting task's, or the task awaits
   * itself. asyncio raises in these cases too; waiting forever is worse.
   */
  #refusal(task: object | undefined): string | undefined {
    if (task === this) return `Cannot await task: ${this} cannot await itself`;
    const loop = this.#loop;
    if (loop.isClosed()) {
      return `Cannot await ${this}: its event loop is closed`;
    }
    if (task === undefined) {
      if (loop.isRunning()) return undefined;
      return `Cannot await ${this}: its event loop is not running; ` +
        "put the code in an async function and run it with run(main), " +
        "e.g. await run(async () => { await sleep(100); })";
    }
    if ((task as Future<unknown>).#loop !== loop) {
      return `Cannot await ${this}: it belongs to another event loop than ` +
        `the task awaiting it (${task}); create it in that task's loop`;
    }
    return undefined;
  }

  #retrieved(): void {
    const value = this.#value;
    if (value instanceof Failure && !value.retrieved) {
      value.retrieved = true;
      this.#loop._untrackUnretrieved(this as Future<unknown>);
    }
  }

  #addCallback(callback: StoredCallback): void {
    if (this.#state !== "pending") this.#schedule(callback);
    else if (this.#callback === undefined) this.#callback = callback;
    else (this.#moreCallbacks ??= []).push(callback);
  }

  #schedule(callback: StoredCallback): void {
    if (callback instanceof Wait) {
      this.#loop._callSoonWith(Future.#resume, callback);
    } else this.#loop._callSoonWith(callback as DoneCallback<T>, this);
  }

  #scheduleCallbacks(): void {
    const first = this.#callback;
    if (first === undefined) return;
    this.#callback = undefined;
    this.#schedule(first);
    const more = this.#moreCallbacks;
    if (more === undefined) return;
    this.#moreCallbacks = undefined;
    for (let i = 0; i < more.length; i++) this.#schedule(more[i]);
  }

  static {
    // Awaits whose promise nobody would read (a task's wait on the Future
    // its body returned, a WaiterList park) skip it: 217 of the 785 heap
    // bytes a task sleeping in createTask(() => sleep(ms)) held. An error
    // their callbacks throw reaches the loop's exception handler.
    setAwaitWithoutPromise((future, onFulfilled, onRejected) =>
      future.#await(onFulfilled, onRejected, ignore, rethrow)
    );
    // Introspection reads the callbacks not run yet: the awaits (with
    // their tasks) and the combinators' done-callbacks.
    setFutureInspector({
      callbacks(future) {
        const f = future as Future<unknown>;
        if (f.#callback === undefined) return [];
        return f.#moreCallbacks === undefined
          ? [f.#callback]
          : [f.#callback, ...f.#moreCallbacks];
      },
    });
  }

  /** Resumes one `then`/`await` of a done future, on the loop. */
  static #resume(wait: Wait): void {
    const future = wait.future;
    if (wait.task !== undefined) {
      awaitHooks.end(wait.task, wait);
      setResumingTask(wait.task);
    }
    let failed = true;
    let outcome = future.#value;
    if (wait.cancelRequested) {
      // The task gets CancelledError in place of the outcome; an error the
      // future holds was handed to the task all the same (asyncio's
      // `__wakeup` reads it), so it is not "never retrieved".
      if (outcome instanceof Failure) future.#retrieved();
      else if (future.#state === "finished") future._resultDropped(outcome);
      outcome = new CancelledError(wait.cancelMessage);
    } else if (future.#state === "cancelled") {
      outcome = future.#makeCancelledError();
    } else if (outcome instanceof Failure) {
      future.#retrieved();
      outcome = outcome.error;
    } else {
      failed = false;
    }
    const callback = failed ? wait.onRejected : wait.onFulfilled;
    if (typeof callback !== "function") {
      if (failed) wait.reject(outcome);
      else wait.resolve(outcome);
      return;
    }
    try {
      wait.resolve(callback(outcome));
    } catch (error) {
      wait.reject(error);
    }
  }
}

/**
 * Whether `value` is a Future (a Task is one too). asyncio:
 * `asyncio.isfuture()`.
 *
 * @param value Anything.
 * @returns `true` for a Future or Task.
 *
 * @example Telling futures from promises
 * ```ts
 * import { isFuture, newEventLoop } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const loop = newEventLoop();
 * assert.ok(isFuture(loop.createFuture()));
 * assert.ok(!isFuture(Promise.resolve(1)));
 * loop.close();
 * ```
 */
export function isFuture(value: unknown): value is Future<unknown> {
  return value instanceof Future;
}
