/**
 * `sleep(ms, value?)`: a Future that resolves after `ms` milliseconds.
 *
 * @module
 */
import { checkNumber } from "./_checks.ts";
import { DESCRIBE, formatDuration } from "./_introspect.ts";
import { findRunningLoop } from "./_loops.ts";
import { getEventLoop, type TimerHandle } from "./abstract_event_loop.ts";
import { Future } from "./futures.ts";

/** A sleep's future: cancelling it removes its timer from the loop at once. */
class Sleep<T> extends Future<T> {
  timer: TimerHandle | undefined = undefined;
  ms = 0;

  override cancel(message?: string): boolean {
    if (!super.cancel(message)) return false;
    this.timer?.cancel();
    this.timer = undefined;
    return true;
  }

  /** For the task tree: `sleep(500 ms), due in 120 ms`. */
  [DESCRIBE](now: number): string {
    // The argument as written: sleep(1500) reads `sleep(1500 ms)`.
    const what = this.ms === Infinity
      ? "sleep(Infinity)"
      : `sleep(${this.ms} ms)`;
    const timer = this.timer;
    if (timer === undefined) {
      return this.ms === Infinity ? `${what}, until cancelled` : what;
    }
    return `${what}, due in ${formatDuration(timer.when() - now)}`;
  }
}

function wake<T>(future: Sleep<T>, value: T): void {
  future.timer = undefined;
  if (!future.done()) future.setResult(value);
}

/**
 * Waits `ms` milliseconds, then resolves to `value`. `sleep(0)` yields to
 * the other tasks for exactly one loop iteration. Cancelling the awaiting task
 * throws `CancelledError` here and removes the timer. asyncio:
 * `asyncio.sleep()` — in milliseconds, as `setTimeout`.
 *
 * @typeParam T The type of `value`.
 * @param ms How long, in milliseconds; `0` or less yields once, `Infinity`
 * sleeps until cancelled.
 * @param value What the sleep resolves to.
 * @returns A Future for `value`.
 * @throws {TypeError} If `ms` is not a number.
 * @throws {RangeError} If `ms` is NaN.
 *
 * @example Sleeping on virtual time
 * ```ts
 * import { getRunningLoop, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const start = getRunningLoop().time();
 *   assert.equal(await sleep(3_600_000, "an hour later"), "an hour later");
 *   assert.equal(getRunningLoop().time() - start, 3_600_000);
 * }, { clock: new VirtualClock() });
 * ```
 */
export function sleep<T = undefined>(ms: number, value?: T): Future<T> {
  checkNumber(
    "sleep",
    "ms",
    ms,
    "a number of milliseconds",
    (n) => !Number.isNaN(n),
  );
  const loop = findRunningLoop() ?? getEventLoop();
  const future = new Sleep<T>({ loop });
  future.ms = ms;
  // Already done, so the await resumes on the next iteration, as asyncio's
  // sleep(0) yields exactly once.
  if (ms <= 0) future.setResult(value as T);
  else if (ms !== Infinity) {
    future.timer = loop.callLater(ms, wake, future, value as T);
  }
  return future;
}
