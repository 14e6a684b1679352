/**
 * `gather`: run awaitables concurrently and collect their results in
 * order, as asyncio's `asyncio.gather()`.
 *
 * @module
 */
import { describe } from "./_describe.ts";
import {
  cancelledErrorOf,
  isCollection,
  isPlainObject,
  toFutures,
} from "./_children.ts";
import { AWAITS, DESCRIBE, setCallbackOwner } from "./_introspect.ts";
import type { AbstractEventLoop } from "./abstract_event_loop.ts";
import { Future } from "./futures.ts";
import type { Awaitable } from "./tasks.ts";

/** Options for `gather`, passed as its last argument. */
export interface GatherOptions {
  /**
   * Return each error in place of its result instead of failing with the
   * first one; a cancelled child gives its `CancelledError`. `false` by
   * default.
   */
  returnExceptions?: boolean;
}

/** What awaiting `A` (a Future, promise or coroutine function) gives. */
export type AwaitedResult<A> = A extends (...args: never[]) => infer R
  ? Awaited<R>
  : Awaited<A>;

/** The results of `gather(...aws)`, in argument order. */
export type GatherResults<A extends readonly unknown[]> = {
  -readonly [K in keyof A]: AwaitedResult<A[K]>;
};

/**
 * The results of `gather(...aws, { returnExceptions: true })`: each a
 * result or the error thrown (typed `Error`; a thrown non-Error comes back
 * as it was thrown).
 */
export type GatherSettledResults<A extends readonly unknown[]> = {
  -readonly [K in keyof A]: AwaitedResult<A[K]> | Error;
};

/**
 * The Future `gather` returns. Cancelling it cancels every child not yet
 * done (asyncio's `_GatheringFuture`); it then fails with `CancelledError`
 * once they have finished, whatever `returnExceptions` says.
 */
class GatheringFuture<T> extends Future<T> {
  readonly children: Future<unknown>[];
  cancelRequested = false;

  constructor(children: Future<unknown>[], loop: AbstractEventLoop) {
    super({ loop });
    this.children = children;
  }

  override cancel(message?: string): boolean {
    if (this.done()) return super.cancel(message); // marks an error retrieved
    let cancelled = false;
    for (const child of this.children) {
      if (child.cancel(message)) cancelled = true;
    }
    // A child actually cancelled: the gather ends in CancelledError even
    // with returnExceptions (CPython bpo-32684).
    if (cancelled) this.cancelRequested = true;
    return cancelled;
  }

  /** For the task tree: `gather of 3 (1 done)`. */
  [DESCRIBE](): string {
    const unique = new Set(this.children);
    let done = 0;
    for (const child of unique) if (child.done()) done++;
    return `gather of ${unique.size} (${done} done)`;
  }

  [AWAITS](): Iterable<object> {
    return new Set(this.children);
  }
}

/**
 * Runs awaitables concurrently and resolves to their results, in argument
 * order. asyncio: `asyncio.gather()`.
 *
 * Each argument may be a Task or Future, a promise, or a function, which
 * is started as its own Task. Pass them as arguments — `gather(a, b)` —
 * or, for large collections, as one iterable: `gather(tasks)` (spreading
 * 200,000 arguments overflows V8's stack). Options go last.
 *
 * If a child fails, the returned Future fails with that first error at
 * once, and the other children keep running: they are not cancelled.
 * With `returnExceptions: true`, errors (and a cancelled child's
 * `CancelledError`) take their place among the results instead.
 * Cancelling the returned Future — or the task awaiting it — cancels every
 * child not yet done; a child cancelled on its own counts as a child that
 * threw `CancelledError`, and does not cancel the others.
 *
 * The same Future or promise given twice is awaited once and its result
 * appears twice; the same function given twice runs twice.
 *
 * @param aws The awaitables, then optionally `{ returnExceptions }`.
 * @returns A Future for the array of results.
 * @throws {TypeError} If an argument is not a Future, Task, promise or
 * function, or if Futures belong to different loops.
 *
 * @example Three downloads at once
 * ```ts
 * import { gather, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * async function download(name: string, ms: number) {
 *   await sleep(ms);
 *   return `${name}: ${ms} ms`;
 * }
 *
 * await run(async () => {
 *   const results = await gather(
 *     () => download("a", 300),
 *     () => download("b", 100),
 *     () => download("c", 200),
 *   );
 *   assert.deepEqual(results, ["a: 300 ms", "b: 100 ms", "c: 200 ms"]);
 * }, { clock: new VirtualClock() });
 * ```
 *
 * @example Errors as results, and a large collection
 * ```ts
 * import { createTask, gather, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const tasks = Array.from({ length: 1000 }, (_, i) =>
 *     createTask(async () => {
 *       await sleep(i);
 *       if (i === 7) throw new Error("seven");
 *       return i;
 *     })
 *   );
 *   const results = await gather(tasks, { returnExceptions: true });
 *   assert.equal(results.length, 1000);
 *   assert.equal(results[6], 6);
 *   assert.ok(results[7] instanceof Error);
 * }, { clock: new VirtualClock() });
 * ```
 */
