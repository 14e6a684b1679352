/**
 * `StreamReader`, as asyncio's: reads bytes from a source, or from memory
 * with `feedData`, and hands them out as lines, up to separators, in
 * exact counts or as they come. It owns the waiting — one task at a time,
 * cancel-safe, nothing lost — and the source reads; the bytes themselves
 * sit in a `ReadBuffer` (`_read_buffer.ts`). Nothing here touches
 * `Deno.*`: a source is a small interface a `Deno.Conn` happens to
 * implement (see `openConnection` and `startServer` for the network).
 *
 * @module
 */
import { EMPTY_BYTES, toBytes } from "./_bytes.ts";
import { checkNumber, checkOptions } from "./_checks.ts";
import { describe, describeAddress } from "./_describe.ts";
import { DESCRIBE } from "./_introspect.ts";
import { ReadBuffer } from "./_read_buffer.ts";
import { readerHooks } from "./_stream_hooks.ts";
import {
  IncompleteReadError,
  InvalidStateError,
  LimitOverrunError,
} from "./errors.ts";
import { Future } from "./futures.ts";

/** The default `limit` of a StreamReader: 64 KiB, as asyncio's. */
const DEFAULT_LIMIT = 64 * 1024;
const NEWLINE: readonly Uint8Array[] = [new Uint8Array([0x0a])];

/**
 * Where a StreamReader gets its bytes: a `Deno.Conn` is one, and so is
 * anything with the same `read`. At most one `read` is in flight at a
 * time, and the reader keeps whatever it returns, even when the task that
 * wanted the bytes was cancelled meanwhile.
 */
export interface ByteSource {
  /**
   * Reads into `buffer`.
   *
   * @param buffer Where to put the bytes.
   * @returns How many bytes were read, or `null` at the end of the stream.
   */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Options for `new StreamReader()`. */
export interface StreamReaderOptions {
  /**
   * The longest line or separator search, in bytes, before
   * `LimitOverrunError`: 64 KiB by default, as asyncio's. It protects a
   * server from a client that never sends a newline.
   */
  limit?: number;
  /** Where to read from; without it, the reader is fed with `feedData`. */
  source?: ByteSource;
}

/**
 * Reads bytes from a source (or from `feedData`), buffering them: `read`,
 * `readLine`, `readUntil`, `readExactly`, and `for await` over lines. Each
 * read waits on a loop Future, so cancelling the task throws
 * `CancelledError` there; bytes already received stay buffered, and the
 * next read sees them. Only one task may wait on a reader at a time.
 * asyncio: `asyncio.StreamReader`.
 *
 * Reads return copies that nothing else writes to. To spare allocations,
 * which are costly in V8, copies of up to 64 KiB share `ArrayBuffer`s as
 * Node's `Buffer` pool does (each at most 16 times the copy's size);
 * `slice()` a result before transferring its buffer. `readInto(buffer)`
 * reads into a buffer of yours and allocates nothing.
 *
 * @example Reading lines fed from memory
 * ```ts
 * import { run, StreamReader } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const reader = new StreamReader();
 *   reader.feedData("first\nsecond\nlast");
 *   reader.feedEof();
 *   const lines: string[] = [];
 *   for await (const line of reader) lines.push(new TextDecoder().decode(line));
 *   assert.deepEqual(lines, ["first\n", "second\n", "last"]);
 * });
 * ```
 */
export class StreamReader implements AsyncIterable<Uint8Array> {
  #limit: number;
  #source: ByteSource | undefined;
  // The bytes received and not read yet.
  #buffer = new ReadBuffer();
  // The source read in flight, and what it reads into.
  #pending: Promise<void> | undefined = undefined;
  #pendingView: Uint8Array = EMPTY_BYTES;
  // The readInto() whose buffer the source reads into right now.
  #direct: PendingRead | undefined = undefined;
  #eof = false;
  #failed = false;
  #exception: unknown = undefined;
  // The task waiting for data: a PendingRead (read(n), readInto()) takes
  // its bytes when they land; other reads wait on a Future<void> and look.
  #waiter: Future<unknown> | undefined = undefined;
  // The connection was closed by the writer: source errors now mean EOF.
  #lost = false;
  #onError: ((error: unknown) => void) | undefined = undefined;
  #linkedTo: object | undefined = undefined;
  // The method the waiter waits in, for the task tree.
  #waitingIn = "";

