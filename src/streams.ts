/**
 * `StreamReader` and `StreamWriter`, as asyncio's `streams.py`: a reader
 * that buffers bytes from a source and reads lines, separators and exact
 * counts; a writer that buffers bytes for a sink with high and low water
 * marks, and `drain()` to wait while the peer is slow. Nothing here
 * touches `Deno.*`: the sources and sinks are small interfaces that a
 * `Deno.Conn` happens to implement (see `openConnection` and
 * `startServer` for the network), and a reader can be fed from memory.
 *
 * @module
 */
import { copyBytes, EMPTY_BYTES, indexOfBytes, toBytes } from "./_bytes.ts";
import { checkNumber, checkOptions, describe } from "./_describe.ts";
import { writerHooks } from "./_stream_hooks.ts";
import { DESCRIBE, labelFuture } from "./_introspect.ts";
import {
  IncompleteReadError,
  InvalidStateError,
  LimitOverrunError,
} from "./errors.ts";
import { _findRunningLoop, type AbstractEventLoop } from "./events.ts";
import { Future } from "./futures.ts";

/** The default `limit` of a StreamReader: 64 KiB, as asyncio's. */
const DEFAULT_LIMIT = 64 * 1024;
/** The first read from a source asks for this much. */
const FIRST_READ = 16 * 1024;
/** Reads that fill their buffer double the next one's size, up to this. */
const MAX_READ = 256 * 1024;
/** An empty reader gives back a buffer larger than this. */
const MAX_IDLE_BUFFER = 2 * MAX_READ;

/** `readExactly(n)` reserves room for at most this much before data comes. */
const MAX_RESERVE = 1024 * 1024;
/** The default high-water mark of a StreamWriter: 64 KiB, as asyncio's. */
const DEFAULT_HIGH_WATER = 64 * 1024;
/** The writer's buffer starts at this size, and grows as needed. */
const FIRST_WRITE_BUFFER = 16 * 1024;
/** An empty writer gives back a buffer larger than this. */
const MAX_IDLE_WRITE_BUFFER = 1024 * 1024;
const NEWLINE: readonly Uint8Array[] = [new Uint8Array([0x0a])];
const RESOLVED: Promise<void> = Promise.resolve();

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

/**
 * Where a StreamWriter sends its bytes: a `Deno.Conn` is one. At most one
 * `write` is in flight at a time; a short write is continued with the rest.
 */
export interface ByteSink {
  /**
   * Writes some or all of `data`.
   *
   * @param data The bytes; the sink must not keep them after it settles.
   * @returns How many bytes were written.
   */
  write(data: Uint8Array): Promise<number>;
  /** Shuts down the write side (`writeEof`); optional. */
  closeWrite?(): Promise<void>;
  /**
   * Releases the sink; called once, by `close` or `abort`. When the sink
   * is also the reader's source (one `Deno.Conn`), closing must make a
   * read in flight settle, as closing a `Deno.Conn` does: `waitClosed()`
   * waits for it.
   */
  close?(): void;
}

/**
 * The stream settings `openConnection` and `startServer` take for each
 * connection's reader and writer, with their safe defaults.
 */
