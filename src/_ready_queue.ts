/**
 * The loop's ready queue: a ring buffer of (callback, argument) pairs, two
 * slots each. A user's `callSoon` Handle enters as (run that handle, the
 * handle); the loop's own wake-ups (a Future resuming an await, a Task's
 * first step) enter as their callback and argument, with no Handle object
 * at all: one object fewer per task switch, about a twentieth of a switch's
 * allocation (bench/README.md).
 */
export class ReadyQueue {
  #slots: unknown[];
  #head = 0; // slot index of the front callback
  #length = 0; // entries, not slots
  #mask: number;
  /** The argument of the entry `shift()` returned last. */
  arg: unknown = undefined;

  /** Creates a queue with room for `capacity` entries before it grows. */
  constructor(capacity = 16) {
    let size = 32;
    while (size < capacity * 2) size *= 2;
    this.#slots = new Array(size);
    this.#mask = size - 1;
  }

  /** The entries waiting. */
  get length(): number {
    return this.#length;
  }

  /** Appends `callback(arg)`. */
  push<A>(callback: (arg: A) => void, arg: A): void {
    if (this.#length * 2 === this.#slots.length) this.#grow();
    const at = (this.#head + this.#length * 2) & this.#mask;
    this.#slots[at] = callback;
    this.#slots[at + 1] = arg;
    this.#length++;
  }

  /**
   * Removes the front entry and returns its callback, its argument left in
   * `arg`; `undefined` when empty.
   */
  shift(): ((arg: unknown) => void) | undefined {
    if (this.#length === 0) return undefined;
    const slots = this.#slots;
    const head = this.#head;
    const callback = slots[head] as (arg: unknown) => void;
    this.arg = slots[head + 1];
    slots[head] = slots[head + 1] = undefined;
    this.#head = (head + 2) & this.#mask;
    this.#length--;
    return callback;
  }

  /** Drops every entry. */
  clear(): void {
    this.#slots.fill(undefined);
    this.#head = 0;
    this.#length = 0;
    this.arg = undefined;
  }

  #grow(): void {
    const old = this.#slots;
    const slots = new Array(old.length * 2);
    for (let i = 0; i < this.#length * 2; i++) {
      slots[i] = old[(this.#head + i) & this.#mask];
    }
    this.#slots = slots;
    this.#head = 0;
    this.#mask = slots.length - 1;
  }
}
