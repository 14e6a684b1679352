/**
 * `WaiterList`: the one fair, cancel-safe FIFO of parked tasks that every
 * lock, semaphore, condition, event, barrier and queue is built on — trio's
 * `ParkingLot`, adapted to asyncio's cancellation.
 *
 * A task parks with `await list.park(result)`; `wake()` resumes the
 * longest-waiting task, whose `park` then resolves to `result`. Two things
 * make it cancel-safe:
 *
 * - A waiter cancelled while parked leaves the list at once (its Future's
 *   `cancel` unlinks it, in O(1)), so a later `wake` never lands on it and
 *   nothing piles up behind a lock that is never released.
 * - asyncio's "cancelled after wake-up" case: the wake-up was delivered
 *   (the waiter's Future is done) but the task was cancelled before it
 *   resumed, so its `await` throws `CancelledError` and the wake-up would
 *   be lost. The list sees this and calls the owner's `onAbandon` hook, so
 *   the lock can hand itself to the next waiter, the semaphore can take its
 *   permit back, the queue can wake the next getter. Owners never hand-roll
 *   this protocol.
 *
 * `woken` counts waiters that were woken but have not resumed yet; the
 * semaphore uses it for asyncio's FIFO rule (a free permit is not taken
 * while an earlier waiter is still on its way).
 *
 * The bookkeeping of a resuming waiter — the counters and the hooks — runs
 * inside the loop callback that resumes it, before any other task can
 * observe the primitive, so invariants hold at every microtask.
 *
 * @module
 */
import { InvalidStateError } from "./errors.ts";
import { type AbstractEventLoop, getEventLoop } from "./events.ts";
import { Future } from "./futures.ts";
import {
  type AwaitRecord,
  BLOCKED_BY,
  DESCRIBE,
  futureInspector,
} from "./_introspect.ts";

/** What an owner does when a waiter leaves other than by using its wake-up. */
export interface WaiterListHooks {
  /**
   * A woken waiter was cancelled before it resumed: it will not use the
   * wake-up, so hand it on.
   */
  onAbandon?: () => void;
  /**
   * Runs after any waiter resumes — woken, abandoned or cancelled while
   * parked — once the counters are up to date.
   */
  onLeave?: () => void;
  /**
   * What a parked task waits for, for the task tree:
   * `Lock.acquire() on <Lock [locked, waiters:1]>`.
   */
  describe?: () => string;
  /** The task parked tasks wait for (a lock's holder), for deadlock detection. */
  blockedBy?: () => object | undefined;
}

let hooksOf: (list: WaiterList) => WaiterListHooks;

let unlink: (list: WaiterList, waiter: Waiter) => void;

/** A parked task's Future, and its node in the list. */
class Waiter extends Future<void> {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  /** The list while parked; `undefined` once woken or cancelled. */
  list: WaiterList | undefined;
  woken = false;

  constructor(loop: AbstractEventLoop, list: WaiterList) {
    super({ loop });
    this.list = list;
  }

  /** Cancelling a parked waiter takes it out of the list at once. */
  override cancel(message?: string): boolean {
    if (!super.cancel(message)) return false;
    if (this.list !== undefined) unlink(this.list, this);
    return true;
  }

  /** For the task tree: what the parked task waits for. */
  [DESCRIBE](): string {
    const list = this.list;
    if (list === undefined) return "woken, about to resume";
    return hooksOf(list).describe?.() ?? `waiting on a ${list.owner}`;
  }

  [BLOCKED_BY](): object | undefined {
    const list = this.list;
    return list === undefined ? undefined : hooksOf(list).blockedBy?.();
  }
}

/**
 * A FIFO of parked tasks. Not exported from `mod.ts`: the public
 * primitives are built on it.
 */
export class WaiterList {
  #head: Waiter | undefined = undefined;
  #tail: Waiter | undefined = undefined;
  #parked = 0;
  #woken = 0;
  #loop: AbstractEventLoop | undefined = undefined;
  #owner: string;
  #hooks: WaiterListHooks;
  #onAbandon: (() => void) | undefined;
  #onLeave: (() => void) | undefined;

  /**
   * Creates an empty list.
   *
   * @param owner Names the primitive in error messages, e.g. `"lock"`.
   * @param hooks What to do when a wake-up is abandoned or a waiter leaves.
   */
  constructor(owner: string, hooks?: WaiterListHooks) {
    this.#owner = owner;
    this.#hooks = hooks ?? {};
    this.#onAbandon = hooks?.onAbandon;
    this.#onLeave = hooks?.onLeave;
  }

