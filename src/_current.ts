/**
 * Which task is running, and what futures and tasks share about its
 * awaits. The current task travels through `await`s with
 * `AsyncLocalStorage` (built into Deno, Node and Bun), so a Future's `then`
 * learns which task is suspending on it, even inside promise chains the
 * task started.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Future } from "./futures.ts";

/** The running task, opaque below tasks.ts. */
export const currentTaskStore: AsyncLocalStorage<object> =
  new AsyncLocalStorage<object>();

/**
 * One `then` (or `await`) on a future: its callbacks, the task awaiting, if
 * any, and whether that task asked for this await to be cancelled. Futures
 * make them; a task keeps the ones in flight, to cancel them.
 */
export class Wait {
  cancelRequested = false;
  cancelMessage: string | undefined = undefined;
  constructor(
    readonly future: Future<unknown>,
    readonly task: object | undefined,
    readonly onFulfilled: ((value: unknown) => unknown) | null | undefined,
    readonly onRejected: ((reason: unknown) => unknown) | null | undefined,
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
  ) {}

  /**
   * Cancels this wait of a task being cancelled: the awaited future is
   * cancelled (a Task only gets the request). If it refuses — it is already
   * done with its callbacks not run yet, or it declines as gather's future
   * does when no child could be cancelled — the wait throws CancelledError
   * when it resumes instead of handing over the result, as asyncio's
   * `_must_cancel` does.
   */
  cancel(message: string | undefined): void {
    if (!this.future.cancel(message)) {
      this.cancelRequested = true;
      this.cancelMessage = message;
    }
  }

  /**
   * Withdraws what `cancel` asked of a wait whose future had refused it:
   * the task resumes with the outcome after all, as asyncio's `uncancel()`
   * clears `_must_cancel`.
   */
  uncancel(): void {
    this.cancelRequested = false;
  }
}

/**
 * What a Future needs from the task that awaits it, registered by
 * tasks.ts (futures sit below tasks and cannot import them): the task
 * tracks its waits in flight so that `cancel()` reaches every one, and
 * hands a pending cancellation to the next await.
 */
export interface AwaitHooks {
  /** An await begins; returns whether it must throw CancelledError at once. */
  begin(task: object, wait: Wait): boolean;
  /** The await's future is done and its callbacks run. */
  end(task: object, wait: Wait): void;
  /** The message of the cancellation `begin` handed over. */
  cancelMessage(task: object): string | undefined;
}

export let awaitHooks: AwaitHooks = {
  begin: () => false,
  end: () => {},
  cancelMessage: () => undefined,
};

export function setAwaitHooks(hooks: AwaitHooks): void {
  awaitHooks = hooks;
}

/**
 * Awaits `future` from the running task as `then` does, without making
 * the promise `then` returns: for a caller that would drop it. Set by
 * futures.ts, which alone can reach a Future's waits.
 */
export let awaitWithoutPromise: (
  future: Future<unknown>,
  onFulfilled: (value: unknown) => void,
  onRejected: (reason: unknown) => void,
) => void = (): never => {
  throw new Error("Cannot await: futures.ts is not loaded");
};

export function setAwaitWithoutPromise(
  hook: typeof awaitWithoutPromise,
): void {
  awaitWithoutPromise = hook;
}

/**
 * The task whose step a loop callback just resumed and that has not yet
 * reached its next loop await or its end. The loop keeps passing microtask
 * turns while it is set, so the whole step — even one that returns through
 * several async functions — runs before the next ready callback, as CPython
 * runs `Task.__step` inline.
 */
export let resumingTask: object | undefined = undefined;

export function setResumingTask(task: object | undefined): void {
  resumingTask = task;
}
