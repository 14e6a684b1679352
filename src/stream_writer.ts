/**
 * `StreamWriter`, as asyncio's: buffers bytes for a sink with high and
 * low water marks, and `drain()` to wait while the peer is slow. It owns
 * the sink's writes, the backpressure and the closing; the bytes sit in a
 * `WriteBuffer` (`_write_buffer.ts`). Nothing here touches `Deno.*`: a
 * sink is a small interface a `Deno.Conn` happens to implement (see
 * `openConnection` and `startServer` for the network).
 *
 * @module
 */
import { toBytes } from "./_bytes.ts";
import { checkNumber, checkOptions } from "./_checks.ts";
import { describe, describeAddress } from "./_describe.ts";
import { readerHooks, writerHooks } from "./_stream_hooks.ts";
import { WaiterList } from "./_waiters.ts";
import { WriteBuffer } from "./_write_buffer.ts";
import { InvalidStateError } from "./errors.ts";
import { findRunningLoop } from "./_loops.ts";
import type { AbstractEventLoop } from "./abstract_event_loop.ts";
import { StreamReader } from "./stream_reader.ts";

/** The default high-water mark of a StreamWriter: 64 KiB, as asyncio's. */
const DEFAULT_HIGH_WATER = 64 * 1024;
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Where a writer is in its life, as `toString()` prints it: `"open"`;
 * `"eof"` once `writeEof()` was called (the write side ends after the
 * flush); `"flushing"` once `close()` was called (the sink closes after
 * the flush); `"closing"` once the sink is closed and operations in
 * flight settle; `"closed"` once they have.
 */
