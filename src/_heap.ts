/**
 * A binary min-heap ordered by `when`, ties broken by `seq` (insertion
 * order), so timers due at the same instant run FIFO. CPython leaves such
 * ties undefined; this module promises FIFO.
 */
export interface HeapEntry {
  when(): number;
  readonly seq: number;
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  const aw = a.when();
  const bw = b.when();
  return aw < bw || (aw === bw && a.seq < b.seq);
}

export class TimerHeap<T extends HeapEntry> {
  #items: T[] = [];

  get length(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(entry: T): void {
    const items = this.#items;
    let i = items.length;
    items.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = entry;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) this.#siftDown(last);
    return top;
  }

  /** Keeps only the entries `keep` accepts, in O(n). */
  filter(keep: (entry: T) => boolean): void {
    const kept = this.#items.filter(keep);
    kept.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    this.#items = kept;
  }

  clear(): void {
    this.#items = [];
  }

  #siftDown(entry: T): void {
    const items = this.#items;
    const n = items.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(items[child + 1], items[child])) child++;
      if (!before(items[child], entry)) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = entry;
  }
}
