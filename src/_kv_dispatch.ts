/**
 * The consuming half of a `KvQueue`: one `listenQueue` handler per queue
 * object, and between it and the consumer tasks a bounded buffer. `mod.ts`
 * never exports this file.
 *
 * What Deno KV does, measured on Deno 2.9.6 with a local database, and
 * what this file does about it:
 *
 * - `listenQueue` calls its handler for every ready message at once,
 *   without waiting for the previous call to settle: a handler that
 *   awaits room was handed all 1000 of 1000 messages within a second. So
 *   awaiting room would pull the whole queue into one process. Instead a
 *   delivery that finds no waiting consumer and a full buffer is *parked*:
 *   written to a KV key under the queue's prefix, then acknowledged. A
 *   consumer with room moves parked items back into the queue with one
 *   atomic commit (check, delete, enqueue), so an item is never lost and
 *   never in two places, and a process holds at most `prefetch` items
 *   besides those its handlers run.
 * - A process only notices messages that another process enqueued when its
 *   own dequeue timer fires, which is up to 60 s later when its queue was
 *   empty (measured: 58.6 s). Enqueuing anything in the process makes it
 *   look at once, so a consumer with room enqueues a tick (a message that
 *   is dropped on delivery) when it found no parked item to move back:
 *   at once, then 10, 20, 40 ... ms later up to `pollInterval` while
 *   nothing comes.
 * - A delivery's handler promise is its acknowledgement: a resolved one
 *   deletes the message, a rejected one hands it to Deno KV's own retries.
 *   Every delivery this file takes is settled one way or the other.
 */
import { currentTaskStore } from "./_current.ts";
import { held } from "./_held.ts";
import { Deque } from "./_deque.ts";
import { CancelledError, InvalidStateError } from "./errors.ts";
import { findRunningLoop } from "./_loops.ts";
import { getRunningLoop } from "./abstract_event_loop.ts";
import type { Future } from "./futures.ts";
import type { Task } from "./tasks.ts";
import {
  isItem,
  isTick,
  type ItemEnvelope,
  type QueueKeys,
  TICK,
} from "./_kv_envelope.ts";

// The poller's shortest nap, and how long items it moved back into the
// queue may take to come back to this process (Deno KV adds up to 100 ms).
const MIN_POLL = 10;
const INCOMING_WAIT = 200;

/** A message handed to this process and not yet settled. */
export interface Delivery<T> {
  readonly envelope: ItemEnvelope<T>;
  /** Ends the handler call successfully: Deno KV deletes the message. */
  ack(): void;
  /** Ends it with `error`: Deno KV retries it on its own schedule. */
  nack(error: unknown): void;
}

/**
 * Runs a Deno KV operation as a loop Future when a loop runs the caller,
 * so that awaiting it is a cancellation point and a virtual clock holds
 * still meanwhile. A commit cannot be called back: a cancelled await
 * waits for the operation to settle, then throws `CancelledError`.
 */
export function io<T>(start: () => Promise<T>): Promise<T> {
  const loop = findRunningLoop();
  if (loop === undefined) return unlocked(start);
  return held(loop, () => unlocked(start), { settleOnCancel: true });
}

// How often an operation is tried while the database is locked.
const LOCKED_TRIES = 20;

/**
 * Runs `start`, again while Deno KV reports the database locked. With
 * several processes writing one SQLite file, a write can fail with
 * "database is locked" (measured: a producer and three workers) although
 * nothing is wrong; it succeeds when tried again a few milliseconds
 * later. Other errors, and the last one, pass through.
 */
