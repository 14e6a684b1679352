/**
 * A growable ring buffer: O(1) push at the back and shift at the front,
 * without the O(n) cost of `Array.prototype.shift` on large queues. Queues,
 * the executor's job list and KV dispatch use it (the loop's ready queue is
 * `_ready_queue.ts`, pairs without an object each).
 */
export class Deque<T> {
  #items: (T | undefined)[];
  #head = 0;
  #length = 0;
  #mask: number;

  constructor(capacity = 16) {
    let size = 16;
    while (size < capacity) size *= 2;
    this.#items = new Array(size);
    this.#mask = size - 1;
  }

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  unshift(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#items[this.#head] = item;
    this.#length++;
  }

  /** Removes and returns the front item; `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Removes and returns the back item; `undefined` when empty. */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    const index = (this.#head + this.#length) & this.#mask;
    const item = this.#items[index];
    this.#items[index] = undefined;
    return item;
  }

  peekFront(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes the first occurrence of `item`; returns whether it was found. */
  remove(item: T): boolean {
    for (let i = 0; i < this.#length; i++) {
      if (this.#items[(this.#head + i) & this.#mask] === item) {
        for (let j = i; j < this.#length - 1; j++) {
          this.#items[(this.#head + j) & this.#mask] =
            this.#items[(this.#head + j + 1) & this.#mask];
        }
        this.#length--;
        this.#items[(this.#head + this.#length) & this.#mask] = undefined;
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#head = 0;
    this.#length = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) {
      yield this.#items[(this.#head + i) & this.#mask] as T;
    }
  }

  #grow(): void {
    const old = this.#items;
    const size = old.length * 2;
    const items = new Array<T | undefined>(size);
    for (let i = 0; i < this.#length; i++) {
      items[i] = old[(this.#head + i) & this.#mask];
    }
    this.#items = items;
    this.#head = 0;
    this.#mask = size - 1;
  }
}
