/**
 * `timeout` and `timeoutAt`: run a function under a deadline, as asyncio's
 * `timeouts.py`. When the deadline passes, the task is cancelled; the
 * scope turns the `CancelledError` that comes out of the function into a
 * `TimeoutError`.
 *
 * @module
 */
import { checkTime } from "./_checks.ts";
import { describe } from "./_describe.ts";
import { CancelledError, InvalidStateError, TimeoutError } from "./errors.ts";
import type { Handle } from "./abstract_event_loop.ts";
import { currentTask, type Task } from "./tasks.ts";

/**
 * A scope's state, as asyncio's `timeouts._State`, spelt as `toString()`
 * and the errors print it: "expiring" once the deadline fired and the
 * task was cancelled, "expired" once the scope turned that into a
 * TimeoutError on the way out.
 */
type TimeoutState = "active" | "expiring" | "expired" | "finished";

/**
 * The state of one `timeout`/`timeoutAt` scope. `runScope` drives it and
 * the scope's `Timeout` shows it; the Timeout gets it as the constructor
 * argument its public signature leaves out, so nothing else can make one.
 */
class Scope {
  state: TimeoutState = "active";
  when: number | null = null;
  handle: Handle | undefined = undefined;
  // The task's cancel requests on entry: more on exit are not ours.
  readonly cancelling: number;

  constructor(readonly task: Task<unknown>) {
    this.cancelling = task.cancelling();
  }

  reschedule(when: number | null): void {
    this.when = when;
    this.handle?.cancel();
    this.handle = undefined;
    if (when === null || when === Infinity) return;
    const loop = this.task.getLoop();
    this.handle = when <= loop.time()
      ? loop.callSoon(Scope.#expire, this)
      : loop.callAt(when, Scope.#expire, this);
  }

  /** Leaves the scope; throws the TimeoutError if the deadline cut `fn` short. */
  exit(threw: boolean, error: unknown): void {
    this.handle?.cancel();
    this.handle = undefined;
    if (this.state === "active") {
      this.state = "finished";
      return;
    }
    if (this.state !== "expiring") return;
    this.state = "expired";
    // Withdraw our cancel request; if no other request is left, the
    // CancelledError coming out of the function is ours to turn into a
    // TimeoutError. A request from outside (or an outer scope) keeps it
    // a CancelledError for them to handle.
    const remaining = this.task.uncancel();
    if (
      remaining <= this.cancelling && threw && error instanceof CancelledError
    ) {
      const timeoutError = new TimeoutError(
        `Timed out: the deadline at loop time ${this.when} ms passed`,
      );
      timeoutError.cause = error;
      throw timeoutError;
    }
  }

  static #expire(scope: Scope): void {
    scope.handle = undefined;
    scope.state = "expiring";
    scope.task.cancel();
  }
}

/**
 * The deadline of a `timeout` or `timeoutAt` scope, handed to its
 * function: read it with `when()`, move it with `reschedule()`, and ask
 * with `expired()` whether it cut the function short. asyncio:
 * `asyncio.Timeout`. Only `timeout` and `timeoutAt` make one.
 *
 * @example Extending a deadline while work makes progress
 * ```ts
 * import { getRunningLoop, run, sleep, timeout } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const loop = getRunningLoop();
 *   await timeout(100, async (t) => {
 *     for (let chunk = 0; chunk < 5; chunk++) {
 *       await sleep(80); // each chunk fits, five would not
 *       t.reschedule(loop.time() + 100);
 *     }
 *   });
 *   assert.equal(loop.time(), 400);
 * }, { clock: new VirtualClock() });
 * ```
 */
export class Timeout {
  #scope: Scope;

  /**
   * Not for direct use: `timeout()` and `timeoutAt()` make Timeouts.
   *
   * @throws {TypeError} When called directly.
   */
  constructor();
  constructor(scope?: Scope) {
    if (!(scope instanceof Scope)) {
      throw new TypeError(
        "Cannot construct Timeout: use timeout(ms, fn) or timeoutAt(when, fn)",
      );
    }
    this.#scope = scope;
  }

  /**
   * The deadline, in loop time (milliseconds, as `loop.time()`).
   *
   * @returns The deadline, or `null` if there is none.
   */
  when(): number | null {
    return this.#scope.when;
  }

  /**
   * Moves the deadline; a deadline already past fires on the next loop
   * iteration. asyncio: `Timeout.reschedule()`.
   *
   * @param when A loop time (`loop.time() + ms`), or `null` for none.
   * @throws {InvalidStateError} Once the deadline has fired or the scope
   * has ended.
   * @throws {TypeError} If `when` is not a number or null.
   * @throws {RangeError} If `when` is NaN.
   */
  reschedule(when: number | null): void {
    const scope = this.#scope;
    if (scope.state !== "active") {
      throw new InvalidStateError(
        `Cannot reschedule timeout: it is ${scope.state}`,
      );
    }
    scope.reschedule(checkTime("reschedule timeout", "when", when));
  }

  /**
   * Whether the deadline passed while the scope was running. asyncio:
   * `Timeout.expired()`.
   *
   * @returns `true` once the deadline has fired.
   */
  expired(): boolean {
    const state = this.#scope.state;
    return state === "expiring" || state === "expired";
  }

