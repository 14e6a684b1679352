/**
 * `Queue`, `PriorityQueue` and `LifoQueue`: queues between producer and
 * consumer tasks, as asyncio's `queues.py` (3.13, with `shutdown`).
 *
 * @module
 */
import {
  checkBoolean,
  checkFunction,
  checkNumber,
  checkOptions,
} from "./_checks.ts";
import { Deque } from "./_deque.ts";
import {
  InvalidStateError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
} from "./errors.ts";
import { Event } from "./event.ts";
import { PriorityHeap, pythonLess } from "./_priority_heap.ts";
import { WaiterList } from "./_waiters.ts";
import { DESCRIBE_AS, type DescribedAs } from "./_introspect.ts";

/** Where a queue keeps its items; each queue class brings its own order. */
interface ItemStore<T> extends Iterable<T> {
  readonly length: number;
  push(item: T): void;
  /** Removes the next item to hand out. */
  take(): T;
  clear(): void;
}

class FifoStore<T> extends Deque<T> implements ItemStore<T> {
  take(): T {
    return this.shift() as T;
  }
}

class LifoStore<T> implements ItemStore<T> {
  #items: T[] = [];
  get length(): number {
    return this.#items.length;
  }
  push(item: T): void {
    this.#items.push(item);
  }
  take(): T {
    return this.#items.pop() as T;
  }
  clear(): void {
    this.#items.length = 0;
  }
  [Symbol.iterator](): IterableIterator<T> {
    return this.#items[Symbol.iterator]();
  }
}

class HeapStore<T> extends PriorityHeap<T> implements ItemStore<T> {
  take(): T {
    return this.pop() as T;
  }
}

const DONE: Promise<void> = Promise.resolve();

/** Options for `Queue.shutdown()`. */
export interface QueueShutdownOptions {
  /**
   * Drop the items still queued, so that `get()` throws at once, and count
   * them done for `join()`. By default `get()` drains the queue first.
   */
  immediate?: boolean;
}

/**
 * Queue's constructor arguments for a subclass: `maxsize` and the store,
 * which the public signature leaves out (asyncio's subclasses override
 * `_init` instead; a constructor argument needs no method on the class).
 */
function withStore<T>(maxsize: number, store: ItemStore<T>): [number] {
  return [maxsize, store] as unknown as [number];
}

function checkMaxsize(what: string, maxsize: unknown): number {
  return checkNumber(
    `create ${what}`,
    "maxsize",
    maxsize,
    "an integer or Infinity",
    (n) => Number.isInteger(n) || n === Infinity,
  );
}

/**
 * A first-in, first-out queue for tasks. `put()` waits while the queue is
 * full (when `maxsize` > 0), `get()` waits while it is empty; `taskDone()`
 * and `join()` let a producer wait until every item was processed, and
 * `shutdown()` ends it: puts throw `QueueShutDown`, gets drain what is
 * left and then throw it. `for await (const item of queue)` gets items
 * until shutdown. asyncio: `asyncio.Queue`.
 *
 * A `get()` or `put()` cancelled at any moment neither loses nor
 * duplicates an item: a cancelled `get()` took nothing, a cancelled
 * `put()` added nothing, and a wake-up the cancelled task can no longer
 * use goes to the next waiting task.
 *
 * @typeParam T The items' type.
 *
 * @example A producer and two workers
 * ```ts
 * import { createTask, Queue, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * const done: string[] = [];
 * await run(async () => {
 *   const queue = new Queue<number>(2);
 *   const worker = async (name: string) => {
 *     for await (const n of queue) {
 *       await sleep(n);
 *       done.push(`${name}:${n}`);
 *       queue.taskDone();
 *     }
 *   };
 *   const workers = ["a", "b"].map((name) => createTask(() => worker(name)));
 *   for (const n of [30, 10, 20]) await queue.put(n);
 *   await queue.join(); // every item processed
 *   queue.shutdown(); // ends the workers' loops
 *   for (const w of workers) await w;
 * }, { clock: new VirtualClock() });
 * assert.deepEqual(done, ["b:10", "a:30", "b:20"]);
 * ```
 */
