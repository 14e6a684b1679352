/**
 * Which task is running. The current task travels through `await`s with
 * `AsyncLocalStorage` (built into Deno, Node and Bun), so a Future's `then`
 * learns which task is suspending on it, even inside promise chains the
 * task started.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What a Future needs from the task that awaits it: the waits in flight, so
 * that `cancel()` can reach every one, and a pending cancellation to deliver
 * at the next await. Tasks implement it; futures only see this interface.
 */
export interface Awaiter {
  /** Registers an await that begins; returns whether it must throw CancelledError. */
  beginWait(wait: object): boolean;
  /** Unregisters an await when its future's callbacks run. */
  endWait(wait: object): void;
  /** The pending cancel message, consumed by the await that delivers it. */
  readonly cancelMessage: string | undefined;
}

export const currentAwaiter: AsyncLocalStorage<Awaiter> = new AsyncLocalStorage<
  Awaiter
>();