  /**
   * Creates a reader.
   *
   * @param options `limit` (64 KiB by default) and the `source`.
   * @throws {TypeError} If `options` is not an object, `limit` not a
   * number, or `source` not an object with a `read()` method.
   * @throws {RangeError} If `limit` is not a positive integer.
   */
  constructor(options?: StreamReaderOptions) {
    checkOptions("create reader", options);
    this.#limit = checkNumber(
      "create reader",
      "limit",
      options?.limit ?? DEFAULT_LIMIT,
      "a positive integer",
      (n) => Number.isSafeInteger(n) && n > 0,
    );
    const source = options?.source;
    if (
      source !== undefined &&
      (source === null || typeof source !== "object" ||
        typeof source.read !== "function")
    ) {
      throw new TypeError(
        `Cannot create reader: expected source as an object with a read() method, got ${
          describe(source)
        }`,
      );
    }
    this.#source = source;
  }

  /** The line and separator limit, in bytes. */
  get limit(): number {
    return this.#limit;
  }

  /**
   * The error the stream failed with (a connection reset, say), if any.
   * asyncio: `StreamReader.exception()`.
   *
   * @returns The error, or `undefined`.
   */
  exception(): unknown {
    return this.#failed ? this.#exception : undefined;
  }

  /**
   * Makes every later read throw `error`, and wakes a waiting one.
   * asyncio: `StreamReader.set_exception()`.
   *
   * @param error The error.
   */
  setException(error: unknown): void {
    this.#failed = true;
    this.#exception = error;
    this.#wake();
  }

  /**
   * Appends bytes to the buffer (a string as UTF-8), waking a waiting
   * read. For readers without a source. asyncio: `feed_data()`.
   *
   * @param data The bytes; they are copied.
   * @throws {InvalidStateError} After `feedEof()`, or if the reader reads
   * from a source (its bytes would race the source's).
   * @throws {TypeError} If `data` is neither bytes nor a string.
   */
  feedData(data: Uint8Array | string): void {
    const bytes = toBytes(data, "feed data");
    this.#checkFed("feed data");
    if (this.#eof) {
      throw new InvalidStateError("Cannot feed data: feedEof() was called");
    }
    if (bytes.length === 0) return;
    this.#buffer.append(bytes);
    this.#wake();
  }

  /**
   * Marks the end of the stream, waking a waiting read. asyncio:
   * `feed_eof()`.
   *
   * @throws {InvalidStateError} If the reader reads from a source, whose
   * end is the end of the stream.
   */
  feedEof(): void {
    this.#checkFed("feed EOF");
    this.#eof = true;
    this.#wake();
  }

  /**
   * Whether the stream ended and every byte was read. asyncio:
   * `at_eof()`.
   *
   * @returns `true` at the end.
   */
  atEof(): boolean {
    return this.#eof && this.#buffer.size === 0;
  }

