/**
 * Private helpers for the composition functions: telling awaitables from
 * collections and options, and turning awaitables into the Futures they
 * wait on. `mod.ts` never exports this file.
 */
import { isThenable } from "./_checks.ts";
import { describe } from "./_describe.ts";
import { CancelledError } from "./errors.ts";
import { findRunningLoop } from "./_loops.ts";
import { type AbstractEventLoop, getEventLoop } from "./abstract_event_loop.ts";
import { Future } from "./futures.ts";
import { type Awaitable, ensureFuture } from "./tasks.ts";

/** Whether `value` is a Future, a promise or a coroutine function. */
export function isAwaitable(value: unknown): value is Awaitable<unknown> {
  return typeof value === "function" || isThenable(value);
}

/** Whether `value` is an iterable of awaitables rather than one awaitable. */
export function isCollection(value: unknown): value is Iterable<unknown> {
  return value !== null && typeof value === "object" && !isThenable(value) &&
    typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}

/** Whether `value` is a plain `{ ... }` object: an options bag. */
export function isPlainObject(
  value: unknown,
): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || isThenable(value)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The Futures to wait on for `aws`, one per item, in order: Futures and
 * Tasks as they are, a promise wrapped once however often it appears, and
 * a function started as a new Task each time it appears (each call is a
 * new coroutine). Every item is checked before any task starts, so bad
 * input leaves nothing running.
 */
export function toFutures(
  action: string,
  aws: Iterable<unknown>,
): { futures: Future<unknown>[]; loop: AbstractEventLoop } {
  const items = Array.isArray(aws) ? aws : [...aws];
  let loop: AbstractEventLoop | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item instanceof Future) {
      if (loop === undefined) loop = item.getLoop();
      else if (item.getLoop() !== loop) {
        throw new TypeError(
          `Cannot ${action}: the ${item.constructor.name} at index ${i} is bound to a different event loop`,
        );
      }
    } else if (!isAwaitable(item)) {
      throw new TypeError(
        `Cannot ${action}: expected a Future, Task, promise or function at index ${i}, got ${
          describe(item)
        }`,
      );
    }
  }
  loop ??= findRunningLoop() ?? getEventLoop();
  const futures: Future<unknown>[] = new Array(items.length);
  let wrapped: Map<object, Future<unknown>> | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Awaitable<unknown>;
    if (item instanceof Future || typeof item === "function") {
      futures[i] = ensureFuture(item, { loop });
      continue;
    }
    wrapped ??= new Map();
    let future = wrapped.get(item);
    if (future === undefined) {
      future = ensureFuture(item, { loop });
      wrapped.set(item, future);
    }
    futures[i] = future;
  }
  return { futures, loop };
}

/** The CancelledError a cancelled future throws, with its message. */
export function cancelledErrorOf(future: Future<unknown>): CancelledError {
  try {
    future.result();
  } catch (error) {
    if (error instanceof CancelledError) return error;
  }
  return new CancelledError();
}