type WriterState = "open" | "eof" | "flushing" | "closing" | "closed";

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
  #state: WriterState = "open";
  // The bytes written and not yet taken by the sink.
  #buffer = new WriteBuffer();
  #paused = false;
  // A flush is scheduled or a sink write is in flight.
  #writing = false;
  #eofOp: Promise<void> | undefined = undefined;
  #eofSent = false;
  #failed = false;
  #error: unknown = undefined;
  // Tasks in drain(), woken together once the buffer is low enough.
  #drainers: WaiterList = new WaiterList("writer", {
    describe: () => {
      const peer = describeAddress(this.#extra.peername);
      return `StreamWriter.drain()${peer === undefined ? "" : ` to ${peer}`}` +
        `, ${this.#buffer.size} bytes buffered`;
    },
  });
  // Tasks in waitClosed(), woken together once closed and settled.
  #closeWaiters: WaiterList = new WaiterList("writer", {
    describe: () => `StreamWriter.waitClosed() on ${this}`,
  });
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
    this.#loop = findRunningLoop();
    this.#linked = this.#reader !== undefined &&
      readerHooks.link(this.#reader, sink, (error) => this.#fatal(error));
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
    if (this.#state !== "open") throw this.#cannot("write");
    const bytes = toBytes(data, "write");
    if (bytes.length === 0) return;
    this.#buffer.write(bytes);
    if (!this.#writing) {
      // Send from a microtask: every write of this tick goes out in one
      // sink write (one TCP segment for small ones, which also spares a
      // peer's delayed ACK when Nagle's algorithm is on, as on Deno's TLS
      // connections).
      this.#writing = true;
      RESOLVED.then(this.#flush); // cheaper than queueMicrotask in Deno
    }
    if (!this.#paused && this.#buffer.size > this.#high) this.#paused = true;
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
    if (this.isClosing()) {
      return Promise.reject(
        new InvalidStateError("Cannot drain: writer is closed"),
      );
    }
    // The usual case: nothing to wait for.
    if (!this.#paused) return RESOLVED;
    return this.#drainers.park(undefined);
  }

  /**
   * How many bytes are buffered: written and not yet taken by the sink.
   * asyncio: `writer.transport.get_write_buffer_size()`.
   *
   * @returns The byte count.
   */
  getWriteBufferSize(): number {
    return this.#sinkClosed() ? 0 : this.#buffer.size;
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
    if (this.#state !== "open") return;
    if (!this.canWriteEof()) {
      throw new InvalidStateError(
        "Cannot write EOF: the sink has no closeWrite()",
      );
    }
    this.#state = "eof";
    if (!this.#writing) this.#sendEof();
  }

  /**
   * Closes the connection: the buffered bytes are sent first, then the
   * sink is closed and the reader of the same connection sees the end.
   * Returns at once; `await waitClosed()` to know when it is done.
   * asyncio: `StreamWriter.close()`.
   */
  close(): void {
    if (this.isClosing()) return;
    this.#state = "flushing";
    if (!this.#writing && this.#eofOp === undefined) this.#closeSink();
    else this.#updateHold();
  }

  /**
   * Closes the connection at once, dropping the buffered bytes. asyncio:
   * `writer.transport.abort()`.
   */
  abort(): void {
    if (this.#sinkClosed()) return;
    this.#buffer.drop();
    this.#closeSink();
  }

  /**
   * Whether `close()` or `abort()` was called, or the connection failed.
   * asyncio: `is_closing()`.
   *
   * @returns `true` once closing.
   */
  isClosing(): boolean {
    const state = this.#state;
    return state !== "open" && state !== "eof";
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
    if (this.#state !== "closed") await this.#closeWaiters.park(undefined);
    else if (this.#failed) throw this.#error;
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
    return `<StreamWriter ${this.#state} buffered=${this.#buffer.size}${
      this.#paused ? " paused" : ""
    }>`;
  }

  /** The sink is closed: operations in flight settle, or have settled. */
  #sinkClosed(): boolean {
    return this.#state === "closing" || this.#state === "closed";
  }

  #cannot(method: string): unknown {
    if (this.#failed) return this.#error;
    if (this.#state === "eof") {
      return new InvalidStateError(`Cannot ${method}: writeEof() was called`);
    }
    return new InvalidStateError(`Cannot ${method}: writer is closed`);
  }

  #flush = (): void => {
    if (this.#sinkClosed() || this.#buffer.queued === 0) {
      // Aborted (or failed) before the first byte went out.
      this.#writing = false;
      this.#checkSettled();
      return;
    }
    this.#sendBuffered();
  };

  /** Hands everything buffered to the sink in one write. */
  #sendBuffered(): void {
    this.#buffer.takeOff();
    this.#sendFlight();
  }

  #sendFlight(): void {
    let promise: Promise<number>;
    try {
      promise = this.#sink.write(this.#buffer.flight());
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(this.#onWritten, this.#onWriteFailed);
  }

  #onWritten = (n: number): void => {
    if (this.#sinkClosed()) {
      // Aborted meanwhile: the rest is dropped.
      this.#writing = false;
      this.#checkSettled();
      return;
    }
    if (!(n >= 0)) n = 0;
    const buffer = this.#buffer;
    buffer.sent(n);
    if (buffer.flying > 0) {
      this.#sendFlight();
    } else if (buffer.queued > 0) {
      this.#sendBuffered();
    } else {
      this.#writing = false;
      buffer.idle();
    }
    if (this.#paused && buffer.size <= this.#low) {
      this.#paused = false;
      this.#drainers.wakeAll();
    }
    if (!this.#writing) {
      if (this.#state === "flushing" && this.#eofOp === undefined) {
        this.#closeSink();
        return;
      }
      if (this.#state !== "open" && !this.#eofSent) this.#sendEof();
    }
    this.#updateHold();
  };

  #onWriteFailed = (error: unknown): void => {
    this.#writing = false;
    if (this.#sinkClosed()) this.#checkSettled();
    else this.#fatal(error);
  };

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
    if (this.#sinkClosed()) this.#checkSettled();
    else if (failed) this.#fatal(error);
    else if (this.#state === "flushing") this.#closeSink();
    else this.#updateHold();
  }

  /** The connection failed: everything fails with `error`. */
  #fatal(error: unknown): void {
    if (this.#sinkClosed()) return;
    this.#failed = true;
    this.#error = error;
    this.#buffer.drop();
    this.#drainers.break(error);
    this.#closeSink();
  }

  #closeSink(): void {
    this.#state = "closing";
    try {
      this.#sink.close?.();
    } catch {
      // Already closed: nothing left to release.
    }
    if (this.#linked) {
      readerHooks.lost(this.#reader!, this.#error, this.#failed);
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
    if (this.#state !== "closing") return;
    if (this.#writing || this.#eofOp !== undefined) {
      this.#updateHold();
      return;
    }
    this.#state = "closed";
    this.#updateHold();
    this.#drainers.wakeAll();
    if (this.#failed) this.#closeWaiters.break(this.#error);
    else this.#closeWaiters.wakeAll();
    for (const listener of this.#closeListeners.splice(0)) listener();
  }

  /**
   * Holds a virtual clock while bytes are on their way out and the sink
   * is taking them (not while the writer is paused: then it waits on the
   * peer), and while a close settles.
   */
  #updateHold(): void {
    const state = this.#state;
    const hold = state === "closing" ||
      (state !== "closed" && !this.#paused &&
        (this.#writing || this.#eofOp !== undefined));
    if (hold === (this.#holdLoop !== undefined)) return;
    if (hold) {
      const loop = this.#loop ??= findRunningLoop();
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
    // For the server, which watches its connections' writers.
    writerHooks.onClosed = (writer, listener) => {
      if (writer.#state === "closed") listener();
      else writer.#closeListeners.push(listener);
    };
  }
}