  /**
   * Reads up to `n` bytes: whatever is buffered, or else waits for the
   * next bytes to arrive. With `n` negative (the default), reads until
   * the end of the stream. An empty result means the end. asyncio:
   * `StreamReader.read()`.
   *
   * @param n The most bytes to return; -1 for everything until the end.
   * @returns The bytes.
   * @throws {CancelledError} If the task is cancelled while waiting; no
   * byte is lost.
   * @throws {RangeError} If `n` is not an integer.
   * @throws {InvalidStateError} If another task is waiting on the reader.
   * @throws The stream's error, if it failed.
   *
   * @example Reading what has arrived
   * ```ts
   * import { run, StreamReader } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const reader = new StreamReader();
   *   reader.feedData("hello world");
   *   reader.feedEof();
   *   assert.equal(new TextDecoder().decode(await reader.read(5)), "hello");
   *   assert.equal(new TextDecoder().decode(await reader.read()), " world");
   *   assert.equal((await reader.read()).length, 0); // the end
   * });
   * ```
   */
  read(n = -1): Promise<Uint8Array> {
    try {
      checkCount("read", n, true);
      this.#checkNotHandedOver("read");
      if (this.#failed) throw this.#exception;
      if (n === 0) return Promise.resolve(new Uint8Array(0));
      if (n < 0) return this.#readAll();
      const size = this.#buffer.size;
      if (size !== 0 || this.#eof) {
        return Promise.resolve(this.#buffer.take(Math.min(n, size)));
      }
      const read = new PendingRead(this, n);
      return this.#park("read", read, 0) as Promise<Uint8Array>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #readAll(): Promise<Uint8Array> {
    while (!this.#eof) {
      await this.#wait("read", 0);
      if (this.#failed) throw this.#exception;
    }
    return this.#buffer.take(this.#buffer.size);
  }

  /**
   * Reads up to `buffer.length` bytes into `buffer`: whatever is buffered,
   * or else the next bytes to arrive. Allocates nothing, so a loop can
   * reuse one buffer, as with `Deno.Conn.read`. Not in asyncio (its
   * transports' `BufferedProtocol` is the closest).
   *
   * With nothing buffered, the source reads straight into `buffer` (no
   * copy); if the task is cancelled meanwhile, bytes that arrive are kept
   * for the next read, but `buffer` may still be written to until then.
   *
   * @param buffer Where to put the bytes.
   * @returns How many bytes were read, or `null` at the end of the stream
   * (0 only for an empty `buffer`).
   * @throws {CancelledError} If the task is cancelled while waiting; no
   * byte is lost.
   * @throws {TypeError} If `buffer` is not a Uint8Array.
   * @throws {InvalidStateError} If another task is waiting on the reader.
   * @throws The stream's error, if it failed.
   *
   * @example Reading into one reused buffer
   * ```ts
   * import { run, StreamReader } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const reader = new StreamReader();
   *   reader.feedData("abcdef");
   *   reader.feedEof();
   *   const buffer = new Uint8Array(4);
   *   const seen: string[] = [];
   *   let n: number | null;
   *   while ((n = await reader.readInto(buffer)) !== null) {
   *     seen.push(new TextDecoder().decode(buffer.subarray(0, n)));
   *   }
   *   assert.deepEqual(seen, ["abcd", "ef"]);
   * });
   * ```
   */
  readInto(buffer: Uint8Array): Promise<number | null> {
    if (!(buffer instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(
          `Cannot readInto: expected buffer as a Uint8Array, got ${
            describe(buffer)
          }`,
        ),
      );
    }
    try {
      this.#checkNotHandedOver("readInto");
      if (this.#failed) throw this.#exception;
      if (buffer.length === 0) return Promise.resolve(0);
      if (this.#buffer.size !== 0 || this.#eof) {
        return Promise.resolve(this.#buffer.copyInto(buffer));
      }
      const read = new PendingRead(this, buffer.length, buffer);
      if (
        this.#source === undefined || this.#pending !== undefined || this.#lost
      ) {
        return this.#park("readInto", read, 0) as Promise<number | null>;
      }
      // Nothing buffered: the source reads straight into `buffer`.
      const promise = this.#park("readInto", read, -1) as Promise<
        number | null
      >;
      this.#direct = read;
      this.#startRead(buffer);
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Reads exactly `n` bytes. asyncio: `readexactly()`.
   *
   * @param n How many bytes; not bound by `limit`.
   * @returns The bytes.
   * @throws {IncompleteReadError} If the stream ends first; it carries the
   * bytes read (`partial`), which are consumed, and `expected`.
   * @throws {CancelledError} If the task is cancelled while waiting; no
   * byte is lost.
   * @throws {RangeError} If `n` is negative or not an integer.
   * @throws {InvalidStateError} If another task is waiting on the reader.
   * @throws The stream's error, if it failed.
   *
   * @example A length-prefixed message
   * ```ts
   * import { run, StreamReader } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const reader = new StreamReader();
   *   reader.feedData(new Uint8Array([5, 104, 101, 108, 108, 111]));
   *   const [length] = await reader.readExactly(1);
   *   const body = await reader.readExactly(length);
   *   assert.equal(new TextDecoder().decode(body), "hello");
   * });
   * ```
   */
  async readExactly(n: number): Promise<Uint8Array> {
    checkCount("readExactly", n, false);
    this.#checkNotHandedOver("readExactly");
    if (this.#failed) throw this.#exception;
    if (n === 0) return new Uint8Array(0);
    const buffer = this.#buffer;
    while (buffer.size < n) {
      if (this.#eof) {
        throw new IncompleteReadError(buffer.take(buffer.size), n);
      }
      await this.#wait("readExactly", n - buffer.size);
      if (this.#failed) throw this.#exception;
    }
    return buffer.take(n);
  }

  /**
   * Reads one line, up to and including `\n`. At the end of the stream,
   * returns what is left (without `\n`), then empty arrays. asyncio:
   * `readline()`.
   *
   * A line longer than `limit` throws `LimitOverrunError` and is dropped
   * (up to its newline if that has arrived, else everything buffered), so
   * the next call reads on; asyncio drops it the same way but raises
   * `ValueError`.
   *
   * @returns The line, with its `\n` unless it is the last.
   * @throws {LimitOverrunError} If the line is longer than `limit`.
   * @throws {CancelledError} If the task is cancelled while waiting; no
   * byte is lost.
   * @throws {InvalidStateError} If another task is waiting on the reader.
   * @throws The stream's error, if it failed.
   *
   * @example Reading a header line
   * ```ts
   * import { run, StreamReader } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const reader = new StreamReader();
   *   reader.feedData("Host: example.com\r\n\r\n");
   *   const line = new TextDecoder().decode(await reader.readLine());
   *   assert.equal(line, "Host: example.com\r\n");
   * });
   * ```
   */
  async readLine(): Promise<Uint8Array> {
    try {
      return await this.#readUntil(NEWLINE, "readLine");
    } catch (error) {
      if (error instanceof IncompleteReadError) return error.partial;
      if (error instanceof LimitOverrunError) {
        const buffer = this.#buffer;
        if (buffer.byteAt(error.consumed) === 0x0a) {
          buffer.consume(error.consumed + 1);
        } else {
          buffer.consume(buffer.size);
        }
      }
      throw error;
    }
  }

  /**
   * Reads up to and including `separator`. With several separators, the
   * shortest result that ends with one of them wins (asyncio 3.13).
   * asyncio: `readuntil()`.
   *
   * @param separator The bytes to stop after (a string as UTF-8), or a
   * list of them; `"\n"` by default.
   * @returns The data, ending with the separator.
   * @throws {IncompleteReadError} If the stream ends first: `partial`
   * holds everything that was buffered (now consumed), `expected` is
   * `null`.
   * @throws {LimitOverrunError} If the separator is not found within
   * `limit` bytes, or found past them; the data stays buffered.
   * @throws {CancelledError} If the task is cancelled while waiting; no
   * byte is lost.
   * @throws {TypeError} If `separator` is not bytes, a string or an array
   * of them.
   * @throws {RangeError} If a separator is empty, or the list is.
   * @throws {InvalidStateError} If another task is waiting on the reader.
   * @throws The stream's error, if it failed.
   *
   * @example Reading up to a blank line
   * ```ts
   * import { run, StreamReader } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const reader = new StreamReader();
   *   reader.feedData("a: 1\r\nb: 2\r\n\r\nbody");
   *   const head = new TextDecoder().decode(await reader.readUntil("\r\n\r\n"));
   *   assert.equal(head, "a: 1\r\nb: 2\r\n\r\n");
   * });
   * ```
   */
  readUntil(
    separator: Uint8Array | string | readonly (Uint8Array | string)[] = NEWLINE,
  ): Promise<Uint8Array> {
    let separators: Uint8Array[];
    try {
      separators = normalizeSeparators(separator);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#readUntil(separators, "readUntil");
  }

  /**
   * Iterates over the lines until the end of the stream, as `readLine`
   * reads them: `for await (const line of reader)`. asyncio:
   * `async for line in reader`.
   *
   * @returns An async iterator over the lines.
   * @throws {LimitOverrunError} If a line is longer than `limit`.
   * @throws {CancelledError} If the task is cancelled while waiting.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const line = await this.readLine();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** A description for logs, as asyncio's repr. */
  toString(): string {
    const info = ["StreamReader"];
    const size = this.#buffer.size;
    if (size > 0) info.push(`${size} bytes`);
    if (this.#eof) info.push("eof");
    if (this.#limit !== DEFAULT_LIMIT) info.push(`limit=${this.#limit}`);
    if (this.#waiter !== undefined && !this.#waiter.done()) info.push("waiter");
    if (this.#failed) info.push(`exception=${String(this.#exception)}`);
    return `<${info.join(" ")}>`;
  }

  async #readUntil(
    separators: readonly Uint8Array[],
    method: string,
  ): Promise<Uint8Array> {
    this.#checkNotHandedOver(method);
    if (this.#failed) throw this.#exception;
    const minLength = separators[0].length;
    const maxLength = separators[separators.length - 1].length;
    // Bytes before `offset` were searched already: no separator starts
    // there (asyncio's scheme; keeps a long line from being rescanned).
    let offset = 0;
    let matchStart = -1;
    let matchEnd = -1;
    const buffer = this.#buffer;
    for (;;) {
      const size = buffer.size;
      if (size - offset >= minLength) {
        for (const separator of separators) {
          const at = buffer.indexOf(separator, offset);
          if (at < 0) continue;
          const end = at + separator.length;
          if (matchEnd < 0 || end < matchEnd) {
            matchEnd = end;
            matchStart = at;
          }
        }
        if (matchEnd >= 0) break;
        offset = Math.max(0, size + 1 - maxLength);
        if (offset > this.#limit) {
          throw new LimitOverrunError(
            `Cannot ${method}: separator is not found, and chunk exceeds ` +
              `the limit of ${this.#limit} bytes`,
            offset,
          );
        }
      }
      if (this.#eof) {
        throw new IncompleteReadError(buffer.take(size), null);
      }
      await this.#wait(method, 0);
      if (this.#failed) throw this.#exception;
    }
    if (matchStart > this.#limit) {
      throw new LimitOverrunError(
        `Cannot ${method}: separator is found, but chunk is longer than ` +
          `the limit of ${this.#limit} bytes`,
        matchStart,
      );
    }
    return buffer.take(matchEnd);
  }

  /**
   * Waits for bytes, the end, or an error; starts a source read if none is
   * in flight. Returns the waiter's `then()`: the wait is registered with
   * the task at once, and awaiting a native promise spares V8's thenable
   * job and its garbage on every read.
   */
  #wait(method: string, need: number): Promise<void> {
    return this.#park(method, new ReadWaiter(this), need);
  }

  /**
   * Makes `waiter` the reader's waiter and, with `need >= 0`, starts a
   * source read into the buffer if none is in flight.
   */
  #park<T>(method: string, waiter: Future<T>, need: number): Promise<T> {
    const current = this.#waiter;
    if (
      current !== undefined &&
      (current instanceof PendingRead || !current.done())
    ) {
      throw new InvalidStateError(
        `Cannot call ${method}: another task is already waiting for incoming data`,
      );
    }
    this.#waiter = waiter;
    this.#waitingIn = method;
    if (
      need >= 0 && this.#source !== undefined && this.#pending === undefined &&
      !this.#lost
    ) {
      this.#pull(need);
    }
    if (waiter instanceof PendingRead) {
      return waiter.then(this.#delivered, this.#undelivered) as Promise<T>;
    }
    return waiter.then();
  }

  /**
   * A read(n)/readInto() stays the reader's waiter from the moment it
   * parks until its task takes the result, as asyncio keeps its waiter
   * until the reading coroutine resumes: no other read can start in
   * between and take bytes that come later in the stream.
   */
  #delivered = (result: unknown): unknown => {
    this.#waiter = undefined;
    return result;
  };

  /**
   * The task did not take the result: an error, a cancellation before the
   * bytes came, or one after they were handed over (then they go back).
   */
  #undelivered = (error: unknown): never => {
    const read = this.#waiter;
    this.#waiter = undefined;
    if (
      read instanceof PendingRead && read.done() && !read.cancelled() &&
      read.exception() === undefined
    ) {
      this.#restore(read, read.result());
    }
    throw error;
  };

  /**
   * A read whose bytes were handed over and whose task has not resumed
   * yet still holds the reader: bytes taken now would come before bytes
   * that task may yet put back (if it is cancelled first).
   */
  #checkNotHandedOver(method: string): void {
    const waiter = this.#waiter;
    if (waiter instanceof PendingRead && waiter.done()) {
      throw new InvalidStateError(
        `Cannot call ${method}: another task is already waiting for incoming data`,
      );
    }
  }

  #checkFed(method: string): void {
    if (this.#source !== undefined) {
      throw new InvalidStateError(
        `Cannot ${method}: the reader reads from its source`,
      );
    }
  }

  /** Something arrived (bytes, the end, an error): tells the waiter. */
  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    if (waiter.getLoop().isClosed()) {
      this.#waiter = undefined;
    } else if (waiter instanceof PendingRead) {
      if (!waiter.done()) this.#settle(waiter);
    } else {
      this.#waiter = undefined;
      if (!waiter.done()) waiter.setResult(undefined);
    }
  }

  /** Hands a waiting read(n) or readInto() what there is now, if anything. */
  #settle(read: PendingRead): void {
    if (this.#failed) {
      read.setException(this.#exception);
    } else if (this.#buffer.size !== 0 || this.#eof) {
      const into = read.into;
      const buffer = this.#buffer;
      if (into === undefined) {
        read.setResult(buffer.take(Math.min(read.count, buffer.size)));
      } else read.setResult(buffer.copyInto(into));
    } else if (
      read !== this.#direct && this.#source !== undefined &&
      this.#pending === undefined && !this.#lost
    ) {
      this.#pull(0); // an empty read: ask again
    }
  }

  /**
   * A read(n)/readInto() result its task did not take (cancelled after
   * the bytes were handed over): the bytes go back to the front.
   */
  #restore(read: PendingRead, result: unknown): void {
    if (result instanceof Uint8Array) this.#buffer.restore(result);
    else if (typeof result === "number" && read.into !== undefined) {
      this.#buffer.restore(read.into.subarray(0, result));
    } // the end: #eof stays set
  }

  /** Starts one source read into the free end of the buffer. */
  #pull(need: number): void {
    this.#startRead(this.#buffer.readView(need));
  }

  #startRead(view: Uint8Array): void {
    this.#pendingView = view;
    let promise: Promise<number | null>;
    try {
      promise = this.#source!.read(view);
    } catch (error) {
      promise = Promise.reject(error);
    }
    this.#pending = promise.then(this.#onRead, this.#onReadError);
  }

  #onRead = (n: number | null): void => {
    const view = this.#pendingView;
    this.#pending = undefined;
    this.#pendingView = EMPTY_BYTES;
    const direct = this.#direct;
    if (direct !== undefined && view === direct.into) {
      this.#direct = undefined;
      if (
        direct === this.#waiter && !direct.done() &&
        !direct.getLoop().isClosed()
      ) {
        // The readInto() that lent its buffer still waits: hand over.
        if (n === null) this.#eof = true;
        direct.setResult(n);
        return;
      }
      // It gave up: the bytes are ours (copied in below).
    }
    if (n === null) this.#eof = true;
    this.#buffer.landed(view, n ?? 0);
    this.#wake();
  };

  #onReadError = (error: unknown): void => {
    this.#buffer.landed(this.#pendingView, 0);
    this.#pending = undefined;
    this.#pendingView = EMPTY_BYTES;
    this.#direct = undefined;
    if (this.#lost) {
      // Our own close interrupted the read.
      this.#eof = true;
      this.#wake();
      return;
    }
    if (!this.#failed) this.setException(error);
    this.#onError?.(error);
  };

  static {
    // The writer of the same connection and the waiters' descriptions
    // reach the reader's state through these hooks (see _stream_hooks.ts).
    readerHooks.describeWait = (reader) =>
      `StreamReader.${reader.#waitingIn}()${peerOf(reader.#source)}`;
    readerHooks.link = (reader, sink, onError) => {
      if (reader.#source !== sink || reader.#linkedTo !== undefined) {
        return false;
      }
      reader.#linkedTo = sink;
      reader.#onError = onError;
      return true;
    };
    readerHooks.lost = (reader, error, failed) => {
      reader.#lost = true;
      if (failed && !reader.#failed) reader.setException(error);
      else {
        reader.#eof = true;
        reader.#wake();
      }
    };
  }
}

/**
 * A `read(n)` (at most `count` bytes) or `readInto(into)` waiting for
 * bytes: the reader gives it the bytes as they land, so its task resumes
 * with them in one step. If the task is cancelled between the hand-over
 * and its resumption, the reader puts the bytes back (asyncio's "a
 * cancelled read loses nothing").
 */
class PendingRead extends Future<unknown> {
  constructor(
    readonly reader: StreamReader,
    readonly count: number,
    readonly into?: Uint8Array,
  ) {
    super();
  }

  /** For the task tree: `StreamReader.read() from 127.0.0.1:50412`. */
  [DESCRIBE](): string {
    return readerHooks.describeWait(this.reader);
  }
}

/** What a read waits on when it takes its bytes from the buffer itself. */
class ReadWaiter extends Future<void> {
  constructor(readonly reader: StreamReader) {
    super();
  }

  /** For the task tree: `StreamReader.readLine() from 127.0.0.1:50412`. */
  [DESCRIBE](): string {
    return readerHooks.describeWait(this.reader);
  }
}

/** ` from 127.0.0.1:50412` for a source with a `remoteAddr`, as a Deno.Conn. */
function peerOf(source: unknown): string {
  let addr: unknown;
  try {
    addr = (source as { remoteAddr?: unknown } | undefined)?.remoteAddr;
  } catch {
    return "";
  }
  const text = describeAddress(addr);
  return text === undefined ? "" : ` from ${text}`;
}

function checkCount(method: string, n: number, negativeOk: boolean): void {
  checkNumber(
    method,
    "n",
    n,
    negativeOk
      ? "a number of bytes (an integer; negative reads to the end)"
      : "a number of bytes (an integer >= 0)",
    (count) => Number.isSafeInteger(count) && (negativeOk || count >= 0),
  );
}

function normalizeSeparators(
  separator: Uint8Array | string | readonly (Uint8Array | string)[],
): Uint8Array[] {
  const action = "read until separator";
  if (typeof separator === "string" || separator instanceof Uint8Array) {
    return checkSeparators([toBytes(separator, action, "separator")]);
  }
  if (!Array.isArray(separator)) {
    throw new TypeError(
      `Cannot ${action}: expected separator as a Uint8Array, a string or an array of them, got ${
        describe(separator)
      }`,
    );
  }
  return checkSeparators(
    separator.map((s, i) => toBytes(s, action, `separator[${i}]`)),
  );
}

function checkSeparators(list: Uint8Array[]): Uint8Array[] {
  if (list.length === 0) {
    throw new RangeError(
      "Cannot read until separator: the list of separators is empty",
    );
  }
  list.sort((a, b) => a.length - b.length);
  if (list[0].length === 0) {
    throw new RangeError(
      "Cannot read until separator: a separator must be at least one byte",
    );
  }
  return list;
}
