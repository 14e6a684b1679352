/**
 * A binary min-heap of timers ordered by deadline, ties broken by insertion
 * order, so timers due at the same instant run FIFO. CPython leaves such
 * ties undefined; this module promises FIFO. Deadlines and sequence numbers
 * live in their own packed arrays so that comparisons never touch the
 * entries themselves.
 */
export class TimerHeap<T> {
  #whens: number[] = [];
  #seqs: number[] = [];
  #items: T[] = [];
  #nextSeq = 0;

  get length(): number {
    return this.#items.length;
  }

  /** The earliest entry, or `undefined`. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** The earliest deadline, or `Infinity` when empty. */
  peekWhen(): number {
    return this.#items.length === 0 ? Infinity : this.#whens[0];
  }

  push(when: number, item: T): void {
    const whens = this.#whens;
    const seqs = this.#seqs;
    const items = this.#items;
    const seq = this.#nextSeq++;
    let i = items.length;
    whens.push(when);
    seqs.push(seq);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pw = whens[parent];
      if (pw < when || (pw === when && seqs[parent] < seq)) break;
      whens[i] = pw;
      seqs[i] = seqs[parent];
      items[i] = items[parent];
      i = parent;
    }
    whens[i] = when;
    seqs[i] = seq;
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const when = this.#whens.pop()!;
    const seq = this.#seqs.pop()!;
    const item = items.pop()!;
    if (items.length > 0) this.#siftDown(when, seq, item);
    return top;
  }

  /** Keeps only the entries `keep` accepts, in O(n log n). */
  filter(keep: (item: T) => boolean): void {
    const entries: [number, number, T][] = [];
    for (let i = 0; i < this.#items.length; i++) {
      if (keep(this.#items[i])) {
        entries.push([this.#whens[i], this.#seqs[i], this.#items[i]]);
      }
    }
    entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.#whens = entries.map((e) => e[0]);
    this.#seqs = entries.map((e) => e[1]);
    this.#items = entries.map((e) => e[2]);
  }

  clear(): void {
    this.#whens = [];
    this.#seqs = [];
    this.#items = [];
  }

  #siftDown(when: number, seq: number, item: T): void {
    const whens = this.#whens;
    const seqs = this.#seqs;
    const items = this.#items;
    const n = items.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (
        right < n &&
        (whens[right] < whens[child] ||
          (whens[right] === whens[child] && seqs[right] < seqs[child]))
      ) child = right;
      const cw = whens[child];
      if (cw > when || (cw === when && seqs[child] > seq)) break;
      whens[i] = cw;
      seqs[i] = seqs[child];
      items[i] = items[child];
      i = child;
    }
    whens[i] = when;
    seqs[i] = seq;
    items[i] = item;
  }
}
