/**
 * Where an event loop reads the time. The loop asks its clock for `now()`
 * in milliseconds; a virtual clock also lets the loop jump to the next
 * deadline whenever it is idle (see `VirtualClock` in `./testing`).
 *
 * @module
 */

/**
 * A source of monotonic time in milliseconds, injected into a loop with
 * `run(main, { clock })` or `newEventLoop({ clock })`.
 *
 * Implement `jumpTo` to make the clock virtual: the loop then calls it with
 * the next timer's deadline whenever nothing is ready, no microtask is
 * pending and no I/O is in flight, after `autojumpThreshold` ms of real
 * idleness.
 */
export interface Clock {
  /** The current time in milliseconds; never decreases. */
  now(): number;
  /** Virtual clocks only: moves the time forward to `when`. */
  jumpTo?(when: number): void;
  /** Virtual clocks only: real milliseconds of idleness before a jump. */
  readonly autojumpThreshold?: number;
  /**
   * Virtual clocks only: calls `listener` whenever the time moves, so a loop
   * waiting for its next deadline wakes up. Returns an unsubscribe function.
   */
  subscribe?(listener: () => void): () => void;
}

const NativeDate = globalThis.Date;
const nativeDateNow = NativeDate.now;

/**
 * The wall-clock source of a loop: `performance.now()` normally, and the
 * faked `Date.now()` while a fake-timer library (`@std/testing`'s
 * `FakeTime`, `@sinonjs/fake-timers`) has replaced `Date` — those libraries
 * leave `performance.now` alone. An offset keeps the reading continuous and
 * monotonic when `Date` is swapped in or out while a loop runs.
 */
export class RealClock implements Clock {
  #source: unknown = undefined;
  #offset = 0;
  #last = 0;

  now(): number {
    const D = globalThis.Date;
    let source: unknown;
    let raw: number;
    if (D === NativeDate && D.now === nativeDateNow) {
      source = performance;
      raw = performance.now();
    } else {
      source = D;
      raw = D.now();
    }
    if (source !== this.#source) {
      this.#source = source;
      this.#offset = this.#last - raw;
    }
    const t = raw + this.#offset;
    if (t > this.#last) this.#last = t;
    return this.#last;
  }
}
