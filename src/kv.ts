/**
 * A work queue for several processes, on Deno KV's queue
 * (`enqueue`/`listenQueue`), with asyncio `Queue`'s shape: producers
 * `put()`, consumers take items one at a time inside tasks (`for await`,
 * or `work()` with a concurrency limit) and finish each by returning.
 * Import it from `@aio/asyncio/kv`; the core never imports it.
 *
 * The guarantees, and how they map onto Deno KV:
 *
 * - **At least once.** An item is acknowledged (its message deleted) only
 *   once its handler returned, as Celery's `acks_late`. A handler that
 *   throws, times out (`work()`'s `timeout`, in the place of SQS's
 *   visibility timeout) or whose task is cancelled has its item put back
 *   with the next delay of `backoffSchedule`; after the last attempt the
 *   item goes to the dead letters, a key range the user names (Sidekiq's
 *   dead set), with the last error.
 * - **Never lost when a worker dies.** A message a process holds is kept
 *   alive by Deno KV while the process lives; when the process dies (even
 *   by SIGKILL), Deno KV gives the message back — once its claim lapses (5
 *   s after the process's last keep-alive) and a process looks: any
 *   process opening the database does, and every open handle looks every
 *   60 s. A crash uses up one retry (Deno KV's own `backoffSchedule`,
 *   which each message carries) and, on the last attempt, dead-letters the
 *   item (Deno KV's `keysIfUndelivered`, without the error).
 * - **Effectively once.** Deliveries may repeat (after a crash, or when a
 *   process opens the database within ~2 s of another taking an item that
 *   waited more than 5 s). `once(key, fn)` commits `fn`'s KV writes together
 *   with a done-marker in one atomic operation, so they happen once.
 * - **Bounded prefetch.** Deno KV hands a process every ready message at
 *   once; a process keeps at most `prefetch` of them waiting besides those
 *   its handlers run, and parks the rest in KV for any consumer with room.
 * - **Cancellation.** Cancelling a consumer stops it taking items; the item
 *   in hand finishes (if the handler swallows the cancellation) or is put
 *   back as a failed attempt, never dropped. `shutdown()` is the gentle
 *   way: items in hand finish, nothing new is taken.
 *
 * Limits Deno KV sets (Deno 2.9.6, measured): a message is at most 64 KiB
 * serialized, envelope included; `delay` at most 30 days; one `backoff`
 * interval at most one hour, and at most five of them per message (so a
 * crash is retried at most five times per attempt); no control over how
 * long a claim lasts (5 s after the last keep-alive, renewed every ~2 s);
 * one queue per database (a KvQueue owns its database's queue); a process
 * sees messages another process enqueued only when it looks, which KvQueue
 * makes every `pollInterval` while idle (Deno KV alone: up to 60 s). KV
 * Connect (a `denokv` server, or a Deploy database opened from elsewhere)
 * takes `put()` but never delivers queue messages: consumers must open the
 * database locally, or run on Deno Deploy.
 *
 * Permissions: `--unstable-kv`, and `--allow-read`/`--allow-write` on the
 * database file.
 *
 * @module
 */
import { checkFunction, checkNumber, checkOptions } from "./_checks.ts";
import { repr } from "./_describe.ts";
import {
  type Delivery,
  Dispatcher,
  io,
  napFor,
  unlocked,
} from "./_kv_dispatch.ts";
import {
  checkBackoff,
  checkItemKey,
  checkKvKey,
  enqueueOptions,
  errorText,
  isItem,
  type ItemEnvelope,
  itemError,
  type ItemKey,
  KV_LIMITS,
  MARK,
  QueueKeys,
} from "./_kv_envelope.ts";
import { CancelledError, QueueShutDown } from "./errors.ts";
import { Event } from "./event.ts";
import { findRunningLoop } from "./_loops.ts";
import { getRunningLoop } from "./abstract_event_loop.ts";
import type { Future } from "./futures.ts";
import { taskGroup } from "./taskgroups.ts";
import { currentTask } from "./tasks.ts";
import { timeout } from "./timeouts.ts";

