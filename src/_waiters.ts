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
 * Beside parking and waking (trio's `park`, `unpark(count)` and
 * `unpark_all` are `park`, `wake`/`wakeN(count)` and `wakeAll`), the list
 * moves waiters to another list in order (`repark`, `reparkAll`), fails
 * every waiter with one error for good (`break`, trio's `break_lot`), and
 * reports its counts in one object (`statistics()`) for `toString()` and
 * tests.
 *
 * The bookkeeping of a resuming waiter — the counters and the hooks — runs
 * inside the loop callback that resumes it, before any other task can
 * observe the primitive, so invariants hold at every microtask.
 *
 * @module
 */
import { awaitWithoutPromise } from "./_current.ts";
import { InvalidStateError } from "./errors.ts";
import { type AbstractEventLoop, getEventLoop } from "./abstract_event_loop.ts";
import { Future } from "./futures.ts";
import {
  type AwaitRecord,
  AWAITS,
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
   * Runs after any waiter resumes — woken, abandoned, cancelled while
   * parked or failed by `break` — once the counters are up to date.
   */
  onLeave?: () => void;
  /**
   * What a parked task waits for, for the task tree:
   * `Lock.acquire() on <Lock [locked, waiters:1]>`.
   */
  describe?: () => string;
  /** The task parked tasks wait for (a lock's holder), for deadlock detection. */
  blockedBy?: () => object | undefined;
  /**
   * The futures parked tasks wait on in turn (the awaitables an
   * `asCompleted` iteration waits for), followed by the tree and the graph.
   */
  awaits?: () => Iterable<object>;
}

/** A snapshot of a list's counts, as trio's `ParkingLot.statistics()`. */
export interface WaiterListStatistics {
  /** Waiters parked and not woken yet. */
  readonly parked: number;
  /** Waiters woken whose tasks have not resumed yet. */
  readonly woken: number;
  /** Whether `break` was called: every later `park` fails. */
  readonly broken: boolean;
}

/**
 * A parked task's Future, and its node in the list it is parked in. The
 * list gives it the one private operation it needs, unlinking itself when
 * cancelled, as a function made once per list.
 */
class Waiter extends Future<void> {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  /** Whether it is in `list`: cleared once woken, cancelled or failed. */
  linked = true;
  woken = false;

  constructor(
    loop: AbstractEventLoop,
    /** The list it is parked in, or was last (`repark` moves it). */
    public list: WaiterList,
    /** Takes the waiter out of `list`. */
    public unlink: (waiter: Waiter) => void,
  ) {
    super({ loop });
  }

  /** Cancelling a parked waiter takes it out of the list at once. */
  override cancel(message?: string): boolean {
    if (!super.cancel(message)) return false;
    if (this.linked) this.unlink(this);
    return true;
  }

  /** For the task tree: what the parked task waits for. */
  [DESCRIBE](): string {
    if (!this.linked) return "woken, about to resume";
    return this.list.hooks.describe?.() ?? `waiting on a ${this.list.owner}`;
  }

  [BLOCKED_BY](): object | undefined {
    return this.linked ? this.list.hooks.blockedBy?.() : undefined;
  }

  [AWAITS](): Iterable<object> {
    return (this.linked ? this.list.hooks.awaits?.() : undefined) ?? [];
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
  #broken = false;
  #brokenBy: unknown = undefined;
  /** What a waiter calls to leave this list, made once per list. */
  #unlinkWaiter = (waiter: Waiter): void => this.#unlink(waiter);

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

  /** The owner's hooks, which its waiters read for introspection. */
  get hooks(): WaiterListHooks {
    return this.#hooks;
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

  /**
   * The parked waiters' Futures, longest-parked first, for introspection:
   * the call graph follows each to the task awaiting it (as it does for
   * the tasks an `asCompleted` iteration's done-callbacks wake).
   *
   * @returns The Futures.
   */
  *waiters(): Generator<object, void, undefined> {
    for (let waiter = this.#head; waiter !== undefined; waiter = waiter.next) {
      yield waiter;
    }
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
   * The counts at this moment, in one object, for `toString()` and tests.
   *
   * @returns Parked and woken waiters, and whether the list is broken.
   */
  statistics(): WaiterListStatistics {
    return { parked: this.#parked, woken: this.#woken, broken: this.#broken };
  }

  /**
   * Parks the calling task at the back of the list until `wake` picks it.
   * Cancelling the task removes it; cancelling it after its wake-up hands
   * the wake-up to the `onAbandon` hook. Every rejection is the task's
   * `CancelledError`, the error the list was broken with, or an
   * `InvalidStateError` if the list is in use by another event loop.
   *
   * @typeParam R The type of `result`.
   * @param result What the promise resolves to once woken.
   * @returns A promise for `result`.
   */
  park<R>(result: R): Promise<R> {
    if (this.#broken) return Promise.reject(this.#brokenBy);
    const loop = getEventLoop();
    const refusal = this.#bind(loop);
    if (refusal !== undefined) return Promise.reject(refusal);
    const waiter = new Waiter(loop, this, this.#unlinkWaiter);
    this.#append(waiter);
    // `then` registers the wait with the calling task now, so cancelling
    // the task reaches the waiter. Its callbacks run inside the loop
    // callback that resumes the task: the bookkeeping is done before any
    // other code can look, and the caller continues one microtask later,
    // as if it had awaited the Future itself. They count in the list the
    // waiter is in by then, as `repark` may have moved it.
    return new Promise<R>((resolve, reject) => {
      // As `waiter.then(...)`, without the promise it would return, which
      // nobody reads: 217 bytes less per wait.
      awaitWithoutPromise(
        waiter,
        () => {
          waiter.list.#left(waiter, false);
          resolve(result);
        },
        (error) => {
          waiter.list.#left(waiter, true);
          reject(error);
        },
      );
    });
  }

  /**
   * Wakes the longest-parked waiter (trio's `unpark()`).
   *
   * @returns `false` if nobody was parked.
   */
  wake(): boolean {
    const waiter = this.#head;
    if (waiter === undefined || this.#dropIfClosed()) return false;
    this.#unlink(waiter);
    waiter.woken = true;
    this.#woken++;
    waiter.setResult();
    return true;
  }

  /**
   * Wakes up to `n` waiters, longest-parked first (trio's
   * `unpark(count)`).
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
   * Wakes every parked waiter (trio's `unpark_all()`).
   *
   * @returns How many were woken.
   */
  wakeAll(): number {
    let count = 0;
    while (this.wake()) count++;
    return count;
  }

  /**
   * Moves up to `n` of the longest-parked waiters to the back of `to`, in
   * order, without waking them (trio's `repark`): a condition's waiters
   * can queue for its lock this way. A moved waiter is `to`'s from then on:
   * its wake-up, cancellation and hooks are `to`'s.
   *
   * @param to The list to move them to.
   * @param n How many; 1 by default.
   * @returns How many were moved.
   * @throws {InvalidStateError} If `to` is in use by another event loop,
   * or is broken.
   */
  repark(to: WaiterList, n = 1): number {
    if (to === this) return 0;
    let count = 0;
    let waiter: Waiter | undefined = this.#head;
    for (; count < n && waiter !== undefined; count++) {
      if (count === 0) to.#checkReceives(waiter.getLoop(), this.#owner);
      const next: Waiter | undefined = waiter.next;
      this.#unlink(waiter);
      waiter.list = to;
      waiter.unlink = to.#unlinkWaiter;
      to.#append(waiter);
      waiter = next;
    }
    return count;
  }

  /**
   * Moves every parked waiter to the back of `to` (trio's `repark_all`).
   *
   * @param to The list to move them to.
   * @returns How many were moved.
   * @throws {InvalidStateError} If `to` is in use by another event loop,
   * or is broken.
   */
  reparkAll(to: WaiterList): number {
    return this.repark(to, this.#parked);
  }

  /**
   * Breaks the list for good (trio's `break_lot`): every parked waiter's
   * `park` rejects with `error`, and so does every later `park`. Waiters
   * already woken keep their wake-up. For a resource that is gone, as a
   * stream whose connection failed.
   *
   * @param error What the waiters get.
   * @returns How many parked waiters failed.
   */
  break(error: unknown): number {
    if (!this.#broken) {
      this.#broken = true;
      this.#brokenBy = error;
    }
    if (this.#head === undefined || this.#dropIfClosed()) return 0;
    let count = 0;
    let waiter: Waiter | undefined = this.#head;
    for (; waiter !== undefined; count++) {
      const next: Waiter | undefined = waiter.next;
      this.#unlink(waiter);
      waiter.setException(error);
      waiter = next;
    }
    return count;
  }

  /** Binds the list to `loop` while tasks wait; explains a refusal. */
  #bind(loop: AbstractEventLoop): InvalidStateError | undefined {
    if (loop === this.#loop) return undefined;
    // Like asyncio's loop-bound primitives, but bound only while tasks
    // wait: a lock made at module level may serve one `run` after another.
    if (this.#parked + this.#woken > 0) {
      return new InvalidStateError(
        `Cannot wait on ${this.#owner}: it is in use by another event loop`,
      );
    }
    this.#loop = loop;
    return undefined;
  }

  #checkReceives(loop: AbstractEventLoop, from: string): void {
    if (this.#broken) {
      throw new InvalidStateError(
        `Cannot move waiters from ${from} to ${this.#owner}: it is broken`,
      );
    }
    const refusal = this.#bind(loop);
    if (refusal !== undefined) throw refusal;
  }

  #append(waiter: Waiter): void {
    const tail = this.#tail;
    if (tail === undefined) this.#head = waiter;
    else {
      tail.next = waiter;
      waiter.prev = tail;
    }
    this.#tail = waiter;
    waiter.linked = true;
    this.#parked++;
  }

  #unlink(waiter: Waiter): void {
    const { prev, next } = waiter;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    waiter.prev = waiter.next = undefined;
    waiter.linked = false;
    this.#parked--;
  }

  /** A waiter's task resumed: woken, cancelled or failed. */
  #left(waiter: Waiter, failed: boolean): void {
    if (waiter.woken) {
      this.#woken--;
      // Woken, then cancelled before resuming: the wake-up is unused.
      if (failed) this.#onAbandon?.();
    }
    this.#onLeave?.();
  }

  /**
   * The loop was closed with tasks still parked: they can never resume,
   * and a wake-up would throw. Forgets them.
   */
  #dropIfClosed(): boolean {
    if (!this.#loop!.isClosed()) return false;
    this.#head = this.#tail = undefined;
    this.#parked = 0;
    return true;
  }
}

/** Anything `ReleaseOnDispose` can release: a lock or a semaphore. */
export interface Releasable {
  release(): void;
}

/**
 * What the primitives' `hold()` returns for `using`: releases once, on its
 * first dispose. A small class, as one is made on every `hold()`.
 */
export class ReleaseOnDispose implements Disposable {
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