export class Queue<T> implements AsyncIterable<T> {
  #items: ItemStore<T>;
  #maxsize: number;
  #unfinished = 0;
  #finished = new Event();
  #isShutdown = false;
  #getters: WaiterList = new WaiterList("queue", {
    // Woken for an item, then cancelled: let the next getter have it.
    onAbandon: () => {
      if (this.#items.length > 0) this.#getters.wake();
    },
    describe: (): string => `${this.constructor.name}.get() on ${this}`,
  });
  #putters: WaiterList = new WaiterList("queue", {
    // Woken for a free slot, then cancelled: let the next putter have it.
    onAbandon: () => {
      if (!this.full()) this.#putters.wake();
    },
    describe: (): string => `${this.constructor.name}.put() on ${this}`,
  });

  /**
   * Creates a queue.
   *
   * @param maxsize How many items it holds before `put()` waits; 0 (the
   * default), a negative number or `Infinity` means no limit.
   * @throws {TypeError} If `maxsize` is not a number.
   * @throws {RangeError} If `maxsize` is not an integer (asyncio accepts
   * floats; a fractional limit is almost certainly a bug).
   */
  constructor(maxsize?: number);
  // PriorityQueue and LifoQueue pass their store too: see withStore.
  constructor(maxsize = 0, store?: ItemStore<T>) {
    this.#maxsize = checkMaxsize(new.target.name, maxsize);
    this.#items = store instanceof HeapStore || store instanceof LifoStore
      ? store
      : new FifoStore<T>();
    this.#finished.set();
    // join() waits on the event; the task tree names the queue.
    (this.#finished as DescribedAs)[DESCRIBE_AS] = () =>
      `${this.constructor.name}.join() on ${this}`;
  }

  /** The limit given to the constructor; 0 or less means none. asyncio: `Queue.maxsize`. */
  get maxsize(): number {
    return this.#maxsize;
  }

  /**
   * The number of items in the queue. asyncio: `Queue.qsize()`.
   *
   * @returns The count.
   */
  qsize(): number {
    return this.#items.length;
  }

  /**
   * Whether the queue holds no items. asyncio: `Queue.empty()`.
   *
   * @returns `true` when empty.
   */
  empty(): boolean {
    return this.#items.length === 0;
  }

  /**
   * Whether the queue holds `maxsize` items; never for an unbounded queue.
   * asyncio: `Queue.full()`.
   *
   * @returns `true` when `put()` would wait.
   */
  full(): boolean {
    return this.#maxsize > 0 && this.#items.length >= this.#maxsize;
  }

  /**
   * Adds an item, waiting while the queue is full. asyncio: `Queue.put()`.
   *
   * @param item The item.
   * @returns A promise that resolves once the item is in the queue.
   * @throws {QueueShutDown} If the queue is shut down, before or while
   * waiting; the item is not added.
   * @throws {CancelledError} If the task is cancelled while waiting; the
   * item is not added.
   *
   * @example Backpressure from a bounded queue
   * ```ts
   * import { createTask, Queue, run, sleep } from "@aio/asyncio";
   * import { VirtualClock } from "@aio/asyncio/testing";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const queue = new Queue<string>(1);
   *   await queue.put("first");
   *   const blocked = createTask(() => queue.put("second"));
   *   await sleep(10);
   *   assert.ok(!blocked.done()); // waiting for room
   *   assert.equal(await queue.get(), "first");
   *   await blocked;
   *   assert.equal(queue.getNowait(), "second");
   * }, { clock: new VirtualClock() });
   * ```
   */
  put(item: T): Promise<void> {
    if (this.full()) return this.#putWhenRoom(item);
    try {
      this.putNowait(item);
    } catch (error) {
      return Promise.reject(error);
    }
    return DONE;
  }

  async #putWhenRoom(item: T): Promise<void> {
    while (this.full()) {
      if (this.#isShutdown) throw shutDown("put");
      await this.#putters.park(undefined);
    }
    this.putNowait(item);
  }

  /**
   * Adds an item without waiting. asyncio: `Queue.put_nowait()`.
   *
   * @param item The item.
   * @throws {QueueShutDown} If the queue is shut down.
   * @throws {QueueFull} If the queue is full.
   * @throws {TypeError} From a `PriorityQueue` whose items cannot be
   * compared; the item is not added.
   *
   * @example Refused by a full queue
   * ```ts
   * import { Queue, QueueFull } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * const queue = new Queue<number>(1);
   * queue.putNowait(1);
   * assert.throws(() => queue.putNowait(2), QueueFull);
   * ```
   */
  putNowait(item: T): void {
    if (this.#isShutdown) throw shutDown("put");
    if (this.full()) throw new QueueFull();
    this.#items.push(item);
    this.#unfinished++;
    this.#finished.clear();
    this.#getters.wake();
  }

  /**
   * Removes and returns the next item, waiting while the queue is empty.
   * asyncio: `Queue.get()`.
   *
   * @returns A promise for the item.
   * @throws {QueueShutDown} If the queue is shut down and empty (or shut
   * down with `immediate`), before or while waiting.
   * @throws {CancelledError} If the task is cancelled while waiting; no
   * item is taken.
   *
   * @example Waiting for an item
   * ```ts
   * import { getRunningLoop, Queue, run } from "@aio/asyncio";
   * import { VirtualClock } from "@aio/asyncio/testing";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const queue = new Queue<string>();
   *   getRunningLoop().callLater(100, () => queue.putNowait("late"));
   *   assert.equal(await queue.get(), "late");
   * }, { clock: new VirtualClock() });
   * ```
   */
  get(): Promise<T> {
    if (this.#items.length === 0) return this.#getWhenAny();
    try {
      return Promise.resolve(this.getNowait());
    } catch (error) {
      // A PriorityQueue comparator that throws.
      return Promise.reject(error);
    }
  }

  async #getWhenAny(): Promise<T> {
    while (this.#items.length === 0) {
      if (this.#isShutdown) throw shutDown("get");
      await this.#getters.park(undefined);
    }
    return this.getNowait();
  }

  /**
   * Removes and returns the next item without waiting. asyncio:
   * `Queue.get_nowait()`.
   *
   * @returns The item.
   * @throws {QueueEmpty} If the queue is empty.
   * @throws {QueueShutDown} If the queue is empty and shut down.
   *
   * @example Polling
   * ```ts
   * import { Queue, QueueEmpty } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * const queue = new Queue<number>();
   * assert.throws(() => queue.getNowait(), QueueEmpty);
   * queue.putNowait(7);
   * assert.equal(queue.getNowait(), 7);
   * ```
   */
  getNowait(): T {
    if (this.#items.length === 0) {
      if (this.#isShutdown) throw shutDown("get");
      throw new QueueEmpty();
    }
    const item = this.#items.take();
    this.#putters.wake();
    return item;
  }

  /**
   * Marks one item taken with `get()` as processed; once every item put
   * is, `join()` returns. asyncio: `Queue.task_done()`.
   *
   * @throws {InvalidStateError} If called more times than items were put
   * (asyncio raises `ValueError`).
   *
   * @example Counting work done
   * ```ts
   * import { InvalidStateError, Queue } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * const queue = new Queue<string>();
   * queue.putNowait("job");
   * queue.getNowait();
   * queue.taskDone();
   * assert.throws(() => queue.taskDone(), InvalidStateError);
   * ```
   */
  taskDone(): void {
    if (this.#unfinished <= 0) {
      throw new InvalidStateError(
        "Cannot mark task done: taskDone() called more times than items were put",
      );
    }
    this.#unfinished--;
    if (this.#unfinished === 0) this.#finished.set();
  }

  /**
   * Waits until every item put was taken and marked done with
   * `taskDone()`. asyncio: `Queue.join()`.
   *
   * @returns A promise that resolves when no work is pending.
   * @throws {CancelledError} If the task is cancelled while waiting.
   *
   * @example Waiting for a worker to finish
   * ```ts
   * import { createTask, Queue, run, sleep } from "@aio/asyncio";
   * import { VirtualClock } from "@aio/asyncio/testing";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const queue = new Queue<number>();
   *   let total = 0;
   *   const worker = createTask(async () => {
   *     for (;;) {
   *       total += await queue.get();
   *       await sleep(10);
   *       queue.taskDone();
   *     }
   *   });
   *   for (const n of [1, 2, 3]) queue.putNowait(n);
   *   await queue.join();
   *   assert.equal(total, 6);
   *   worker.cancel();
   * }, { clock: new VirtualClock() });
   * ```
   */
  async join(): Promise<void> {
    if (this.#unfinished > 0) await this.#finished.wait();
  }

  /**
   * Shuts the queue down: `put()` and `putNowait()` throw `QueueShutDown`
   * from now on, and so do `get()` and `getNowait()` once the queue is
   * empty. Tasks waiting in `put()` or `get()` wake up to find out. With
   * `immediate`, the items left are dropped (and counted done for
   * `join()`), so gets throw at once. asyncio 3.13: `Queue.shutdown()`.
   *
   * @param options `{ immediate: true }` (or `true`, as Python's
   * positional argument) to drop the items left.
   * @throws {TypeError} If `options` is neither a boolean nor an object
   * whose `immediate` is a boolean.
   *
   * @example Draining, then stopping
   * ```ts
   * import { Queue, QueueShutDown, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const queue = new Queue<number>();
   *   queue.putNowait(1);
   *   queue.shutdown();
   *   assert.throws(() => queue.putNowait(2), QueueShutDown);
   *   assert.equal(await queue.get(), 1); // still drains
   *   await assert.rejects(queue.get(), QueueShutDown);
   * });
   * ```
   */
  shutdown(options?: QueueShutdownOptions | boolean): void {
    let immediate: boolean;
    if (typeof options === "boolean") immediate = options;
    else {
      checkOptions("shut down queue", options);
      checkBoolean("shut down queue", "immediate", options?.immediate);
      immediate = options?.immediate ?? false;
    }
    this.#isShutdown = true;
    if (immediate) {
      while (this.#items.length > 0) {
        this.#items.take();
        if (this.#unfinished > 0) this.#unfinished--;
      }
      if (this.#unfinished === 0) this.#finished.set();
    }
    // Every waiter re-checks, and throws QueueShutDown unless a getter
    // still finds an item.
    this.#getters.wakeAll();
    this.#putters.wakeAll();
  }

  /**
   * Gets items until the queue is shut down and drained: `for await (const
   * item of queue)`. Leaving the loop early takes nothing more; call
   * `taskDone()` per item if you use `join()`.
   *
   * @returns An async iterator over the items.
   * @throws {CancelledError} If the task is cancelled while waiting.
   *
   * @example Consuming until shutdown
   * ```ts
   * import { Queue, run } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const queue = new Queue<string>();
   *   queue.putNowait("a");
   *   queue.putNowait("b");
   *   queue.shutdown();
   *   const seen: string[] = [];
   *   for await (const item of queue) seen.push(item);
   *   assert.deepEqual(seen, ["a", "b"]);
   * });
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let item: T;
      try {
        item = await this.get();
      } catch (error) {
        if (error instanceof QueueShutDown) return;
        throw error;
      }
      yield item;
    }
  }

  /**
   * A description for logs, as asyncio's str():
   * `<Queue maxsize=1 qsize=1 putters[1] tasks=1>`.
   */
  toString(): string {
    let result = `<${this.constructor.name} maxsize=${this.#maxsize}`;
    if (this.#items.length > 0) result += ` qsize=${this.#items.length}`;
    const getters = this.#getters.size;
    const putters = this.#putters.size;
    if (getters > 0) result += ` getters[${getters}]`;
    if (putters > 0) result += ` putters[${putters}]`;
    if (this.#unfinished > 0) result += ` tasks=${this.#unfinished}`;
    if (this.#isShutdown) result += " shutdown";
    return result + ">";
  }
}

function shutDown(operation: "get" | "put"): QueueShutDown {
  return new QueueShutDown(`Cannot ${operation} item: queue is shut down`);
}

/** Options for `new PriorityQueue()`. */
export interface PriorityQueueOptions<T> {
  /**
   * Orders items as `Array.prototype.sort` does: negative when `a` comes
   * first. By default items are ordered as Python orders them.
   */
  compare?: (a: T, b: T) => number;
}

/**
 * A queue that hands out the smallest item first. By default items are
 * ordered as Python's `heapq` would: numbers, strings (by code point),
 * Dates, and arrays compared as tuples, so `[priority, item]` pairs work
 * — equal priorities then compare the items, and a pair of items Python
 * could not order throws `TypeError`, as in Python; add a sequence number
 * (`[priority, seq, item]`) or pass `compare`. Items of equal priority
 * come out in the order Python's `heapq` gives them, which is not
 * insertion order. asyncio: `asyncio.PriorityQueue`.
 *
 * @typeParam T The items' type.
 *
 * @example Jobs by priority
 * ```ts
 * import { PriorityQueue } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const queue = new PriorityQueue<[number, string]>();
 * queue.putNowait([2, "write report"]);
 * queue.putNowait([0, "fix outage"]);
 * queue.putNowait([1, "review"]);
 * assert.deepEqual(queue.getNowait(), [0, "fix outage"]);
 * assert.deepEqual(queue.getNowait(), [1, "review"]);
 * ```
 *
 * @example A comparator for objects
 * ```ts
 * import { PriorityQueue } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * interface Job { name: string; deadline: number }
 * const queue = new PriorityQueue<Job>(0, {
 *   compare: (a, b) => a.deadline - b.deadline,
 * });
 * queue.putNowait({ name: "later", deadline: 20 });
 * queue.putNowait({ name: "sooner", deadline: 10 });
 * assert.equal(queue.getNowait().name, "sooner");
 * ```
 */
export class PriorityQueue<T> extends Queue<T> {
  /**
   * Creates a priority queue.
   *
   * @param maxsize How many items it holds before `put()` waits; 0 (the
   * default) means no limit.
   * @param options `compare`, to order items yourself.
   * @throws {TypeError} If `maxsize` is not a number, `options` not an
   * object or `compare` not a function.
   * @throws {RangeError} If `maxsize` is not an integer.
   */
  constructor(maxsize = 0, options?: PriorityQueueOptions<T>) {
    checkOptions("create PriorityQueue", options);
    const compare = options?.compare;
    if (compare !== undefined) {
      checkFunction("create PriorityQueue", "compare", compare);
    }
    const store = new HeapStore<T>(
      compare === undefined ? pythonLess : (a, b) => compare(a, b) < 0,
    );
    super(...withStore(maxsize, store));
  }
}

/**
 * A queue that hands out the most recently added item first (a stack).
 * asyncio: `asyncio.LifoQueue`.
 *
 * @typeParam T The items' type.
 *
 * @example Last in, first out
 * ```ts
 * import { LifoQueue } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const stack = new LifoQueue<number>();
 * for (const n of [1, 3, 2]) stack.putNowait(n);
 * assert.deepEqual([stack.getNowait(), stack.getNowait(), stack.getNowait()], [2, 3, 1]);
 * ```
 */
export class LifoQueue<T> extends Queue<T> {
  /**
   * Creates a LIFO queue.
   *
   * @param maxsize How many items it holds before `put()` waits; 0 (the
   * default) means no limit.
   * @throws {TypeError} If `maxsize` is not a number.
   * @throws {RangeError} If `maxsize` is not an integer.
   */
  constructor(maxsize = 0) {
    super(...withStore(maxsize, new LifoStore<T>()));
  }
}