export function gather<T>(
  aws: Iterable<Awaitable<T>>,
  options: GatherOptions & { returnExceptions: true },
): Future<(T | Error)[]>;
/** Gathers a collection; see the first signature. @returns A Future for the results. */
export function gather<T>(
  aws: Iterable<Awaitable<T>>,
  options?: GatherOptions,
): Future<T[]>;
/** Gathers the arguments, errors as results. @returns A Future for the results. */
export function gather<A extends readonly Awaitable<unknown>[]>(
  ...args: [...A, GatherOptions & { returnExceptions: true }]
): Future<GatherSettledResults<A>>;
/** Gathers the arguments, with options. @returns A Future for the results. */
export function gather<A extends readonly Awaitable<unknown>[]>(
  ...args: [...A, GatherOptions]
): Future<GatherResults<A>>;
/** Gathers the arguments. @returns A Future for the results. */
export function gather<A extends readonly Awaitable<unknown>[]>(
  ...aws: A
): Future<GatherResults<A>>;
export function gather(...args: unknown[]): Future<unknown[]> {
  const [aws, options] = parseArguments(args);
  const returnExceptions = options?.returnExceptions ?? false;
  if (typeof returnExceptions !== "boolean") {
    throw new TypeError(
      `Cannot gather: expected returnExceptions as a boolean, got ${
        describe(returnExceptions)
      }`,
    );
  }
  const { futures: children, loop } = toFutures("gather", aws);
  const outer = new GatheringFuture<unknown[]>(children, loop);
  const count = children.length;
  if (count === 0) {
    outer.setResult([]);
    return outer;
  }

  // A Future given twice counts once: it calls back once.
  const unique = new Set(children);
  const total = unique.size;
  let finished = 0;
  const onChildDone = (child: Future<unknown>): void => {
    finished++;
    if (outer.done()) {
      // Mark the error retrieved: the gather already reported its first.
      if (!child.cancelled()) child.exception();
      return;
    }
    if (!returnExceptions) {
      if (child.cancelled()) {
        outer.setException(cancelledErrorOf(child));
        return;
      }
      try {
        child.result();
      } catch (error) {
        outer.setException(error);
        return;
      }
    }
    if (finished < total) return;
    // Every child's outcome is read first, which marks its error
    // retrieved even when the gather itself ends cancelled (asyncio).
    const results: unknown[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const future = children[i];
      try {
        results[i] = future.result();
      } catch (error) {
        results[i] = error;
      }
    }
    if (outer.cancelRequested) {
      // As asyncio: the error (and its message) of the last child.
      outer.setException(cancelledErrorOf(children[count - 1]));
      return;
    }
    outer.setResult(results);
  };

  setCallbackOwner(onChildDone, outer);
  const alreadyDone: Future<unknown>[] = [];
  for (const child of unique) {
    if (child.done()) alreadyDone.push(child);
    else child.addDoneCallback(onChildDone);
  }
  // Children that finished before gather (eager tasks, done futures)
  // count now, so a gather of finished work is finished too.
  for (const child of alreadyDone) onChildDone(child);
  return outer;
}

function parseArguments(
  args: unknown[],
): [Iterable<unknown>, GatherOptions | undefined] {
  if (args.length > 0 && isCollection(args[0])) {
    const options = args[1];
    if (
      args.length > 2 ||
      (options !== undefined && !isPlainObject(options))
    ) {
      throw new TypeError(
        `Cannot gather: expected one iterable of awaitables and an optional options object, got ${
          args.length > 2
            ? `${args.length} arguments`
            : `${describe(options)} as options`
        }`,
      );
    }
    return [args[0], options as GatherOptions | undefined];
  }
  let options: GatherOptions | undefined;
  let aws = args;
  if (args.length > 0 && isPlainObject(args[args.length - 1])) {
    options = args[args.length - 1] as GatherOptions;
    aws = args.slice(0, -1);
  }
  for (let i = 0; i < aws.length; i++) {
    if (isCollection(aws[i])) {
      throw new TypeError(
        `Cannot gather: expected a Future, Task, promise or function at index ${i}, got ${
          describe(aws[i])
        }; pass a collection as the only argument, as gather(list) or gather(list, options)`,
      );
    }
  }
  return [aws, options];
}