  /**
   * A description for logs, as asyncio's repr:
   * `<Timeout [active] when=1000>`, `<Timeout [expired]>`.
   *
   * @returns The description.
   */
  toString(): string {
    const { state, when } = this.#scope;
    return `<Timeout [${state}]${state === "active" ? ` when=${when}` : ""}>`;
  }
}

/**
 * Runs `fn` under a deadline `ms` milliseconds from now and returns its
 * result. When the deadline passes, the current task is cancelled: inside
 * `fn`, the await in progress throws `CancelledError` (so cleanup code
 * sees a cancellation), and the scope turns it into `TimeoutError` as it
 * leaves `fn`. asyncio: `async with asyncio.timeout(delay)`.
 *
 * Nested scopes attribute correctly: when an outer deadline fires through
 * an inner scope, the inner lets the `CancelledError` through and the
 * outer throws the `TimeoutError`; a cancellation from outside stays a
 * `CancelledError`. This relies on `Task.cancelling()`/`uncancel()`, as
 * in asyncio. The cancellation reaches every loop await the task has
 * pending, in every promise chain it started (see the README).
 *
 * @typeParam T The result type of `fn`.
 * @param ms Milliseconds from now; `null` or `undefined` for no deadline
 * (it can be set later with `reschedule`); 0 or less expires on the next
 * loop iteration.
 * @param fn The function to run; it receives the `Timeout`.
 * @returns What `fn` returns.
 * @throws {TimeoutError} If the deadline cut `fn` short.
 * @throws {InvalidStateError} If called outside a task.
 * @throws {TypeError} If `ms` is not a number or `fn` not a function.
 * @throws {RangeError} If `ms` is NaN.
 *
 * @example Giving up on slow work
 * ```ts
 * import { run, sleep, timeout, TimeoutError } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   await assert.rejects(
 *     timeout(1000, async () => {
 *       await sleep(60_000); // throws CancelledError after 1 s
 *     }),
 *     TimeoutError,
 *   );
 *   assert.equal(await timeout(1000, () => sleep(10, "fast")), "fast");
 * }, { clock: new VirtualClock() });
 * ```
 */
export function timeout<T>(
  ms: number | null | undefined,
  fn: (timeout: Timeout) => PromiseLike<T> | T,
): Promise<T> {
  try {
    const delay = checkTime("set timeout", "ms", ms);
    const task = scopeTask("set timeout", fn);
    const when = delay === null ? null : task.getLoop().time() + delay;
    return runScope(task, when, fn);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Runs `fn` under a deadline at loop time `when`, as `timeout` does with
 * a delay. asyncio: `async with asyncio.timeout_at(when)`.
 *
 * @typeParam T The result type of `fn`.
 * @param when A loop time (`loop.time() + ms`); `null` or `undefined` for
 * no deadline; a time already past expires on the next loop iteration.
 * @param fn The function to run; it receives the `Timeout`.
 * @returns What `fn` returns.
 * @throws {TimeoutError} If the deadline cut `fn` short.
 * @throws {InvalidStateError} If called outside a task.
 * @throws {TypeError} If `when` is not a number or `fn` not a function.
 * @throws {RangeError} If `when` is NaN.
 *
 * @example One deadline for several steps
 * ```ts
 * import {
 *   getRunningLoop,
 *   run,
 *   sleep,
 *   timeoutAt,
 *   TimeoutError,
 * } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const deadline = getRunningLoop().time() + 250;
 *   const done: string[] = [];
 *   await assert.rejects(
 *     timeoutAt(deadline, async () => {
 *       for (const step of ["connect", "login", "fetch"]) {
 *         await sleep(100);
 *         done.push(step);
 *       }
 *     }),
 *     TimeoutError,
 *   );
 *   assert.deepEqual(done, ["connect", "login"]);
 * }, { clock: new VirtualClock() });
 * ```
 */
export function timeoutAt<T>(
  when: number | null | undefined,
  fn: (timeout: Timeout) => PromiseLike<T> | T,
): Promise<T> {
  try {
    const deadline = checkTime("set timeout", "when", when);
    const task = scopeTask("set timeout", fn);
    return runScope(task, deadline, fn);
  } catch (error) {
    return Promise.reject(error);
  }
}

function scopeTask(action: string, fn: unknown): Task<unknown> {
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot ${action}: expected fn as a function, got ${describe(fn)}`,
    );
  }
  const task = currentTask();
  if (task === undefined) {
    throw new InvalidStateError(
      `Cannot ${action}: not inside a task; call it from a coroutine run by run() or createTask()`,
    );
  }
  return task;
}

async function runScope<T>(
  task: Task<unknown>,
  when: number | null,
  fn: (timeout: Timeout) => PromiseLike<T> | T,
): Promise<T> {
  const scope = new Scope(task);
  const timeout = new (Timeout as new (scope: Scope) => Timeout)(scope);
  scope.reschedule(when);
  let result: T;
  try {
    result = await fn(timeout);
  } catch (error) {
    scope.exit(true, error);
    throw error;
  }
  scope.exit(false, undefined);
  return result;
}
