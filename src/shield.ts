/**
 * `shield`: await work without letting a cancellation of the awaiting
 * task reach it, as asyncio's `asyncio.shield()`.
 *
 * @module
 */
import { describe } from "./_describe.ts";
import { cancelledErrorOf, isAwaitable } from "./_children.ts";
import { AWAITS, DESCRIBE, setCallbackOwner } from "./_introspect.ts";
import { Future } from "./futures.ts";
import { type Awaitable, ensureFuture } from "./tasks.ts";

/** The Future `shield` returns: cancelled with the inner work's own error. */
class ShieldFuture<T> extends Future<T> {
  constructor(readonly inner: Future<T>) {
    super({ loop: inner.getLoop() });
  }

  cancelAs(inner: Future<T>): void {
    this._cancelWith(cancelledErrorOf(inner));
  }

  /** For the task tree: `shield(<Task name='save' pending>)`. */
  [DESCRIBE](): string {
    return `shield(${this.inner})`;
  }

  [AWAITS](): Iterable<object> {
    return [this.inner];
  }
}

/**
 * Protects an awaitable from cancellation: the returned Future settles as
 * `aw` does, but cancelling it — or the task awaiting it — cancels only
 * the returned Future, not `aw`. The awaiting task still gets its
 * `CancelledError`; the shielded work runs on. If `aw` is cancelled by
 * other means, the returned Future is cancelled too. asyncio:
 * `asyncio.shield()`.
 *
 * A function is started as its own Task (keep it: `shield(task)` with a
 * task you hold lets you await the result later). A Future already done
 * is returned as is.
 *
 * @typeParam T The result type.
 * @param aw A Task, Future, promise or function.
 * @returns A Future for the result of `aw`.
 * @throws {TypeError} If `aw` is not a Task, Future, promise or function.
 *
 * @example Saving work that must finish
 * ```ts
 * import {
 *   CancelledError,
 *   createTask,
 *   run,
 *   shield,
 *   sleep,
 * } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const save = createTask(() => sleep(100, "saved"));
 *   const caller = createTask(() => shield(save));
 *   await sleep(10);
 *   caller.cancel();
 *   await assert.rejects(caller, CancelledError);
 *   assert.equal(await save, "saved"); // the save was not cancelled
 * }, { clock: new VirtualClock() });
 * ```
 */
export function shield<T>(aw: Awaitable<T>): Future<T> {
  if (!isAwaitable(aw)) {
    throw new TypeError(
      `Cannot shield: expected a Future, Task, promise or function, got ${
        describe(aw)
      }`,
    );
  }
  const inner = ensureFuture(aw);
  if (inner.done()) return inner;
  const outer = new ShieldFuture<T>(inner);

  const onInnerDone = (): void => {
    if (outer.cancelled()) {
      // Nobody waits any more: mark the error retrieved.
      if (!inner.cancelled()) inner.exception();
      return;
    }
    if (inner.cancelled()) {
      outer.cancelAs(inner);
      return;
    }
    let value: T;
    try {
      value = inner.result();
    } catch (error) {
      outer.setException(error);
      return;
    }
    outer.setResult(value);
  };
  const onOuterDone = (): void => {
    if (!inner.done()) inner.removeDoneCallback(onInnerDone);
  };
  setCallbackOwner(onInnerDone, outer);
  inner.addDoneCallback(onInnerDone);
  outer.addDoneCallback(onOuterDone);
  return outer;
}
