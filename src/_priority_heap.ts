/**
 * A binary min-heap that orders items the way Python's `heapq` does — the
 * same sift steps, so equal priorities come out in the same order as in
 * Python — plus Python's `<` for the values `PriorityQueue` holds by
 * default. Private to `queues.ts`.
 *
 * Every comparison is made before the heap is touched, so a comparator
 * that throws (Python's `TypeError` for `1 < "a"`) leaves it unchanged.
 */

/** `a < b`, strictly. */
export type Less<T> = (a: T, b: T) => boolean;

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "Date";
  return typeof value;
}

function isNumeric(value: unknown): value is number | bigint | boolean {
  const type = typeof value;
  return type === "number" || type === "bigint" || type === "boolean";
}

/**
 * Compares strings by code point, as Python does; JavaScript's `<` compares
 * UTF-16 code units, which puts U+10000 and above before U+E000–U+FFFF.
 */
function stringLess(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800–DFFF) encode code points above FFFF: move them
    // above E000–FFFF so that code units order as code points do.
    if (x >= 0xd800) x += x < 0xe000 ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y < 0xe000 ? 0x2000 : -0x800;
    return x < y;
  }
  return a.length < b.length;
}

/** Python's `==` as tuple comparison uses it to find the first difference. */
function pythonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isNumeric(a) && isNumeric(b)) return a == b;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!pythonEqual(a[i], b[i])) return false;
    }
    return true;
  }
  if (a instanceof Date && b instanceof Date) {
    return a.getTime() === b.getTime();
  }
  return false;
}

/**
 * Python's `a < b` for numbers (and bigints and booleans, which Python
 * counts as ints), strings, Dates (as `datetime`) and arrays compared as
 * tuples: element by element, the first unequal pair decides, a prefix
 * comes first.
 *
 * @throws {TypeError} For values Python would not order, e.g. a number and
 * a string, or two plain objects.
 */
export function pythonLess(a: unknown, b: unknown): boolean {
  if (isNumeric(a) && isNumeric(b)) return a < b;
  if (typeof a === "string" && typeof b === "string") return stringLess(a, b);
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (!pythonEqual(a[i], b[i])) return pythonLess(a[i], b[i]);
    }
    return a.length < b.length;
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() < b.getTime();
  throw new TypeError(
    `Cannot order priority queue items: '<' is not supported between ${
      kind(a)
    } and ${kind(b)}; use [priority, item] pairs with comparable ` +
      "priorities, or pass a compare function",
  );
}

/** A min-heap over an array, sifting as `heapq.heappush`/`heappop`. */
export class PriorityHeap<T> {
  #items: T[] = [];
  #less: Less<T>;

  constructor(less: Less<T>) {
    this.#less = less;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Adds `item`; the heap is unchanged if a comparison throws. */
  push(item: T): void {
    const items = this.#items;
    const less = this.#less;
    // Find where heapq's sift toward the root would stop, comparing only.
    let pos = items.length;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!less(item, items[parent])) break;
      pos = parent;
    }
    // Then move the parents on that path down one level each.
    let hole = items.length;
    items.push(item);
    while (hole > pos) {
      const parent = (hole - 1) >> 1;
      items[hole] = items[parent];
      hole = parent;
    }
    items[pos] = item;
  }

  /**
   * Removes and returns the smallest item, as `heapq.heappop`: the last
   * item fills the root's hole, which first sinks to a leaf along the
   * smaller children, then rises. The heap is unchanged if a comparison
   * throws.
   */
  pop(): T | undefined {
    const items = this.#items;
    const n = items.length;
    if (n <= 1) return items.pop();
    const top = items[0];
    const last = items[n - 1];
    const end = n - 1; // the size once `last` has left the end
    const less = this.#less;
    // The path of the hole from the root to a leaf.
    const path = [0];
    let pos = 0;
    let child = 1;
    while (child < end) {
      const right = child + 1;
      if (right < end && !less(items[child], items[right])) child = right;
      path.push(child);
      pos = child;
      child = 2 * pos + 1;
    }
    // Where `last` settles rising from that leaf: past every path item it
    // is smaller than, where each item sits one level higher once moved.
    let stop = path.length - 1;
    while (stop > 0 && less(last, items[path[stop]])) stop--;
    // Only now change the heap.
    items.length = end;
    for (let k = 0; k < stop; k++) items[path[k]] = items[path[k + 1]];
    items[path[stop]] = last;
    return top;
  }

  /** Removes every item. */
  clear(): void {
    this.#items.length = 0;
  }

  /** The items in heap (array) order. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.#items[Symbol.iterator]();
  }
}
