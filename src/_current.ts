/**
 * Which task is running. The current task travels through `await`s with
 * `AsyncLocalStorage` (built into Deno, Node and Bun), so a Future's `then`
 * learns which task is suspending on it, even inside promise chains the
 * task started.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The running task, opaque below tasks.ts. */
export const currentTaskStore: AsyncLocalStorage<object> =
  new AsyncLocalStorage<object>();

/**
 * What a Future needs from the task that awaits it, registered by
 * tasks.ts (futures sit below tasks and cannot import them): the task
 * tracks its waits in flight so that `cancel()` reaches every one, and
 * hands a pending cancellation to the next await.
 */
export interface AwaitHooks {
  /** An await begins; returns whether it must throw CancelledError at once. */
  begin(task: object, wait: object): boolean;
  /** The await's future is done and its callbacks run. */
  end(task: object, wait: object): void;
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