  /** What the list belongs to, as error messages name it: `"lock"`. */
  get owner(): string {
    return this.#owner;
  }

  /**
   * The task parked longest, for a lock to know who it hands itself to.
   *
   * @returns The task, or `undefined` if none is parked.
   */
  headTask(): object | undefined {
    const head = this.#head;
    if (head === undefined) return undefined;
    for (const callback of futureInspector.callbacks(head)) {
      const task = (callback as Partial<AwaitRecord>).task;
      if (task !== undefined) return task;
    }
    return undefined;
  }

  /** Waiters parked and not woken yet. */
  get parked(): number {
    return this.#parked;
  }

  /** Waiters woken whose tasks have not resumed yet. */
  get woken(): number {
    return this.#woken;
  }

  /** Waiters still inside `park()`: parked plus woken. */
  get size(): number {
    return this.#parked + this.#woken;
  }

  /**
   * Parks the calling task at the back of the list until `wake` picks it.
   * Cancelling the task removes it; cancelling it after its wake-up hands
   * the wake-up to the `onAbandon` hook. Every rejection is the task's
   * `CancelledError`, or an `InvalidStateError` if the list is in use by
   * another event loop.
   *
   * @typeParam R The type of `result`.
   * @param result What the promise resolves to once woken.
   * @returns A promise for `result`.
   */
  park<R>(result: R): Promise<R> {
    const loop = getEventLoop();
    if (loop !== this.#loop) {
      // Like asyncio's loop-bound primitives, but bound only while tasks
      // wait: a lock made at module level may serve one `run` after another.
      if (this.#parked + this.#woken > 0) {
        return Promise.reject(
          new InvalidStateError(
            `Cannot wait on ${this.#owner}: it is in use by another event loop`,
          ),
        );
      }
      this.#loop = loop;
    }
    const waiter = new Waiter(loop, this);
    const tail = this.#tail;
    if (tail === undefined) this.#head = waiter;
    else {
      tail.next = waiter;
      waiter.prev = tail;
    }
    this.#tail = waiter;
    this.#parked++;
    // `then` registers the wait with the calling task now, so cancelling
    // the task reaches the waiter. Its callbacks run inside the loop
    // callback that resumes the task: the bookkeeping is done before any
    // other code can look, and the caller continues one microtask later,
    // as if it had awaited the Future itself.
    return new Promise<R>((resolve, reject) => {
      waiter.then(
        () => {
          this.#woken--;
          this.#onLeave?.();
          resolve(result);
        },
        (error) => {
          if (waiter.woken) {
            // Woken, then cancelled before resuming: the wake-up is unused.
            this.#woken--;
            this.#onAbandon?.();
          }
          this.#onLeave?.();
          reject(error);
        },
      );
    });
  }

  /**
   * Wakes the longest-parked waiter.
   *
   * @returns `false` if nobody was parked.
   */
  wake(): boolean {
    const waiter = this.#head;
    if (waiter === undefined) return false;
    this.#unlink(waiter);
    waiter.woken = true;
    this.#woken++;
    waiter.setResult();
    return true;
  }

  /**
   * Wakes up to `n` waiters, longest-parked first.
   *
   * @param n How many.
   * @returns How many were woken.
   */
  wakeN(n: number): number {
    let count = 0;
    while (count < n && this.wake()) count++;
    return count;
  }

  /**
   * Wakes every parked waiter.
   *
   * @returns How many were woken.
   */
  wakeAll(): number {
    let count = 0;
    while (this.wake()) count++;
    return count;
  }

  #unlink(waiter: Waiter): void {
    const { prev, next } = waiter;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    waiter.prev = waiter.next = waiter.list = undefined;
    this.#parked--;
  }

  static {
    unlink = (list, waiter) => list.#unlink(waiter);
    hooksOf = (list) => list.#hooks;
  }
}

/** Anything `Held` can release: a lock or a semaphore. */
export interface Releasable {
  release(): void;
}

/**
 * What the primitives' `hold()` returns for `using`: releases once, on its
 * first dispose. A small class, as one is made on every `hold()`.
 */
export class Held implements Disposable {
  #owner: Releasable | undefined;

  /**
   * @param owner What to release.
   */
  constructor(owner: Releasable) {
    this.#owner = owner;
  }

  /** Releases, the first time only. */
  [Symbol.dispose](): void {
    const owner = this.#owner;
    if (owner === undefined) return;
    this.#owner = undefined;
    owner.release();
  }
}