export type { ItemKey as KvItemKey } from "./_kv_envelope.ts";

/** Options for `new KvQueue()`. */
export interface KvQueueOptions {
  /** Where the queue keeps its keys: `["aio.kv"]` by default. */
  readonly prefix?: Deno.KvKey;
  /**
   * The dead letters: an item that failed every attempt is kept at
   * `[...deadLetter, key]`. `[...prefix, "dead"]` by default.
   */
  readonly deadLetter?: Deno.KvKey;
  /**
   * The delays in milliseconds before each retry, as Deno KV's own
   * option: an item gets `backoffSchedule.length + 1` attempts. Each delay
   * is at most one hour. Deno KV's default: `[100, 1000, 5000, 30000,
   * 60000]`.
   */
  readonly backoffSchedule?: readonly number[];
  /**
   * Items a process keeps waiting for a free consumer, besides those its
   * handlers run; more are parked in KV for any process with room. 4 by
   * default.
   */
  readonly prefetch?: number;
  /**
   * How often, in milliseconds, an idle consumer looks for items another
   * process put or parked, and how often `join()` checks. 1000 by default;
   * `Infinity` to rely on Deno KV alone (on Deno Deploy, which pushes).
   */
  readonly pollInterval?: number;
}

/** Options for `KvQueue.put()`. */
export interface KvPutOptions {
  /** Deliver no sooner than this many milliseconds from now (≤ 30 days). */
  readonly delay?: number;
  /**
   * The item's identity: it names the item's dead letter and is the key
   * the handler gets for `once()`. A random UUID by default. Two items
   * put with one key are two items (`join()` waits for both), sharing one
   * dead letter and one `once()` marker.
   */
  readonly key?: ItemKey;
}

/** What a handler learns about the item it was given. */
export interface KvItemInfo {
  /** The item's key. */
  readonly key: ItemKey;
  /** This attempt, from 1. */
  readonly attempt: number;
  /** Attempts the item gets in all. */
  readonly maxAttempts: number;
}

/** A `work()` handler: returning finishes the item, throwing retries it. */
export type KvHandler<T> = (item: T, info: KvItemInfo) => unknown;

/** Options for `KvQueue.work()`. */
export interface KvWorkOptions {
  /** Items handled at once, each in its own task: 1 by default. */
  readonly concurrency?: number;
  /**
   * A deadline in milliseconds for each item: a handler still running is
   * cancelled and the attempt counts as failed (`TimeoutError`).
   */
  readonly timeout?: number;
}

/** Options for `KvQueue.once()`. */
export interface KvOnceOptions {
  /** Drop the done-marker after this many milliseconds (KV's `expireIn`). */
  readonly expireIn?: number;
}

/** An item that failed every attempt, as `deadLetters()` lists it. */
export interface KvDeadLetter<T> {
  /** The item's key. */
  readonly key: ItemKey;
  /** The item. */
  readonly item: T;
  /** The attempt that failed last. */
  readonly attempts: number;
  /**
   * The last error, in words; absent when the worker holding the item
   * died on its last attempt (Deno KV wrote the dead letter then).
   */
  readonly error?: string;
  /** The dead letter's own KV key, to delete it once dealt with. */
  readonly kvKey: Deno.KvKey;
}

const DEFAULT_BACKOFF: readonly number[] = [100, 1000, 5000, 30000, 60000];
// `once()` gives up after this many commits in a row failed a check.
const ONCE_ATTEMPTS = 16;