export interface StreamOptions {
  /**
   * The reader's line and separator limit in bytes: 64 KiB by default, as
   * asyncio's `limit`.
   */
  limit?: number;
  /** The writer's high-water mark in bytes: 64 KiB by default. */
  highWaterMark?: number;
  /** The writer's low-water mark in bytes: `highWaterMark / 4` by default. */
  lowWaterMark?: number;
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

/** Options for `new StreamWriter()`. */
export interface StreamWriterOptions {
  /**
   * The reader of the same connection. If it reads from the very object
   * the writer writes to (one `Deno.Conn`), the two share the connection,
   * as asyncio's pair share a transport: closing the writer ends the
   * reader, and a read error closes the writer. `drain()` rethrows the
   * reader's error in any case.
   */
  reader?: StreamReader;
  /**
   * `drain()` waits once more than this many bytes are buffered: 64 KiB
   * by default (or 4 × `lowWaterMark`), as asyncio's transports.
   */
  highWaterMark?: number;
  /**
   * A waiting `drain()` resumes once the buffer is down to this many
   * bytes: `highWaterMark / 4` by default.
   */
  lowWaterMark?: number;
  /** What `getExtraInfo(name)` returns: peer and local address, and so on. */
  extraInfo?: Readonly<Record<string, unknown>>;
}

let readerInternals: {
  link(
    reader: StreamReader,
    sink: object,
    onError: (e: unknown) => void,
  ): boolean;
  lost(reader: StreamReader, error: unknown, failed: boolean): void;
};

// Set by StreamReader: its waiters describe what their task waits for.
let describeRead: (reader: StreamReader) => string;

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
  // The bytes not read yet are #buf[#start, #end); a source read in
  // flight writes at #end, so the buffer is only moved or replaced while
  // no read is in flight (a read that lands elsewhere is copied in).
  #buf: Uint8Array = EMPTY_BYTES;
  #start = 0;
  #end = 0;
  #readSize = FIRST_READ;
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
    this.#append(bytes);
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
    return this.#eof && this.#start === this.#end;
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
      if (this.#start !== this.#end || this.#eof) {
        return Promise.resolve(
          this.#take(Math.min(n, this.#end - this.#start)),
        );
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
    return this.#take(this.#end - this.#start);
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
      if (this.#start !== this.#end || this.#eof) {
        return Promise.resolve(this.#copyInto(buffer));
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
    while (this.#end - this.#start < n) {
      if (this.#eof) {
        throw new IncompleteReadError(this.#take(this.#end - this.#start), n);
      }
      await this.#wait("readExactly", n - (this.#end - this.#start));
      if (this.#failed) throw this.#exception;
    }
    return this.#take(n);
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
        const at = this.#start + error.consumed;
        if (at < this.#end && this.#buf[at] === 0x0a) {
          this.#consume(error.consumed + 1);
        } else {
          this.#consume(this.#end - this.#start);
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
    const size = this.#end - this.#start;
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
    for (;;) {
      const size = this.#end - this.#start;
      if (size - offset >= minLength) {
        for (const separator of separators) {
          const at = indexOfBytes(
            this.#buf,
            separator,
            this.#start + offset,
            this.#end,
          );
          if (at < 0) continue;
          const end = at - this.#start + separator.length;
          if (matchEnd < 0 || end < matchEnd) {
            matchEnd = end;
            matchStart = at - this.#start;
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
        throw new IncompleteReadError(this.#take(size), null);
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
    return this.#take(matchEnd);
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
    } else if (this.#start !== this.#end || this.#eof) {
      const into = read.into;
      if (into === undefined) {
        read.setResult(
          this.#take(Math.min(read.count, this.#end - this.#start)),
        );
      } else read.setResult(this.#copyInto(into));
    } else if (
      read !== this.#direct && this.#source !== undefined &&
      this.#pending === undefined && !this.#lost
    ) {
      this.#pull(0); // an empty read: ask again
    }
  }

  /** Moves buffered bytes into `buffer`; `null` at the end. */
  #copyInto(buffer: Uint8Array): number | null {
    const n = Math.min(buffer.length, this.#end - this.#start);
    if (n === 0) return null;
    buffer.set(this.#buf.subarray(this.#start, this.#start + n));
    this.#consume(n);
    return n;
  }

  /**
   * A read(n)/readInto() result its task did not take (cancelled after
   * the bytes were handed over): the bytes go back to the front.
   */
  #restore(read: PendingRead, result: unknown): void {
    let bytes: Uint8Array;
    if (result instanceof Uint8Array) bytes = result;
    else if (typeof result === "number" && read.into !== undefined) {
      bytes = read.into.subarray(0, result);
    } else return; // the end: #eof stays set
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
    // A read in flight into the old buffer is copied in when it lands.
    this.#buf = grown;
    this.#start = 0;
    this.#end = bytes.length + size;
  }

  /** Starts one source read into the free end of the buffer. */
  #pull(need: number): void {
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      if (this.#buf.length > MAX_IDLE_BUFFER) this.#buf = EMPTY_BYTES;
    }
    // Read into the free end if it has room for a decent read.
    const room = Math.max(this.#readSize >> 2, Math.min(need, MAX_RESERVE));
    this.#makeRoom(room, false);
    this.#startRead(this.#buf.subarray(this.#end));
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

  /**
   * Makes at least `room` bytes free after #end: by moving the unread
   * bytes to the front if no read is in flight, else into a new buffer
   * (doubling while unread bytes pile up, so growth stays linear).
   */
  #makeRoom(room: number, fresh: boolean): void {
    const buf = this.#buf;
    if (!fresh && buf.length - this.#end >= room) return;
    const size = this.#end - this.#start;
    if (!fresh && this.#pending === undefined && buf.length - size >= room) {
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
    if (n === null) {
      this.#eof = true;
    } else if (n > 0) {
      const buf = this.#buf;
      if (
        view.buffer === buf.buffer &&
        view.byteOffset === buf.byteOffset + this.#end
      ) {
        this.#end += n;
      } else {
        this.#append(view.subarray(0, n));
      }
      if (n === view.length && this.#readSize < MAX_READ) this.#readSize *= 2;
    }
    this.#wake();
  };

  #onReadError = (error: unknown): void => {
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

  /** Copies bytes to the end of the buffer. */
  #append(bytes: Uint8Array): void {
    // A read in flight owns the free end: then move to a new buffer.
    this.#makeRoom(bytes.length, this.#pending !== undefined);
    this.#buf.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /** Removes and returns the first `count` buffered bytes, as a copy. */
  #take(count: number): Uint8Array {
    const out = copyBytes(this.#buf, this.#start, count);
    this.#consume(count);
    return out;
  }

  #consume(count: number): void {
    this.#start += count;
    if (this.#start === this.#end && this.#pending === undefined) {
      this.#start = this.#end = 0;
    }
  }

  static {
    describeRead = (reader) =>
      `StreamReader.${reader.#waitingIn}()${peerOf(reader.#source)}`;
    readerInternals = {
      link(reader, sink, onError) {
        if (reader.#source !== sink || reader.#linkedTo !== undefined) {
          return false;
        }
        reader.#linkedTo = sink;
        reader.#onError = onError;
        return true;
      },
      lost(reader, error, failed) {
        reader.#lost = true;
        if (failed && !reader.#failed) reader.setException(error);
        else {
          reader.#eof = true;
          reader.#wake();
        }
      },
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
    return describeRead(this.reader);
  }
}

/** What a read waits on when it takes its bytes from the buffer itself. */
class ReadWaiter extends Future<void> {
  constructor(readonly reader: StreamReader) {
    super();
  }

  /** For the task tree: `StreamReader.readLine() from 127.0.0.1:50412`. */
  [DESCRIBE](): string {
    return describeRead(this.reader);
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

/** `127.0.0.1:80`, `[::1]:80` or a socket path, from a Deno.Addr-shaped object. */
function describeAddress(addr: unknown): string | undefined {
  if (addr === null || typeof addr !== "object") return undefined;
  const { hostname, port, path } = addr as {
    hostname?: unknown;
    port?: unknown;
    path?: unknown;
  };
  if (typeof hostname === "string" && typeof port === "number") {
    return hostname.includes(":")
      ? `[${hostname}]:${port}`
      : `${hostname}:${port}`;
  }
  return typeof path === "string" && path !== "" ? path : undefined;
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

function checkWaterMark(
  name: string,
  mark: number | undefined,
): number | undefined {
  if (mark === undefined) return undefined;
  return checkNumber(
    "create writer",
    name,
    mark,
    "a number of bytes (an integer >= 0)",
    (n) => Number.isSafeInteger(n) && n >= 0,
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

const OPEN = 0; // writing
const EOF_WRITTEN = 1; // writeEof() called; the write side ends after the flush
const CLOSING = 2; // close() called; the sink closes after the flush
const CLOSED = 3; // the sink is closed; operations in flight are settling
const DONE = 4; // closed and settled

/**
 * Writes bytes to a sink through a buffer: `write` never blocks, and
 * `drain()` waits while more than the high-water mark is buffered, until
 * the sink has taken the buffer down to the low-water mark — backpressure
 * from a slow peer. asyncio: `asyncio.StreamWriter`.
 *
 * `write` copies the bytes into the writer's buffer (reused from write to
 * write), as asyncio's transports do, so the caller may reuse its array at
 * once; the writes of one tick go to the sink in one `write`.
 *
 * @example Writing to an in-memory sink
 * ```ts
 * import { run, StreamWriter } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const received: string[] = [];
 * const sink = {
 *   async write(data: Uint8Array) {
 *     received.push(new TextDecoder().decode(data));
 *     return data.length;
 *   },
 * };
 * await run(async () => {
 *   const writer = new StreamWriter(sink);
 *   writer.write("hello ");
 *   writer.write("world");
 *   await writer.drain();
 *   writer.close();
 *   await writer.waitClosed();
 * });
 * assert.equal(received.join(""), "hello world");
 * ```
 */
export class StreamWriter implements AsyncDisposable {
  #sink: ByteSink;
  #reader: StreamReader | undefined;
  #linked: boolean;
  #extra: Readonly<Record<string, unknown>>;
  #high: number;
  #low: number;
  #loop: AbstractEventLoop | undefined;
  #holdLoop: AbstractEventLoop | undefined = undefined;
  #state = OPEN;
  // write() copies into #wbuf[0, #wend). A sink write in flight reads
  // #flight[#sent, #flightEnd), a buffer write() no longer touches, so
  // bytes are copied once however far writes run ahead of the sink. When
  // the flight lands, #wbuf flies next and the landed buffer takes its
  // place: two buffers take turns while data streams, one stays when idle.
  #wbuf: Uint8Array = EMPTY_BYTES;
  #wend = 0;
  #flight: Uint8Array = EMPTY_BYTES;
  #sent = 0;
  #flightEnd = 0;
  #paused = false;
  // A flush is scheduled or a sink write is in flight.
  #writing = false;
  #eofOp: Promise<void> | undefined = undefined;
  #eofSent = false;
  #failed = false;
  #error: unknown = undefined;
  #drainWaiters: Future<void>[] = [];
  #closeWaiters: Future<void>[] = [];
  #closeListeners: (() => void)[] = [];

  /**
   * Creates a writer over `sink`.
   *
   * @param sink Where the bytes go (a `Deno.Conn`, say).
   * @param options The connection's `reader`, water marks, extra info.
   * @throws {RangeError} If the water marks are not integers with
   * `highWaterMark >= lowWaterMark >= 0`.
   * @throws {TypeError} If `sink` has no `write` method, `options` is not
   * an object, a water mark not a number, `reader` not a StreamReader or
   * `extraInfo` not an object.
   */
  constructor(sink: ByteSink, options?: StreamWriterOptions) {
    const action = "create writer";
    if (
      sink === null || typeof sink !== "object" ||
      typeof sink.write !== "function"
    ) {
      throw new TypeError(
        `Cannot ${action}: expected sink as an object with a write() method, got ${
          describe(sink)
        }`,
      );
    }
    checkOptions(action, options);
    let high = checkWaterMark("highWaterMark", options?.highWaterMark);
    let low = checkWaterMark("lowWaterMark", options?.lowWaterMark);
    if (high === undefined) {
      high = low === undefined ? DEFAULT_HIGH_WATER : 4 * low;
    }
    if (low === undefined) low = Math.floor(high / 4);
    if (high < low) {
      throw new RangeError(
        `Cannot ${action}: expected highWaterMark (${high}) >= lowWaterMark (${low})`,
      );
    }
    const reader = options?.reader;
    if (reader !== undefined && !(reader instanceof StreamReader)) {
      throw new TypeError(
        `Cannot ${action}: expected reader as a StreamReader, got ${
          describe(reader)
        }`,
      );
    }
    checkOptions(action, options?.extraInfo, "extraInfo");
    this.#high = high;
    this.#low = low;
    this.#sink = sink;
    this.#reader = reader;
    this.#extra = options?.extraInfo ?? {};
    this.#loop = _findRunningLoop();
    this.#linked = this.#reader !== undefined &&
      readerInternals.link(this.#reader, sink, (error) => this.#fatal(error));
  }

  /**
   * Buffers `data` for sending and returns at once; follow with
   * `await drain()` to respect backpressure. asyncio:
   * `StreamWriter.write()`.
   *
   * @param data Bytes (copied into the writer's buffer, so the array may
   * be reused at once, as in asyncio) or a string (sent as UTF-8).
   * @throws {InvalidStateError} After `close()` or `writeEof()`.
   * @throws {TypeError} If `data` is neither bytes nor a string.
   * @throws The connection's error (for example `Deno.errors.BrokenPipe`)
   * once a write has failed.
   */
  write(data: Uint8Array | string): void {
    if (this.#state !== OPEN) throw this.#cannot("write");
    const bytes = toBytes(data, "write");
    const n = bytes.length;
    if (n === 0) return;
    this.#reserve(n);
    this.#wbuf.set(bytes, this.#wend);
    this.#wend += n;
    if (!this.#writing) {
      // Send from a microtask: every write of this tick goes out in one
      // sink write (one TCP segment for small ones, which also spares a
      // peer's delayed ACK when Nagle's algorithm is on, as on Deno's TLS
      // connections).
      this.#writing = true;
      RESOLVED.then(this.#flush); // cheaper than queueMicrotask in Deno
    }
    if (!this.#paused && this.#buffered() > this.#high) this.#paused = true;
    this.#updateHold();
  }

  /**
   * Buffers each item of `lines` in turn (no separator is added).
   * asyncio: `writelines()`.
   *
   * @param lines Bytes or strings.
   * @throws {InvalidStateError} After `close()` or `writeEof()`.
   * @throws {TypeError} If `lines` is not iterable, or an item is neither
   * bytes nor a string.
   * @throws The connection's error once a write has failed.
   */
  writeLines(lines: Iterable<Uint8Array | string>): void {
    if (
      lines === null || lines === undefined ||
      typeof (lines as Iterable<unknown>)[Symbol.iterator] !== "function"
    ) {
      throw new TypeError(
        `Cannot write lines: expected lines as an iterable of Uint8Arrays or strings, got ${
          describe(lines)
        }`,
      );
    }
    for (const line of lines) this.write(line);
  }

  /**
   * Waits while the buffer is above the high-water mark, until the sink
   * has taken it down to the low-water mark; returns at once otherwise.
   * asyncio: `StreamWriter.drain()`.
   *
   * @returns A promise that resolves when writing may go on.
   * @throws {CancelledError} If the task is cancelled while waiting; the
   * buffered bytes are still sent.
   * @throws {InvalidStateError} After `close()`.
   * @throws The connection's error (a write failure or the reader's).
   *
   * @example Backpressure in a write loop
   * ```ts
   * import { run, StreamWriter } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * let taken = 0;
   * const slowSink = {
   *   async write(data: Uint8Array) {
   *     const n = Math.min(data.length, 1000);
   *     taken += n;
   *     return n;
   *   },
   * };
   * await run(async () => {
   *   const writer = new StreamWriter(slowSink, { highWaterMark: 4000 });
   *   for (let i = 0; i < 100; i++) {
   *     writer.write(new Uint8Array(1000));
   *     await writer.drain(); // waits whenever more than 4000 bytes are queued
   *   }
   *   writer.close();
   *   await writer.waitClosed();
   * });
   * assert.equal(taken, 100_000);
   * ```
   */
  drain(): Promise<void> {
    const readerError = this.#reader?.exception();
    if (readerError !== undefined) return Promise.reject(readerError);
    if (this.#failed) return Promise.reject(this.#error);
    if (this.#state >= CLOSING) {
      return Promise.reject(
        new InvalidStateError("Cannot drain: writer is closed"),
      );
    }
    // The usual case, without an async frame: nothing to wait for.
    if (!this.#paused) return RESOLVED;
    return this.#drainSlow();
  }

  async #drainSlow(): Promise<void> {
    const waiter = new Future<void>();
    labelFuture(waiter, {
      [DESCRIBE]: () => {
        const peer = describeAddress(this.#extra.peername);
        return `StreamWriter.drain()${
          peer === undefined ? "" : ` to ${peer}`
        }` +
          `, ${this.#buffered()} bytes buffered`;
      },
    });
    this.#drainWaiters.push(waiter);
    try {
      await waiter.then();
    } finally {
      const i = this.#drainWaiters.indexOf(waiter);
      if (i >= 0) this.#drainWaiters.splice(i, 1);
    }
  }

  /**
   * How many bytes are buffered: written and not yet taken by the sink.
   * asyncio: `writer.transport.get_write_buffer_size()`.
   *
   * @returns The byte count.
   */
  getWriteBufferSize(): number {
    return this.#state >= CLOSED ? 0 : this.#buffered();
  }

  /**
   * Whether the sink can shut down its write side alone. asyncio:
   * `can_write_eof()`.
   *
   * @returns `true` if `writeEof()` is supported.
   */
  canWriteEof(): boolean {
    return typeof this.#sink.closeWrite === "function";
  }

  /**
   * Ends the write side once the buffer is flushed (TCP half-close), while
   * the reader goes on. Later writes throw. asyncio: `write_eof()`.
   *
   * @throws {InvalidStateError} If the sink cannot half-close.
   */
  writeEof(): void {
    if (this.#state !== OPEN) return;
    if (!this.canWriteEof()) {
      throw new InvalidStateError(
        "Cannot write EOF: the sink has no closeWrite()",
      );
    }
    this.#state = EOF_WRITTEN;
    if (!this.#writing) this.#sendEof();
  }

  /**
   * Closes the connection: the buffered bytes are sent first, then the
   * sink is closed and the reader of the same connection sees the end.
   * Returns at once; `await waitClosed()` to know when it is done.
   * asyncio: `StreamWriter.close()`.
   */
  close(): void {
    if (this.#state >= CLOSING) return;
    this.#state = CLOSING;
    if (!this.#writing && this.#eofOp === undefined) this.#closeSink();
    else this.#updateHold();
  }

  /**
   * Closes the connection at once, dropping the buffered bytes. asyncio:
   * `writer.transport.abort()`.
   */
  abort(): void {
    if (this.#state >= CLOSED) return;
    this.#dropQueue();
    this.#closeSink();
  }

  /**
   * Whether `close()` or `abort()` was called, or the connection failed.
   * asyncio: `is_closing()`.
   *
   * @returns `true` once closing.
   */
  isClosing(): boolean {
    return this.#state >= CLOSING;
  }

  /**
   * Waits until the connection is closed and every operation on it has
   * settled. asyncio: `wait_closed()`.
   *
   * @returns A promise that resolves once closed.
   * @throws The error the connection failed with, if it did (asyncio
   * raises it here too).
   * @throws {CancelledError} If the task is cancelled while waiting.
   *
   * @example Closing and waiting
   * ```ts
   * import { run, StreamWriter } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * let closed = false;
   * const sink = {
   *   write: async (data: Uint8Array) => data.length,
   *   close: () => { closed = true; },
   * };
   * await run(async () => {
   *   const writer = new StreamWriter(sink);
   *   writer.write("bye");
   *   writer.close();
   *   assert.ok(writer.isClosing());
   *   await writer.waitClosed();
   * });
   * assert.ok(closed);
   * ```
   */
  async waitClosed(): Promise<void> {
    if (this.#state !== DONE) {
      const waiter = new Future<void>();
      this.#closeWaiters.push(waiter);
      try {
        await waiter;
      } finally {
        const i = this.#closeWaiters.indexOf(waiter);
        if (i >= 0) this.#closeWaiters.splice(i, 1);
      }
      return;
    }
    if (this.#failed) throw this.#error;
  }

  /**
   * Information about the connection, as asyncio's `get_extra_info()`:
   * the network adapter sets `"peername"` and `"sockname"` (the
   * `Deno.Addr` of the peer and of this end) and `"conn"` (the
   * `Deno.Conn`, asyncio's `"socket"`).
   *
   * @param name The key.
   * @param defaultValue What to return if there is none.
   * @returns The value, or `defaultValue`.
   * @throws {TypeError} If `name` is not a string.
   *
   * @example Reading extra info
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * const writer = new StreamWriter(
   *   { write: async (data: Uint8Array) => data.length },
   *   { extraInfo: { peername: "memory" } },
   * );
   * assert.equal(writer.getExtraInfo("peername"), "memory");
   * assert.equal(writer.getExtraInfo("sockname", "none"), "none");
   * writer.abort();
   * ```
   */
  getExtraInfo<T = unknown>(name: string, defaultValue?: T): T | undefined {
    if (typeof name !== "string") {
      throw new TypeError(
        `Cannot get extra info: expected name as a string, got ${
          describe(name)
        }`,
      );
    }
    return Object.hasOwn(this.#extra, name)
      ? this.#extra[name] as T
      : defaultValue;
  }

  /**
   * For `await using`: closes and waits until closed. The error a failed
   * connection ended with is not rethrown here (call `waitClosed()` to
   * see it).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    try {
      await this.waitClosed();
    } catch (error) {
      if (!this.#failed || error !== this.#error) throw error;
    }
  }

  /** A description for logs, as asyncio's repr. */
  toString(): string {
    const state = ["open", "eof", "closing", "closed", "closed"][this.#state];
    return `<StreamWriter ${state} buffered=${this.#buffered()}${
      this.#paused ? " paused" : ""
    }>`;
  }

  #cannot(method: string): unknown {
    if (this.#failed) return this.#error;
    if (this.#state === EOF_WRITTEN) {
      return new InvalidStateError(`Cannot ${method}: writeEof() was called`);
    }
    return new InvalidStateError(`Cannot ${method}: writer is closed`);
  }

  /** Bytes written and not yet taken by the sink. */
  #buffered(): number {
    return this.#wend + this.#flightEnd - this.#sent;
  }

  /** Makes room for `n` more bytes at #wend. */
  #reserve(n: number): void {
    const buf = this.#wbuf;
    if (buf.length - this.#wend >= n) return;
    const grown = new Uint8Array(
      Math.max(this.#wend + n, 2 * buf.length, FIRST_WRITE_BUFFER),
    );
    grown.set(buf.subarray(0, this.#wend));
    this.#wbuf = grown;
  }

  #flush = (): void => {
    if (this.#state >= CLOSED || this.#wend === 0) {
      // Aborted (or failed) before the first byte went out.
      this.#writing = false;
      this.#checkSettled();
      return;
    }
    this.#sendBuffered();
  };

  /** Hands everything buffered to the sink in one write. */
  #sendBuffered(): void {
    const landed = this.#flight;
    this.#flight = this.#wbuf;
    this.#sent = 0;
    this.#flightEnd = this.#wend;
    this.#wbuf = landed;
    this.#wend = 0;
    this.#sendFlight();
  }

  #sendFlight(): void {
    let promise: Promise<number>;
    try {
      promise = this.#sink.write(
        this.#flight.subarray(this.#sent, this.#flightEnd),
      );
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(this.#onWritten, this.#onWriteFailed);
  }

  #onWritten = (n: number): void => {
    if (this.#state >= CLOSED) {
      // Aborted meanwhile: the rest is dropped.
      this.#writing = false;
      this.#checkSettled();
      return;
    }
    if (!(n >= 0)) n = 0;
    this.#sent += n;
    if (this.#sent < this.#flightEnd) {
      this.#sendFlight();
    } else if (this.#wend > 0) {
      this.#sendBuffered();
    } else {
      // Idle: keep one buffer for the next writes, unless it grew large.
      this.#writing = false;
      const landed = this.#flight;
      this.#flight = EMPTY_BYTES;
      this.#sent = this.#flightEnd = 0;
      this.#wbuf = landed.length > MAX_IDLE_WRITE_BUFFER ? EMPTY_BYTES : landed;
    }
    if (this.#paused && this.#buffered() <= this.#low) {
      this.#paused = false;
      this.#wakeDrainers();
    }
    if (!this.#writing) {
      if (this.#state === CLOSING && this.#eofOp === undefined) {
        this.#closeSink();
        return;
      }
      if (this.#state >= EOF_WRITTEN && !this.#eofSent) this.#sendEof();
    }
    this.#updateHold();
  };

  #onWriteFailed = (error: unknown): void => {
    this.#writing = false;
    if (this.#state >= CLOSED) this.#checkSettled();
    else this.#fatal(error);
  };

  #dropQueue(): void {
    // A write in flight keeps reading its buffer until it settles.
    this.#wbuf = EMPTY_BYTES;
    this.#wend = 0;
    this.#sent = this.#flightEnd;
  }

  #sendEof(): void {
    this.#eofSent = true;
    let promise: Promise<void>;
    try {
      promise = this.#sink.closeWrite!();
    } catch (error) {
      promise = Promise.reject(error);
    }
    this.#eofOp = promise.then(
      () => this.#eofDone(undefined, false),
      (error) => this.#eofDone(error, true),
    );
    this.#updateHold();
  }

  #eofDone(error: unknown, failed: boolean): void {
    this.#eofOp = undefined;
    if (this.#state >= CLOSED) this.#checkSettled();
    else if (failed) this.#fatal(error);
    else if (this.#state === CLOSING) this.#closeSink();
    else this.#updateHold();
  }

  /** The connection failed: everything fails with `error`. */
  #fatal(error: unknown): void {
    if (this.#state >= CLOSED) return;
    this.#failed = true;
    this.#error = error;
    this.#dropQueue();
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) {
      if (!waiter.done() && !waiter.getLoop().isClosed()) {
        waiter.setException(error);
      }
    }
    this.#closeSink();
  }

  #closeSink(): void {
    this.#state = CLOSED;
    try {
      this.#sink.close?.();
    } catch {
      // Already closed: nothing left to release.
    }
    if (this.#linked) {
      readerInternals.lost(this.#reader!, this.#error, this.#failed);
    }
    this.#checkSettled();
  }

  /**
   * Once closed, waits for the writes in flight to settle. A read in
   * flight is not waited for: the close interrupts it on Deno's next turn
   * and the reader takes its end as EOF, so the close is done within an
   * iteration, as asyncio's.
   */
  #checkSettled(): void {
    if (this.#state !== CLOSED) return;
    if (this.#writing || this.#eofOp !== undefined) {
      this.#updateHold();
      return;
    }
    this.#state = DONE;
    this.#updateHold();
    this.#wakeDrainers();
    for (const waiter of this.#closeWaiters.splice(0)) {
      if (waiter.done() || waiter.getLoop().isClosed()) continue;
      if (this.#failed) waiter.setException(this.#error);
      else waiter.setResult();
    }
    for (const listener of this.#closeListeners.splice(0)) listener();
  }

  #wakeDrainers(): void {
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const waiter of waiters) {
      if (!waiter.done() && !waiter.getLoop().isClosed()) waiter.setResult();
    }
  }

  /**
   * Holds a virtual clock while bytes are on their way out and the sink
   * is taking them (not while the writer is paused: then it waits on the
   * peer), and while a close settles.
   */
  #updateHold(): void {
    const state = this.#state;
    const hold = state === CLOSED ||
      (state !== DONE && !this.#paused &&
        (this.#writing || this.#eofOp !== undefined));
    if (hold === (this.#holdLoop !== undefined)) return;
    if (hold) {
      const loop = this.#loop ??= _findRunningLoop();
      if (loop === undefined) return;
      this.#holdLoop = loop;
      loop._ioStarted();
    } else {
      const loop = this.#holdLoop!;
      this.#holdLoop = undefined;
      loop._ioFinished();
    }
  }

  static {
    writerHooks.onClosed = (writer, listener) => {
      if (writer.#state === DONE) listener();
      else writer.#closeListeners.push(listener);
    };
  }
}
