/**
 * `ReadBuffer`: the bytes a StreamReader has received and not handed out,
 * and the room a source read lands in — the read side of what CPython's
 * transports keep beneath `streams.py`. It knows nothing of tasks or
 * waiting: the reader decides when to read and who gets the bytes.
 *
 * The unread bytes are `buf[start, end)`. A source read in flight writes
 * into the free end (`readView`), so while one is in flight the buffer is
 * never moved or compacted under it: bytes appended meanwhile go to a new
 * buffer, and a read that lands elsewhere is copied in.
 *
 * @module
 */
import { copyBytes, EMPTY_BYTES, indexOfBytes } from "./_bytes.ts";

/** The first read from a source asks for this much. */
const FIRST_READ = 16 * 1024;
/** Reads that fill their buffer double the next one's size, up to this. */
const MAX_READ = 256 * 1024;
/** An empty buffer gives back an array larger than this. */
const MAX_IDLE_BUFFER = 2 * MAX_READ;
/** `readView(need)` reserves room for at most this much before data comes. */
const MAX_RESERVE = 1024 * 1024;

/** A reader's byte buffer. */
export class ReadBuffer {
  #buf: Uint8Array = EMPTY_BYTES;
  #start = 0;
  #end = 0;
  #readSize = FIRST_READ;
  // A source read writes into #buf at #end right now.
  #inFlight = false;

  /** How many bytes are buffered. */
  get size(): number {
    return this.#end - this.#start;
  }

  /**
   * The buffered byte at `index`, counted from the first unread one.
   *
   * @param index Where.
   * @returns The byte, or `undefined` past the end.
   */
  byteAt(index: number): number | undefined {
    const at = this.#start + index;
    return at < this.#end ? this.#buf[at] : undefined;
  }

  /**
   * Where `separator` starts, searching from `offset` bytes in.
   *
   * @param separator The bytes to find.
   * @param offset How many bytes in to start.
   * @returns The index from the first unread byte, or -1.
   */
  indexOf(separator: Uint8Array, offset: number): number {
    const at = indexOfBytes(
      this.#buf,
      separator,
      this.#start + offset,
      this.#end,
    );
    return at < 0 ? -1 : at - this.#start;
  }

  /**
   * Removes and returns the first `count` bytes, as a copy.
   *
   * @param count How many; at most `size`.
   * @returns The bytes.
   */
  take(count: number): Uint8Array {
    const out = copyBytes(this.#buf, this.#start, count);
    this.consume(count);
    return out;
  }

  /**
   * Drops the first `count` bytes.
   *
   * @param count How many; at most `size`.
   */
  consume(count: number): void {
    this.#start += count;
    if (this.#start === this.#end && !this.#inFlight) {
      this.#start = this.#end = 0;
    }
  }

  /**
   * Moves buffered bytes into `buffer`.
   *
   * @param buffer Where to put them.
   * @returns How many, or `null` if none was buffered.
   */
  copyInto(buffer: Uint8Array): number | null {
    const n = Math.min(buffer.length, this.#end - this.#start);
    if (n === 0) return null;
    buffer.set(this.#buf.subarray(this.#start, this.#start + n));
    this.consume(n);
    return n;
  }

  /**
   * Copies bytes to the end.
   *
   * @param bytes The bytes.
   */
  append(bytes: Uint8Array): void {
    // A read in flight owns the free end: then move to a new array.
    this.#makeRoom(bytes.length, this.#inFlight);
    this.#buf.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /**
   * Puts bytes back at the front, before those buffered: what a read
   * handed out and its task did not take.
   *
   * @param bytes The bytes.
   */
  restore(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#start >= bytes.length) {
      this.#start -= bytes.length;
      this.#buf.set(bytes, this.#start);
      return;
    }
    const size = this.#end - this.#start;
    const grown = new Uint8Array(
      Math.max(bytes.length + size + FIRST_READ, 2 * (bytes.length + size)),
    );
    grown.set(bytes);
    grown.set(this.#buf.subarray(this.#start, this.#end), bytes.length);
    // A read in flight into the old array is copied in when it lands.
    this.#buf = grown;
    this.#start = 0;
    this.#end = bytes.length + size;
  }

  /**
   * The free end, for one source read to write into, with room for a
   * decent read and up to `need` bytes (capped). Until `landed`, the
   * bytes before it stay where they are.
   *
   * @param need How many bytes the waiting read still needs; 0 if unknown.
   * @returns The view to read into.
   */
  readView(need: number): Uint8Array {
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      if (this.#buf.length > MAX_IDLE_BUFFER) this.#buf = EMPTY_BYTES;
    }
    const room = Math.max(this.#readSize >> 2, Math.min(need, MAX_RESERVE));
    this.#makeRoom(room, false);
    this.#inFlight = true;
    return this.#buf.subarray(this.#end);
  }

  /**
   * A source read settled: keeps its `n` bytes (in place if it read into
   * the free end, else copied in), and reads more next time if it filled
   * its view.
   *
   * @param view What it read into (from `readView`, or a buffer it was
   * lent).
   * @param n How many bytes it read; 0 for none, the end or an error.
   */
  landed(view: Uint8Array, n: number): void {
    this.#inFlight = false;
    if (n <= 0) return;
    const buf = this.#buf;
    if (
      view.buffer === buf.buffer &&
      view.byteOffset === buf.byteOffset + this.#end
    ) {
      this.#end += n;
    } else {
      this.append(view.subarray(0, n));
    }
    if (n === view.length && this.#readSize < MAX_READ) this.#readSize *= 2;
  }

  /**
   * Makes at least `room` bytes free after the end: by moving the unread
   * bytes to the front if no read is in flight, else into a new array
   * (doubling while unread bytes pile up, so growth stays linear).
   */
  #makeRoom(room: number, fresh: boolean): void {
    const buf = this.#buf;
    if (!fresh && buf.length - this.#end >= room) return;
    const size = this.#end - this.#start;
    if (!fresh && !this.#inFlight && buf.length - size >= room) {
      buf.copyWithin(0, this.#start, this.#end);
    } else {
      const grown = new Uint8Array(
        Math.max(size + Math.max(room, this.#readSize), 2 * size),
      );
      grown.set(buf.subarray(this.#start, this.#end));
      this.#buf = grown;
    }
    this.#start = 0;
    this.#end = size;
  }
}