/**
 * A work queue shared by every process that opens the same Deno KV
 * database: a local file for processes on one machine, or the database of
 * a Deno Deploy app. Items are structured-cloneable values (Deno KV's
 * value rules: class instances arrive as plain objects, functions and
 * symbols are refused). See the module doc for the guarantees and Deno
 * KV's limits.
 *
 * What asyncio `Queue`'s methods mean across processes:
 * - `put()` commits the item and a pending marker in one operation.
 * - `work()` and `for await` take items in this process only.
 * - `join()` waits until no pending marker is left: every item put, by any
 *   process, was finished or dead-lettered somewhere. It checks every
 *   `pollInterval`, and at once after an item finishes here.
 * - `shutdown()` is this object's: its puts throw `QueueShutDown`, its
 *   consumers finish the items in hand and end, and the items waiting in
 *   this process are parked for others. Other processes go on.
 * - `qsize()`, `empty()`, `full()` and `maxsize` have no honest meaning
 *   here (Deno KV does not say how many messages it holds), so there are
 *   none; `put()` never waits for room.
 *
 * @typeParam T The items' type.
 *
 * @example Three workers over one queue
 * ```ts
 * import { run } from "@aio/asyncio";
 * import { KvQueue } from "@aio/asyncio/kv";
 * import assert from "node:assert/strict";
 *
 * using kv = await Deno.openKv(":memory:");
 * const done: number[] = [];
 * await run(async () => {
 *   const queue = new KvQueue<number>(kv);
 *   for (const n of [1, 2, 3, 4, 5]) await queue.put(n);
 *   const workers = queue.work(async (n) => {
 *     done.push(n * 10);
 *   }, { concurrency: 3 });
 *   await queue.join(); // every item finished
 *   queue.shutdown(); // the workers end
 *   await workers;
 * });
 * assert.deepEqual(done.sort((a, b) => a - b), [10, 20, 30, 40, 50]);
 * ```
 */
export class KvQueue<T> implements AsyncIterable<T>, AsyncDisposable {
  readonly #kv: Deno.Kv;
  readonly #keys: QueueKeys;
  readonly #backoff: readonly number[];
  readonly #pollInterval: number;
  readonly #dispatch: Dispatcher<T>;
  readonly #idle = new Event();
  #shut = false;
  // Futures of join() calls waiting for the next check.
  readonly #joinNaps = new Set<Future<boolean>>();