export async function unlocked<T>(start: () => Promise<T>): Promise<T> {
  for (let i = 1;; i++) {
    try {
      return await start();
    } catch (error) {
      if (!isLocked(error) || i >= LOCKED_TRIES) throw error;
      const ms = Math.min(100, 2 ** i) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
  }
}

/** Whether `error` is SQLite's transient "database is locked". */
export function isLocked(error: unknown): boolean {
  return error instanceof Error && /database is locked/.test(error.message);
}

/** What the dispatcher needs from its queue. */
export interface DispatchOptions {
  readonly keys: QueueKeys;
  readonly prefetch: number;
  readonly pollInterval: number;
  /** The enqueue options of a copy of `envelope`. */
  readonly enqueueOptions: (envelope: ItemEnvelope<unknown>) => {
    delay: number;
    backoffSchedule: number[];
    keysIfUndelivered: Deno.KvKey[];
  };
}

/** Hands a queue's deliveries to the consumer tasks of this process. */
export class Dispatcher<T> {
  readonly #kv: Deno.Kv;
  readonly #options: DispatchOptions;
  #listening = false;
  #consumers = 0;
  #shut = false;
  #failure: unknown = undefined;
  readonly #takers = new Deque<Future<Delivery<T> | null>>();
  readonly #buffer = new Deque<Delivery<T>>();
  readonly #handBacks = new Set<Promise<void>>();
  // Items moved out of the parking area and not yet delivered back, and
  // when the last was moved: those not back within INCOMING_WAIT went to
  // another process.
  #incoming = 0;
  #unparkedAt = -Infinity;
  // Items delivered so far: a look that finds new ones resets the backoff.
  #arrivals = 0;
  // Whether parked items may exist: true until a look found fewer than
  // it asked for, and again once anything is parked.
  #parkedMaybe = true;
  #poller: object | undefined = undefined;
  #pollerTask: Task<void> | undefined = undefined;
  #nap: Future<boolean> | undefined = undefined;

  constructor(kv: Deno.Kv, options: DispatchOptions) {
    this.#kv = kv;
    this.#options = options;
  }

  /** Deliveries held by this process and not yet taken by a consumer. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Consumers taking items now. */
  get consumers(): number {
    return this.#consumers;
  }

  /** A consumer starts: listen if nobody did yet, and poll. */
  start(): void {
    if (this.#failure !== undefined) throw this.#failure;
    this.#consumers++;
    if (!this.#listening) this.#listen();
    if (this.#poller === undefined && !this.#shut) {
      const token = {};
      this.#poller = token;
      // Not awaited here: a then() on it inside the consumer's task would
      // make the consumer's cancellation reach the poller.
      this.#pollerTask = getRunningLoop().createTask(
        () => this.#poll(token),
        { name: "KvQueue poller" },
      );
    }
  }

  /**
   * A consumer stops. When it was the last, buffered deliveries are handed
   * back and the poller ends; resolves once both are done.
   */
  async stop(): Promise<void> {
    this.#consumers--;
    if (this.#consumers > 0) return;
    const poller = this.#pollerTask;
    this.#poller = undefined;
    this.#pollerTask = undefined;
    this.#wake();
    this.#handBackBuffer();
    if (poller !== undefined) {
      try {
        await poller;
      } catch (error) {
        // A poller cancelled with the loop just ends; other errors were
        // handed to the consumers already.
        if (!(error instanceof CancelledError)) throw error;
      }
    }
    await this.settled();
  }

  /** Resolves once every hand-back in flight has committed or failed. */
  async settled(): Promise<void> {
    while (this.#handBacks.size > 0) {
      await io(() => Promise.all(this.#handBacks));
    }
  }

  /** Stops giving out items; they are handed back instead. */
  shutdown(): void {
    if (this.#shut) return;
    this.#shut = true;
    for (let f = this.#takers.shift(); f; f = this.#takers.shift()) {
      if (!f.done()) f.setResult(null);
    }
    this.#handBackBuffer();
    this.#wake();
  }

  /**
   * The next delivery for the calling task, or `null` once shut down. A
   * delivery that arrives as the caller is cancelled goes to the next one.
   */
  async take(): Promise<Delivery<T> | null> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#shut) return null;
    const buffered = this.#buffer.shift();
    if (buffered !== undefined) return buffered;
    const taker = getRunningLoop().createFuture<Delivery<T> | null>();
    this.#takers.push(taker);
    this.#wake(); // the poller naps shorter while a consumer waits
    try {
      return await taker;
    } catch (error) {
      if (taker.done() && !taker.cancelled() && !hasFailed(taker)) {
        const delivery = taker.result();
        if (delivery !== null) this.#giveBack(delivery);
      } else {
        this.#takers.remove(taker);
      }
      throw error;
    }
  }

  #listen(): void {
    this.#listening = true;
    const handler = (value: unknown) => this.#onMessage(value);
    // Deliveries must not belong to the task that happened to start the
    // listener: cancelling it would reach into them.
    const listening = currentTaskStore.run(
      undefined as unknown as object,
      () => this.#kv.listenQueue(handler),
    );
    listening.then(
      () =>
        this.#fail(
          new InvalidStateError(
            "Cannot take item: the queue's Deno.Kv was closed",
          ),
        ),
      (error) => this.#fail(error),
    );
  }

  #onMessage(value: unknown): Promise<void> | undefined {
    if (isTick(value)) return undefined;
    if (!isItem(value)) {
      // Deno KV retries it on its own schedule and logs each failure.
      throw new TypeError(
        "Cannot handle queue message: a KvQueue did not put it (a Deno KV database holds one queue: give other messages their own database)",
      );
    }
    this.#arrivals++;
    if (this.#incoming > 0) this.#incoming--;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    let settled = false;
    this.#offer({
      envelope: value as ItemEnvelope<T>,
      ack() {
        if (!settled) resolve();
        settled = true;
      },
      nack(error) {
        if (!settled) reject(error);
        settled = true;
      },
    });
    return promise;
  }

  #offer(delivery: Delivery<T>): void {
    if (this.#consumers > 0 && !this.#shut && this.#failure === undefined) {
      for (let f = this.#takers.shift(); f; f = this.#takers.shift()) {
        if (!f.done()) return f.setResult(delivery);
      }
      if (this.#buffer.length < this.#options.prefetch) {
        return this.#buffer.push(delivery);
      }
    }
    this.#handBack(delivery);
  }

  /** A delivery whose taker was cancelled: first in line again. */
  #giveBack(delivery: Delivery<T>): void {
    for (let f = this.#takers.shift(); f; f = this.#takers.shift()) {
      if (!f.done()) return f.setResult(delivery);
    }
    if (this.#shut || this.#failure !== undefined) this.#handBack(delivery);
    else this.#buffer.unshift(delivery);
  }

  #handBackBuffer(): void {
    for (let d = this.#buffer.shift(); d; d = this.#buffer.shift()) {
      this.#handBack(d);
    }
  }

  /** Parks the item for a consumer with room, then acknowledges it. */
  #handBack(delivery: Delivery<T>): void {
    const envelope = delivery.envelope;
    const key = this.#options.keys.parked(Date.now(), envelope.key);
    const done: Promise<void> = unlocked(() =>
      this.#kv.atomic().set(key, envelope).commit()
    )
      .then(
        () => {
          this.#parkedMaybe = true;
          delivery.ack();
        },
        (error) => delivery.nack(error),
      ).finally(() => this.#handBacks.delete(done));
    this.#handBacks.add(done);
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    for (let f = this.#takers.shift(); f; f = this.#takers.shift()) {
      if (!f.done()) f.setException(error);
    }
    this.#handBackBuffer();
    this.#wake();
  }

  /** How many more items this process has room for. */
  #wanted(): number {
    if (this.#consumers === 0 || this.#shut) return 0;
    const room = Math.max(0, this.#options.prefetch - this.#buffer.length);
    return this.#takers.length + room - this.#incoming;
  }

  /**
   * While consumers run and have room: move parked items back into the
   * queue, or tick when there were none. The first look is at once, the
   * next ones back off from 10 ms to `pollInterval` while nothing comes
   * (so a busy queue is followed closely, an idle one costs one read and
   * one write per `pollInterval`); a consumer left waiting with parked
   * items about looks at once.
   */
  async #poll(token: object): Promise<void> {
    let delay = MIN_POLL;
    let arrivals = this.#arrivals;
    try {
      while (this.#polling(token)) {
        if (performance.now() - this.#unparkedAt > INCOMING_WAIT) {
          this.#incoming = 0;
        }
        const wanted = this.#wanted();
        let moved = 0;
        if (wanted > 0) {
          moved = await this.#unpark(wanted);
          if (moved === 0) {
            await io(() => this.#kv.enqueue(TICK, { backoffSchedule: [] }));
          }
        }
        const busy = moved > 0 || this.#arrivals !== arrivals;
        arrivals = this.#arrivals;
        delay = busy
          ? MIN_POLL
          : Math.min(delay * 2, this.#options.pollInterval);
        // Nap; woken by a consumer that waits, look for parked items only.
        for (;;) {
          if (!this.#polling(token)) return;
          const kicked = !(await this.#sleep(
            this.#wanted() > 0 ? delay : this.#options.pollInterval,
          ));
          if (!this.#polling(token)) return;
          if (!kicked) break;
          const wanted = this.#wanted();
          if (wanted > 0 && this.#parkedMaybe) await this.#unpark(wanted);
        }
      }
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      this.#fail(error);
    } finally {
      if (this.#poller === token) {
        this.#poller = undefined;
        this.#pollerTask = undefined;
      }
    }
  }

  #polling(token: object): boolean {
    return this.#poller === token && !this.#shut &&
      this.#failure === undefined;
  }

  /** Moves up to `count` parked items back into the queue. */
  async #unpark(count: number): Promise<number> {
    const kv = this.#kv;
    const entries = await io(() =>
      Array.fromAsync(
        kv.list<ItemEnvelope<unknown>>({
          prefix: this.#options.keys.parkedPrefix,
        }, { limit: count }),
      )
    );
    this.#parkedMaybe = entries.length >= count;
    let moved = 0;
    for (const entry of entries) {
      const envelope = entry.value;
      const result = await io(() =>
        kv.atomic().check(entry).delete(entry.key)
          .enqueue(envelope, this.#options.enqueueOptions(envelope)).commit()
      );
      if (result.ok) {
        moved++;
        this.#incoming++;
        this.#unparkedAt = performance.now();
      }
    }
    return moved;
  }

  /** Waits `ms`; resolves early (to `false`) when woken. */
  async #sleep(ms: number): Promise<boolean> {
    const nap = getRunningLoop().createFuture<boolean>();
    this.#nap = nap;
    try {
      return await napFor(nap, ms);
    } finally {
      if (this.#nap === nap) this.#nap = undefined;
    }
  }

  #wake(): void {
    const nap = this.#nap;
    if (nap !== undefined && !nap.done()) nap.setResult(false);
  }
}

/**
 * Resolves `nap` to `true` after `ms` of the host's time (`setTimeout`),
 * unless something settles it first, and awaits it. Polling Deno KV runs
 * at the pace Deno KV keeps, the wall clock, whatever clock the loop runs
 * on: on a virtual clock, loop timers would fire back to back while the
 * loop waits for KV, and turn polling into a storm of writes.
 */
export async function napFor(
  nap: Future<boolean>,
  ms: number,
): Promise<boolean> {
  const timer = Number.isFinite(ms)
    ? setTimeout(() => {
      if (!nap.done()) nap.setResult(true);
    }, ms)
    : undefined;
  try {
    return await nap;
  } finally {
    clearTimeout(timer);
  }
}

function hasFailed(future: Future<unknown>): boolean {
  return future.exception() !== undefined;
}