  /**
   * Creates a queue over `kv`. Nothing is read or written until the
   * first `put()` or consumer. Several `KvQueue`s over one database (in
   * one process or several) share its items: give them the same options.
   *
   * @param kv The database: `await Deno.openKv(path)`. Close it after the
   * queue (`close()` waits for the queue's own writes first).
   * @param options The queue's settings.
   * @throws {TypeError} If `kv` is not a `Deno.Kv` or an option has the
   * wrong type.
   * @throws {RangeError} If a number is out of range.
   */
  constructor(kv: Deno.Kv, options?: KvQueueOptions) {
    const action = "create KvQueue";
    if (typeof Deno.Kv !== "function" || !(kv instanceof Deno.Kv)) {
      throw new TypeError(
        `Cannot ${action}: expected kv as a Deno.Kv (await Deno.openKv(), with --unstable-kv), got ${
          repr(kv)
        }`,
      );
    }
    checkOptions(action, options);
    const prefix = options?.prefix === undefined
      ? ["aio.kv"]
      : [...checkKvKey(action, "prefix", options.prefix)];
    const deadLetter = options?.deadLetter === undefined
      ? [...prefix, "dead"]
      : [...checkKvKey(action, "deadLetter", options.deadLetter)];
    this.#backoff = options?.backoffSchedule === undefined
      ? DEFAULT_BACKOFF
      : checkBackoff(action, options.backoffSchedule);
    const prefetch = options?.prefetch === undefined ? 4 : checkNumber(
      action,
      "prefetch",
      options.prefetch,
      "an integer >= 0",
      (n) => Number.isInteger(n) && n >= 0,
    );
    this.#pollInterval = options?.pollInterval === undefined
      ? 1000
      : checkNumber(
        action,
        "pollInterval",
        options.pollInterval,
        "a number of milliseconds from 1 to 2147483647, or Infinity",
        (n) => (n >= 1 && n <= 2 ** 31 - 1) || n === Infinity,
      );
    this.#kv = kv;
    this.#keys = new QueueKeys(prefix, deadLetter);
    this.#idle.set();
    const keys = this.#keys;
    const backoff = this.#backoff;
    this.#dispatch = new Dispatcher<T>(kv, {
      keys,
      prefetch,
      pollInterval: this.#pollInterval,
      enqueueOptions: (envelope) => enqueueOptions(keys, backoff, envelope),
    });
  }

  /** The database the queue lives in. */
  get kv(): Deno.Kv {
    return this.#kv;
  }

  /** The attempts an item gets: `backoffSchedule.length + 1`. */
  get maxAttempts(): number {
    return this.#backoff.length + 1;
  }

  /**
   * Puts `item` into the queue, for any process to take. The item and its
   * pending marker are committed together.
   *
   * A `put()` cancelled while it commits waits for the commit and then
   * throws `CancelledError`: the item may have been put. Put again with the
   * same `key` and guard the effect with `once()` if that matters.
   *
   * @param item A structured-cloneable value, at most ~64 KiB serialized.
   * @param options `delay` and `key`.
   * @returns The item's key.
   * @throws {TypeError} If `item` is not structured-cloneable, or an option
   * has the wrong type.
   * @throws {RangeError} If `item` is too large for Deno KV, or `delay` is
   * negative or over 30 days.
   * @throws {QueueShutDown} If `shutdown()` was called.
   *
   * @example Delayed and keyed items
   * ```ts
   * import { KvQueue } from "@aio/asyncio/kv";
   * import assert from "node:assert/strict";
   *
   * using kv = await Deno.openKv(":memory:");
   * const queue = new KvQueue<{ to: string }>(kv);
   * const key = await queue.put({ to: "ada" }, { key: "mail-1", delay: 60_000 });
   * assert.equal(key, "mail-1");
   * assert.equal(typeof await queue.put({ to: "alan" }), "string"); // a UUID
   * await assert.rejects(queue.put({ to: () => "x" } as never), TypeError);
   * ```
   */
  async put(item: T, options?: KvPutOptions): Promise<ItemKey> {
    const action = "put item";
    checkOptions(action, options);
    const delay = options?.delay === undefined ? 0 : checkNumber(
      action,
      "delay",
      options.delay,
      `a number of milliseconds from 0 to ${KV_LIMITS.maxDelay} (30 days, Deno KV's limit)`,
      (n) => n >= 0 && n <= KV_LIMITS.maxDelay,
    );
    const key = options?.key === undefined
      ? crypto.randomUUID()
      : checkItemKey(action, "key", options.key);
    if (this.#shut) {
      throw new QueueShutDown(`Cannot ${action}: queue is shut down`);
    }
    const envelope: ItemEnvelope<T> = {
      [MARK]: "item",
      id: crypto.randomUUID(),
      key,
      item,
      attempt: 1,
    };
    try {
      const operation = this.#kv.atomic()
        .set(this.#keys.pending(envelope.id), true)
        .enqueue(
          envelope,
          enqueueOptions(this.#keys, this.#backoff, envelope, delay),
        );
      await io(() => operation.commit());
    } catch (error) {
      throw itemError(action, error);
    }
    return key;
  }

  /**
   * Takes items and runs `handler(item, info)` on each, `concurrency` at a
   * time, each in its own task, until `shutdown()`. An item whose handler
   * returns is finished; one whose handler throws, times out or is
   * cancelled is retried later (its error goes to the loop's exception
   * handler) and dead-lettered after its last attempt.
   *
   * Cancelling the task that awaits `work()` cancels the handlers running;
   * each item is put back as a failed attempt unless its handler catches
   * the cancellation and returns. To stop gently, call `shutdown()`.
   *
   * @param handler Called with each item and what is known of it.
   * @param options `concurrency` and `timeout`.
   * @returns Once shut down and every item in hand is finished.
   * @throws {TypeError} If `handler` is not a function or an option has
   * the wrong type.
   * @throws {RangeError} If `concurrency` is not a positive integer or
   * `timeout` is negative.
   * @throws {InvalidStateError} If called outside a running loop, or when
   * the database was closed under it.
   *
   * @example A retried item
   * ```ts
   * import { getRunningLoop, run } from "@aio/asyncio";
   * import { KvQueue } from "@aio/asyncio/kv";
   * import assert from "node:assert/strict";
   *
   * using kv = await Deno.openKv(":memory:");
   * const attempts: number[] = [];
   * const reported: string[] = [];
   * await run(async () => {
   *   getRunningLoop().setExceptionHandler((_loop, { message }) => {
   *     reported.push(message); // each failed attempt is reported
   *   });
   *   const queue = new KvQueue<string>(kv, { backoffSchedule: [10] });
   *   await queue.put("flaky");
   *   const workers = queue.work((_item, { attempt }) => {
   *     attempts.push(attempt);
   *     if (attempt === 1) throw new Error("try again");
   *   });
   *   await queue.join();
   *   queue.shutdown();
   *   await workers;
   * });
   * assert.deepEqual(attempts, [1, 2]);
   * assert.equal(reported.length, 1);
   * ```
   */
  async work(handler: KvHandler<T>, options?: KvWorkOptions): Promise<void> {
    const action = "work on queue";
    checkFunction(action, "handler", handler);
    checkOptions(action, options);
    const concurrency = options?.concurrency === undefined ? 1 : checkNumber(
      action,
      "concurrency",
      options.concurrency,
      "an integer >= 1",
      (n) => Number.isInteger(n) && n >= 1,
    );
    const ms = options?.timeout === undefined ? undefined : checkNumber(
      action,
      "timeout",
      options.timeout,
      "a number of milliseconds >= 0",
      (n) => n >= 0,
    );
    getRunningLoop();
    if (this.#shut) return;
    this.#started();
    try {
      await taskGroup((group) => {
        for (let i = 1; i <= concurrency; i++) {
          group.createTask(() => this.#worker(handler, ms), {
            name: `KvQueue worker ${i}`,
          });
        }
      });
    } finally {
      await this.#stopped();
    }
  }

  /**
   * Takes items one at a time until `shutdown()`: `for await (const item
   * of queue)`. An item is finished when its iteration ends and the loop
   * asks for the next. Leaving the loop any other way — `break`, `return`,
   * an error or a cancellation — puts the item in hand back as a failed
   * attempt, since a `break` cannot be told from a throw. To stop after
   * an item, call `shutdown()` inside the loop: it ends once the item is
   * finished.
   *
   * @returns An async iterator over the items.
   * @throws {InvalidStateError} If used outside a running loop, or when
   * the database was closed under it.
   *
   * @example One consumer, stopping itself
   * ```ts
   * import { run } from "@aio/asyncio";
   * import { KvQueue } from "@aio/asyncio/kv";
   * import assert from "node:assert/strict";
   *
   * using kv = await Deno.openKv(":memory:");
   * const seen: string[] = [];
   * await run(async () => {
   *   const queue = new KvQueue<string>(kv);
   *   await queue.put("hello");
   *   await queue.put("stop");
   *   for await (const word of queue) {
   *     seen.push(word);
   *     if (seen.length === 2) queue.shutdown(); // this item still finishes
   *   }
   *   await queue.join();
   * });
   * assert.deepEqual(seen.sort(), ["hello", "stop"]);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    getRunningLoop();
    if (this.#shut) return;
    this.#started();
    let current: Delivery<T> | null = null;
    try {
      for (;;) {
        current = await this.#dispatch.take();
        if (current === null) return;
        yield current.envelope.item;
        const finished = current;
        current = null;
        await io(() => this.#finish(finished, undefined));
      }
    } finally {
      if (current !== null) {
        const abandoned = current;
        current = null;
        const error = new Error(
          "Cannot finish item: its for-await loop was left before the next item was asked for",
        );
        await io(() => this.#finish(abandoned, { error }));
      }
      await this.#stopped();
    }
  }

  /**
   * Waits until every item put into the queue — by any process — was
   * finished or dead-lettered, as asyncio's `Queue.join()`. It reads the
   * pending markers every `pollInterval`, and at once when an item
   * finishes in this process.
   *
   * @returns Once no item is pending.
   * @throws {CancelledError} If the waiting task is cancelled.
   *
   * @example Waiting for the workers
   * ```ts
   * import { run } from "@aio/asyncio";
   * import { KvQueue } from "@aio/asyncio/kv";
   * import assert from "node:assert/strict";
   *
   * using kv = await Deno.openKv(":memory:");
   * let total = 0;
   * await run(async () => {
   *   const queue = new KvQueue<number>(kv);
   *   const workers = queue.work((n) => {
   *     total += n;
   *   });
   *   for (const n of [1, 2, 3]) await queue.put(n);
   *   await queue.join();
   *   assert.equal(total, 6);
   *   queue.shutdown();
   *   await workers;
   * });
   * ```
   */
  async join(): Promise<void> {
    while (await this.#anyPending()) {
      const loop = findRunningLoop();
      if (loop === undefined) {
        await new Promise((resolve) => setTimeout(resolve, this.#pollInterval));
        continue;
      }
      const nap = loop.createFuture<boolean>();
      this.#joinNaps.add(nap);
      try {
        await napFor(nap, this.#pollInterval);
      } finally {
        this.#joinNaps.delete(nap);
      }
    }
  }

  /**
   * Stops this queue object: `put()` throws `QueueShutDown` from now on,
   * consumers finish the items in hand and end, and items waiting in this
   * process are parked for other processes. asyncio 3.13:
   * `Queue.shutdown()`. Other processes are not affected.
   *
   * @example Puts are refused after shutdown
   * ```ts
   * import { QueueShutDown } from "@aio/asyncio";
   * import { KvQueue } from "@aio/asyncio/kv";
   * import assert from "node:assert/strict";
   *
   * using kv = await Deno.openKv(":memory:");
   * const queue = new KvQueue<string>(kv);
   * queue.shutdown();
   * await assert.rejects(queue.put("late"), QueueShutDown);
   * ```
   */
  shutdown(): void {
    this.#shut = true;
    this.#dispatch.shutdown();
  }

  /**
   * Shuts the queue down and waits until its consumers have ended and the
   * items it held are parked, so that closing the database then loses
   * nothing. The `Deno.Kv` stays open: it is the caller's. `await using
   * queue = new KvQueue(kv)` calls this on scope exit.
   *
   * @returns Once the queue has nothing in flight.
   *
   * @example Closing in order
   * ```ts
   * import { run } from "@aio/asyncio";
   * import { KvQueue } from "@aio/asyncio/kv";
   *
   * using kv = await Deno.openKv(":memory:");
   * await run(async () => {
   *   await using queue = new KvQueue<string>(kv);
   *   await queue.put("left for later");
   * }); // queue closed here, then kv
   * ```
   */
  async close(): Promise<void> {
    this.shutdown();
    await this.#idle.wait();
    await this.#dispatch.settled();
  }

  /** Calls `close()`: `await using queue = new KvQueue(kv)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Runs `fn` once for `key` across every delivery and every process:
   * `fn` adds its writes to an atomic operation, which commits them
   * together with a done-marker, checked to be absent. Returns whether
   * this call did it (`false`: already done). When the commit fails a
   * check — another call won, or one of `fn`'s own checks failed — the
   * marker is read again, and `fn` runs again if it is still absent; so
   * `fn` must not do anything outside the operation that it cannot do
   * twice.
   *
   * @param key What was done: an item's key (`info.key`), or any key.
   * @param fn Adds writes (and checks) to the operation.
   * @param options `expireIn` for the marker.
   * @returns `true` if this call committed, `false` if it was done before.
   * @throws {TypeError} If `key` is not a key part, `fn` not a function,
   * or an option has the wrong type.
   * @throws {RangeError} If `expireIn` is not a positive number.
   * @throws {Error} If 16 commits in a row failed a check.
   *
   * @example Counting an effect once
   * ```ts
   * import { KvQueue } from "@aio/asyncio/kv";
   * import assert from "node:assert/strict";
   *
   * using kv = await Deno.openKv(":memory:");
   * const queue = new KvQueue<string>(kv);
   * const pay = (op: Deno.AtomicOperation) =>
   *   op.sum(["paid"], 5n); // a Deno.KvU64 counter
   * assert.equal(await queue.once("order-7", pay), true);
   * assert.equal(await queue.once("order-7", pay), false); // a redelivery
   * assert.equal((await kv.get<Deno.KvU64>(["paid"])).value?.value, 5n);
   * ```
   */
  async once(
    key: ItemKey,
    fn: (operation: Deno.AtomicOperation) => unknown,
    options?: KvOnceOptions,
  ): Promise<boolean> {
    const action = "run once";
    checkItemKey(action, "key", key);
    checkFunction(action, "fn", fn);
    checkOptions(action, options);
    const expireIn = options?.expireIn === undefined ? undefined : checkNumber(
      action,
      "expireIn",
      options.expireIn,
      "a number of milliseconds > 0",
      (n) => n > 0,
    );
    const marker = this.#keys.done(key);
    for (let i = 0; i < ONCE_ATTEMPTS; i++) {
      const done = await io(() => this.#kv.get(marker));
      if (done.versionstamp !== null) return false;
      const operation = this.#kv.atomic()
        .check({ key: marker, versionstamp: null })
        .set(marker, true, { expireIn });
      const added = fn(operation);
      // An arrow that returns the operation (`op => op.set(...)`) must not
      // be awaited: an AtomicOperation's then() throws.
      if (!(added instanceof Deno.AtomicOperation)) await added;
      const result = await io(() => operation.commit());
      if (result.ok) return true;
    }
    throw new Error(
      `Cannot ${action} for key ${
        repr(key)
      }: ${ONCE_ATTEMPTS} commits in a row failed a check`,
    );
  }

  /**
   * The items that failed every attempt, oldest key first. Retrying one
   * is `put(letter.item, { key: letter.key })` and deleting
   * `letter.kvKey`.
   *
   * @returns An async iterator over the dead letters.
   *
   * @example Listing and retrying
   * ```ts
   * import { KvQueue } from "@aio/asyncio/kv";
   * import assert from "node:assert/strict";
   *
   * using kv = await Deno.openKv(":memory:");
   * const queue = new KvQueue<string>(kv);
   * for await (const letter of queue.deadLetters()) {
   *   await queue.put(letter.item, { key: letter.key });
   *   await kv.delete(letter.kvKey);
   * }
   * assert.deepEqual(await Array.fromAsync(queue.deadLetters()), []);
   * ```
   */
  async *deadLetters(): AsyncGenerator<KvDeadLetter<T>, void, undefined> {
    const entries = this.#kv.list({ prefix: this.#keys.deadLetter });
    for await (const entry of entries) {
      if (!isItem(entry.value)) continue;
      const envelope = entry.value as ItemEnvelope<T>;
      const letter: KvDeadLetter<T> = {
        key: envelope.key,
        item: envelope.item,
        attempts: envelope.attempt,
        kvKey: entry.key,
      };
      yield envelope.error === undefined
        ? letter
        : { ...letter, error: envelope.error };
    }
  }

  /** A description for logs: `<KvQueue ["aio.kv"] consumers=2 buffered=1>`. */
  toString(): string {
    let text = `<KvQueue ${repr(this.#keys.prefix)}`;
    const consumers = this.#dispatch.consumers;
    if (consumers > 0) text += ` consumers=${consumers}`;
    const buffered = this.#dispatch.buffered;
    if (buffered > 0) text += ` buffered=${buffered}`;
    if (this.#shut) text += " shutdown";
    return text + ">";
  }

  #started(): void {
    this.#dispatch.start();
    this.#idle.clear();
  }

  async #stopped(): Promise<void> {
    await this.#dispatch.stop();
    if (this.#dispatch.consumers === 0) this.#idle.set();
  }

  async #worker(handler: KvHandler<T>, ms: number | undefined): Promise<void> {
    const task = currentTask();
    for (;;) {
      const delivery = await this.#dispatch.take();
      if (delivery === null) return;
      const { key, item, attempt } = delivery.envelope;
      const info: KvItemInfo = { key, attempt, maxAttempts: this.maxAttempts };
      let failure: { error: unknown } | undefined;
      try {
        if (ms === undefined) await handler(item, info);
        else await timeout(ms, () => handler(item, info));
      } catch (error) {
        failure = { error };
      }
      await io(() => this.#finish(delivery, failure));
      // The handler may have swallowed this task's cancellation.
      if (task !== undefined && task.cancelling() > 0) {
        throw failure?.error instanceof CancelledError
          ? failure.error
          : new CancelledError();
      }
    }
  }

  /**
   * Settles a delivery: deletes the pending marker of a finished item,
   * puts a failed one back for its next attempt, or dead-letters it. The
   * message is acknowledged only once that is committed; if the commit
   * fails, Deno KV retries the message itself. Never depends on the
   * awaiting task, so a cancelled await still settles the delivery.
   */
  #finish(
    delivery: Delivery<T>,
    failure: { error: unknown } | undefined,
  ): Promise<void> {
    const envelope = delivery.envelope;
    const { key, attempt } = envelope;
    let commit: Promise<unknown>;
    if (failure === undefined) {
      const pending = this.#keys.pending(envelope.id);
      commit = unlocked(() => this.#kv.delete(pending));
    } else if (attempt < this.maxAttempts) {
      const delay = this.#backoff[attempt - 1];
      this.#report(
        `KvQueue item ${
          repr(key)
        } failed on attempt ${attempt} of ${this.maxAttempts}: retried in ${delay} ms`,
        failure.error,
        key,
        attempt,
      );
      const next: ItemEnvelope<T> = { ...envelope, attempt: attempt + 1 };
      const options = enqueueOptions(this.#keys, this.#backoff, next, delay);
      commit = unlocked(() => this.#kv.enqueue(next, options));
    } else {
      const dead = this.#keys.dead(key);
      this.#report(
        `KvQueue item ${
          repr(key)
        } failed on its last attempt (${attempt}): moved to the dead letters at ${
          repr(dead)
        }`,
        failure.error,
        key,
        attempt,
      );
      const letter = { ...envelope, error: errorText(failure.error) };
      commit = unlocked(() =>
        this.#kv.atomic().set(dead, letter)
          .delete(this.#keys.pending(envelope.id)).commit()
      );
    }
    return commit.then(
      () => {
        delivery.ack();
        this.#wakeJoins();
      },
      (error) => {
        delivery.nack(error);
        throw error;
      },
    );
  }

  #report(message: string, error: unknown, key: ItemKey, attempt: number) {
    const loop = findRunningLoop();
    if (loop !== undefined) {
      loop.callExceptionHandler({ message, exception: error, key, attempt });
    }
  }

  #wakeJoins(): void {
    for (const nap of this.#joinNaps) if (!nap.done()) nap.setResult(false);
  }

  /**
   * Whether any item is pending. A marker Deno KV overwrote with the
   * message (the item's worker died on its last attempt) counts as
   * finished, and is deleted.
   */
  async #anyPending(): Promise<boolean> {
    const kv = this.#kv;
    for (;;) {
      const entries = await io(() =>
        Array.fromAsync(
          kv.list({ prefix: this.#keys.pendingPrefix }, { limit: 100 }),
        )
      );
      if (entries.length === 0) return false;
      const dead = entries.filter((entry) => entry.value !== true);
      if (dead.length < entries.length) return true;
      for (const entry of dead) {
        await io(() => kv.atomic().check(entry).delete(entry.key).commit());
      }
    }
  }
}
