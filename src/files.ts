/**
 * Files as streams: `openReader`, `openWriter` and `openFile` give a
 * `Deno.open` file the same `StreamReader`/`StreamWriter` API as a socket
 * (`readLine`, `readExactly`, `for await` over lines, `write` + `drain`),
 * and `readFile`, `readTextFile`, `writeFile`, `writeTextFile` read or
 * write a whole file. asyncio has no file API of its own (it points to
 * `aiofiles` or `to_thread`); this is the Deno way of doing the same.
 *
 * Every read and `drain()` waits on a loop Future, so cancellation is
 * delivered there. File I/O finishes without a peer's help, so it holds a
 * `VirtualClock`: virtual time does not jump while a read or write is on
 * its way. Errors are Deno's own (`Deno.errors.NotFound`,
 * `Deno.errors.NotCapable`, `Deno.errors.PermissionDenied`, ...), whose
 * messages name the path.
 *
 * Permissions: `--allow-read=PATH` to read, `--allow-write=PATH` to write.
 *
 * What Deno does not let this module interrupt:
 * - `Deno.open` takes no signal. Opening a FIFO blocks until a peer opens
 *   the other end; cancelling it releases the FIFO (by opening it for
 *   reading and writing for an instant) when the program may read and
 *   write the path, and the handle is closed. Without that permission,
 *   or on a device that blocks, the cancel is delivered at once but
 *   Deno's open goes on until a peer appears; it keeps the process alive
 *   meanwhile, and its handle is closed when it comes.
 * - A write to a FIFO whose reader does not read blocks in the OS: a
 *   cancelled `drain()` returns, but neither `close()` nor `abort()` ends
 *   the write in flight; it finishes when the reader makes room.
 * - `readFile` and `writeFile` abort Deno's operation, which returns at
 *   once, but the thread doing the work goes on: a cancelled `writeFile`
 *   still writes all its data. To stop writing part-way, use
 *   `openWriter`, whose every `drain()` is a cancellation point.
 *
 * @module
 */
import { requireDeno } from "./_deno.ts";
import { describe } from "./_describe.ts";
import { held } from "./_held.ts";
import { findRunningLoop } from "./_loops.ts";
import { getRunningLoop } from "./abstract_event_loop.ts";
import { type ByteSource, StreamReader } from "./stream_reader.ts";
import {
  type ByteSink,
  type StreamOptions,
  StreamWriter,
} from "./stream_writer.ts";

/**
 * Options for `openReader`, `openWriter` and `openFile`: `Deno.open`'s
 * (`read`, `write`, `append`, `truncate`, `create`, `createNew`, `mode`)
 * and the stream settings (`limit`, `highWaterMark`, `lowWaterMark`).
 */
export type OpenFileOptions = Deno.OpenOptions & StreamOptions;

/** Options for the whole-file helpers, as `Deno.readFile`'s. */
export type ReadFileOptions = Omit<Deno.ReadFileOptions, "signal">;

/** Options for `writeFile` and `writeTextFile`, as `Deno.writeFile`'s. */
export type WriteFileOptions = Omit<Deno.WriteFileOptions, "signal">;

/** Reads from a file, holding the loop's virtual clock meanwhile. */
class FileSource implements ByteSource {
  #file: Deno.FsFile;
  #closed = false;
  #pending: Promise<number | null> | undefined = undefined;
  readonly autoClose: boolean;

  constructor(file: Deno.FsFile, autoClose: boolean) {
    this.#file = file;
    this.autoClose = autoClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.resolve(null);
    const loop = findRunningLoop();
    loop?._ioStarted();
    const read = this.#file.read(buffer).then(
      (n) => {
        loop?._ioFinished();
        this.#pending = undefined;
        if (n === null && this.autoClose) this.close();
        return this.#closed && n !== null ? null : n;
      },
      (error) => {
        loop?._ioFinished();
        this.#pending = undefined;
        // Our own close() interrupted the read: that is the end.
        if (this.#closed) return null;
        if (this.autoClose) this.close();
        throw error;
      },
    );
    this.#pending = read;
    return read;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#file.close();
    } catch {
      // Already closed.
    }
  }

  /** Settles once no read is in flight. */
  async settled(): Promise<void> {
    await this.#pending?.catch(() => {});
  }
}

/** Writes to a file; the StreamWriter holds the clock while it writes. */
class FileSink implements ByteSink {
  #file: Deno.FsFile;
  #source: FileSource | undefined;
  constructor(file: Deno.FsFile, source?: FileSource) {
    this.#file = file;
    this.#source = source;
  }
  write(data: Uint8Array): Promise<number> {
    return this.#file.write(data);
  }
  close(): void {
    if (this.#source !== undefined) this.#source.close();
    else {
      try {
        this.#file.close();
      } catch {
        // Already closed.
      }
    }
  }
}

// For openFile: the source a reader's writer shares.
const sources = new WeakMap<FileReader, FileSource>();

/**
 * A `StreamReader` over a file, with a way to close it. The file is
 * closed at the end of the file, when a read fails, by `close()`, and by
 * `await using` on every exit from the block (cancellation included). A
 * read after `close()` sees the end of the stream.
 *
 * @example Reading a file line by line (needs --allow-read)
 * ```ts ignore
 * import { openReader, run } from "@aio/asyncio";
 *
 * await run(async () => {
 *   await using reader = await openReader("/etc/hosts");
 *   for await (const line of reader) {
 *     console.log(new TextDecoder().decode(line).trimEnd());
 *   }
 * });
 * ```
 */
export class FileReader extends StreamReader implements AsyncDisposable {
  #source: FileSource;
  #path: string;

  /**
   * Wraps an open file; use `openReader` or `openFile` instead.
   *
   * @param file The open file.
   * @param path Its path, for `path`.
   * @param options `limit`, and whether to close at the end of the file.
   */
  constructor(
    file: Deno.FsFile,
    path: string,
    options?: { limit?: number; autoClose?: boolean },
  ) {
    const source = new FileSource(file, options?.autoClose ?? true);
    super({ limit: options?.limit, source });
    this.#source = source;
    this.#path = path;
    sources.set(this, source);
  }

  /** The path the file was opened with. */
  get path(): string {
    return this.#path;
  }

  /**
   * Whether the file is closed.
   *
   * @returns `true` once closed.
   */
  isClosed(): boolean {
    return this.#source.closed;
  }

  /**
   * Closes the file; a read in flight ends as the end of the stream.
   * Bytes already buffered can still be read.
   */
  close(): void {
    this.#source.close();
  }

  /**
   * Waits until a read in flight has settled after `close()`.
   *
   * @returns A promise that resolves once nothing is in flight.
   */
  async waitClosed(): Promise<void> {
    await this.#source.settled();
  }

  /** `close()` then `waitClosed()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }
}

function checkPath(action: string, path: unknown): string | URL {
  if (typeof path === "string" && path !== "") return path;
  if (path instanceof URL) return path;
  throw new TypeError(
    `Cannot ${action}: expected a path as a non-empty string or URL, got ${
      path === "" ? "an empty string" : describe(path)
    }`,
  );
}

function checkOptions<T extends object>(
  action: string,
  options: T | undefined,
): T | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${action}: expected an options object, got ${describe(options)}`,
    );
  }
  return options;
}

function pathString(path: string | URL): string {
  return path instanceof URL ? decodeURIComponent(path.pathname) : path;
}

/**
 * Called when an open of `path` (or a `readFile`'s, a `writeFile`'s) is
 * cancelled while Deno still runs it. `Deno.open` takes no signal, and on
 * a FIFO it blocks in the OS until a peer opens the other end: it keeps
 * the process alive, and an aborted `readFile` leaves a reader behind
 * that would take the next writer's bytes. An open for reading *and*
 * writing never waits on a FIFO (Linux, macOS) and counts as both ends,
 * so opening one for an instant lets the blocked open through; the late
 * handle then goes to `dispose`. That needs read and write permission for
 * the path, granted already: this must not prompt.
 *
 * @returns A cleanup (closing what was opened) when the open is sure to
 * settle promptly — a regular file or directory, or a FIFO just released
 * — so the cancel waits for it; `undefined` when it may block on (a
 * device, a FIFO without write permission, a path it cannot stat), so
 * the cancel is delivered at once and Deno keeps the open running.
 */
function unblockOpen(path: string | URL): (() => void) | undefined {
  const granted = (name: "read" | "write") =>
    Deno.permissions.querySync({ name, path }).state === "granted";
  try {
    if (!granted("read")) return undefined;
    const info = Deno.statSync(path);
    if (info.isFile || info.isDirectory) return () => {};
    if (!info.isFifo || !granted("write")) return undefined;
    const peer = Deno.openSync(path, { read: true, write: true });
    return () => peer.close();
  } catch {
    // Gone, replaced or refused: nothing to release. The open reports
    // its own outcome to nobody; its late handle is closed all the same.
    return undefined;
  }
}

/**
 * `Deno.open` as a loop Future. `Deno.open` cannot be aborted and may
 * never finish (a FIFO without a peer): a cancel waits for an open that
 * `unblockOpen` says will settle, and gives up on any other at once; a
 * file opened late is closed.
 */
function openHeld(
  path: string | URL,
  options: Deno.OpenOptions,
): Promise<Deno.FsFile> {
  requireDeno("open file", "open");
  const loop = getRunningLoop();
  return held(loop, () => Deno.open(path, options), {
    dispose: (file) => file.close(),
    release: () => unblockOpen(path),
  });
}

function splitOptions(
  options: OpenFileOptions | undefined,
): [Deno.OpenOptions, StreamOptions] {
  const { limit, highWaterMark, lowWaterMark, ...open } = options ?? {};
  return [open, { limit, highWaterMark, lowWaterMark }];
}

/** Throws what the stream constructors would, before anything is opened. */
function checkStreamOptions(stream: StreamOptions, writer: boolean): void {
  new StreamReader({ limit: stream.limit });
  if (writer) {
    new StreamWriter({ write: (data) => Promise.resolve(data.length) }, {
      highWaterMark: stream.highWaterMark,
      lowWaterMark: stream.lowWaterMark,
    });
  }
}

/**
 * Opens a file for reading as a `FileReader`: a `StreamReader` that
 * closes the file at its end, on error, on `close()`, and with
 * `await using`. If the task is cancelled while the file opens, the file
 * is closed as soon as it is open. Opening a FIFO waits for a writer;
 * cancelling that wait releases the FIFO if the program may also write
 * it, else Deno's open goes on until a writer comes (see the module
 * notes). Reading bytes already buffered never touches the file; each
 * read from the file holds a `VirtualClock`.
 *
 * Needs `--allow-read=PATH`.
 *
 * @param path The file's path or `file:` URL.
 * @param options `Deno.open`'s options (`read: true` by default) and the
 * reader's `limit` (the longest line, 64 KiB by default).
 * @returns The reader.
 * @throws {TypeError} If `path` is not a non-empty string or URL, or
 * `options` not an object.
 * @throws {TypeError} Where the runtime has no `Deno.open` (Node, Bun).
 * @throws {RangeError} If `limit` is not a positive integer.
 * @throws {Deno.errors.NotFound} If the file does not exist (the message
 * names the path); `Deno.errors.NotCapable` without `--allow-read`,
 * `Deno.errors.PermissionDenied` when the OS refuses.
 * @throws {CancelledError} If the task is cancelled while the file opens.
 *
 * @example Counting the lines of a file (needs --allow-read)
 * ```ts ignore
 * import { openReader, run } from "@aio/asyncio";
 *
 * const count = await run(async () => {
 *   let lines = 0;
 *   for await (const _ of await openReader("/etc/passwd")) lines++;
 *   return lines; // the reader closed the file at its end
 * });
 * console.log(count);
 * ```
 */
export async function openReader(
  path: string | URL,
  options?: Omit<OpenFileOptions, "highWaterMark" | "lowWaterMark">,
): Promise<FileReader> {
  checkPath("open file", path);
  const [open, stream] = splitOptions(checkOptions("open file", options));
  checkStreamOptions(stream, false);
  const file = await openHeld(path, { read: true, ...open });
  return new FileReader(file, pathString(path), { limit: stream.limit });
}

/**
 * Opens a file for writing as a `StreamWriter`: `write()` buffers,
 * `await drain()` applies backpressure, `close()` (or `await using`)
 * flushes the buffer and closes the file, and a failed write closes it
 * too. By default the file is created or truncated, as Python's
 * `open(path, "w")`; pass `{ append: true }` to append (then `truncate`
 * is off), or any of `Deno.open`'s options. `getExtraInfo("path")` and
 * `getExtraInfo("file")` give the path and the `Deno.FsFile` (to call
 * `syncData()`, say).
 *
 * Needs `--allow-write=PATH`.
 *
 * @param path The file's path or `file:` URL.
 * @param options `Deno.open`'s options (`write`, `create` and `truncate`
 * by default) and the writer's water marks (64 KiB high by default).
 * @returns The writer.
 * @throws {TypeError} If `path` is not a non-empty string or URL, or
 * `options` not an object.
 * @throws {TypeError} Where the runtime has no `Deno.open` (Node, Bun).
 * @throws {RangeError} If the water marks are out of range.
 * @throws {Deno.errors.NotFound} If the directory does not exist;
 * `Deno.errors.AlreadyExists` with `createNew`;
 * `Deno.errors.NotCapable` without `--allow-write`.
 * @throws {CancelledError} If the task is cancelled while the file opens.
 *
 * @example Writing lines with backpressure (needs --allow-write)
 * ```ts ignore
 * import { openWriter, run } from "@aio/asyncio";
 *
 * await run(async () => {
 *   await using writer = await openWriter("/tmp/numbers.txt");
 *   for (let i = 0; i < 100_000; i++) {
 *     writer.write(`${i}\n`);
 *     await writer.drain();
 *   }
 * }); // the file is flushed and closed here
 * ```
 */
export async function openWriter(
  path: string | URL,
  options?: Omit<OpenFileOptions, "limit">,
): Promise<StreamWriter> {
  checkPath("open file", path);
  const [open, stream] = splitOptions(checkOptions("open file", options));
  checkStreamOptions(stream, true);
  const defaults: Deno.OpenOptions = open.append
    ? { write: true, create: true }
    : { write: true, create: true, truncate: true };
  const file = await openHeld(path, { ...defaults, ...open });
  return new StreamWriter(new FileSink(file), {
    highWaterMark: stream.highWaterMark,
    lowWaterMark: stream.lowWaterMark,
    extraInfo: { path: pathString(path), file },
  });
}

/**
 * Opens a file for reading and writing through one handle (one file
 * position, as `Deno.open` gives): a `FileReader` and a `StreamWriter`
 * that share it. Closing the writer flushes it and closes the file,
 * which the reader then sees as its end; closing the reader closes the
 * file too. Unlike `openReader`, the reader does not close the file at
 * its end, since writing may go on.
 *
 * Needs `--allow-read=PATH` and, to write, `--allow-write=PATH`.
 *
 * @param path The file's path or `file:` URL.
 * @param options `Deno.open`'s options (`read` and `write` by default)
 * and the stream settings.
 * @returns `[reader, writer]`.
 * @throws {TypeError} If `path` is not a non-empty string or URL, or
 * `options` not an object.
 * @throws {TypeError} Where the runtime has no `Deno.open` (Node, Bun).
 * @throws {RangeError} If a stream setting is out of range.
 * @throws Deno's errors, as `openReader` and `openWriter`.
 * @throws {CancelledError} If the task is cancelled while the file opens.
 *
 * @example Appending, then reading back (needs --allow-read --allow-write)
 * ```ts ignore
 * import { openFile, run } from "@aio/asyncio";
 *
 * await run(async () => {
 *   const [reader, writer] = await openFile("/tmp/log.txt", {
 *     read: true,
 *     write: true,
 *     create: true,
 *     truncate: true,
 *   });
 *   writer.write("one\ntwo\n");
 *   await writer.drain();
 *   writer.getExtraInfo<Deno.FsFile>("file")!.seekSync(0, Deno.SeekMode.Start);
 *   console.log(new TextDecoder().decode(await reader.readLine())); // "one\n"
 *   writer.close();
 *   await writer.waitClosed();
 * });
 * ```
 */
export async function openFile(
  path: string | URL,
  options?: OpenFileOptions,
): Promise<[FileReader, StreamWriter]> {
  checkPath("open file", path);
  const [open, stream] = splitOptions(checkOptions("open file", options));
  checkStreamOptions(stream, true);
  const file = await openHeld(path, {
    read: true,
    write: true,
    ...open,
  });
  const reader = new FileReader(file, pathString(path), {
    limit: stream.limit,
    autoClose: false,
  });
  const writer = new StreamWriter(new FileSink(file, sources.get(reader)), {
    highWaterMark: stream.highWaterMark,
    lowWaterMark: stream.lowWaterMark,
    extraInfo: { path: pathString(path), file },
  });
  return [reader, writer];
}

/**
 * Reads a whole file. Cancelling the task aborts Deno's read, which
 * returns at once (its thread may read on and drop the bytes), then
 * `CancelledError` is thrown. asyncio has none; Deno: `Deno.readFile`.
 *
 * Needs `--allow-read=PATH`.
 *
 * @param path The file's path or `file:` URL.
 * @param options Reserved for `Deno.readFile`'s options (none but the
 * signal, which this function manages).
 * @returns The bytes.
 * @throws {TypeError} If `path` is not a non-empty string or URL.
 * @throws {TypeError} Where the runtime has no `Deno.readFile` (Node, Bun).
 * @throws {Deno.errors.NotFound} If the file does not exist (the message
 * names the path); `Deno.errors.NotCapable` without `--allow-read`.
 * @throws {CancelledError} If the task is cancelled meanwhile.
 *
 * @example Reading bytes (needs --allow-read)
 * ```ts ignore
 * import { readFile, run } from "@aio/asyncio";
 *
 * const bytes = await run(() => readFile("/etc/hostname"));
 * console.log(bytes.length);
 * ```
 */
export function readFile(
  path: string | URL,
  options?: ReadFileOptions,
): Promise<Uint8Array> {
  checkPath("read file", path);
  checkOptions("read file", options);
  requireDeno("read file", "readFile");
  return held(
    getRunningLoop(),
    (signal) => Deno.readFile(path, { ...options, signal }),
    { settleOnCancel: true, release: () => unblockOpen(path) },
  );
}

/**
 * Reads a whole file as UTF-8 text. Cancelling the task aborts the read,
 * as `readFile`. Deno: `Deno.readTextFile`.
 *
 * Needs `--allow-read=PATH`.
 *
 * @param path The file's path or `file:` URL.
 * @param options Reserved for `Deno.readTextFile`'s options.
 * @returns The text.
 * @throws {TypeError} If `path` is not a non-empty string or URL.
 * @throws {TypeError} Where the runtime has no `Deno.readTextFile` (Node, Bun).
 * @throws {Deno.errors.NotFound} If the file does not exist (the message
 * names the path); `Deno.errors.NotCapable` without `--allow-read`.
 * @throws {CancelledError} If the task is cancelled meanwhile.
 *
 * @example Reading text (needs --allow-read)
 * ```ts ignore
 * import { readTextFile, run } from "@aio/asyncio";
 *
 * console.log(await run(() => readTextFile("/etc/hostname")));
 * ```
 */
export function readTextFile(
  path: string | URL,
  options?: ReadFileOptions,
): Promise<string> {
  checkPath("read file", path);
  checkOptions("read file", options);
  requireDeno("read file", "readTextFile");
  return held(
    getRunningLoop(),
    (signal) => Deno.readTextFile(path, { ...options, signal }),
    { settleOnCancel: true, release: () => unblockOpen(path) },
  );
}

/**
 * Writes bytes to a file, replacing it (or appending, with
 * `{ append: true }`). Cancelling the task throws `CancelledError` at
 * once, but a write Deno has started runs to its end in the background
 * (`Deno.writeFile` cannot be stopped part-way): to stop writing on
 * cancellation, use `openWriter`. Deno: `Deno.writeFile`.
 *
 * Needs `--allow-write=PATH`.
 *
 * @param path The file's path or `file:` URL.
 * @param data The bytes.
 * @param options `Deno.writeFile`'s options: `append`, `create`,
 * `createNew`, `mode`.
 * @returns A promise that resolves once written.
 * @throws {TypeError} If `path` is not a non-empty string or URL, or
 * `data` is not a Uint8Array.
 * @throws {TypeError} Where the runtime has no `Deno.writeFile` (Node, Bun).
 * @throws {Deno.errors.NotFound} If the directory does not exist;
 * `Deno.errors.NotCapable` without `--allow-write`.
 * @throws {CancelledError} If the task is cancelled meanwhile.
 *
 * @example Writing bytes (needs --allow-write)
 * ```ts ignore
 * import { run, writeFile } from "@aio/asyncio";
 *
 * await run(() => writeFile("/tmp/out.bin", new Uint8Array([1, 2, 3])));
 * ```
 */
export function writeFile(
  path: string | URL,
  data: Uint8Array,
  options?: WriteFileOptions,
): Promise<void> {
  checkPath("write file", path);
  checkOptions("write file", options);
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot write file: expected the data as a Uint8Array, got ${
        describe(data)
      }`,
    );
  }
  requireDeno("write file", "writeFile");
  return held(
    getRunningLoop(),
    (signal) => Deno.writeFile(path, data, { ...options, signal }),
    { settleOnCancel: true, release: () => unblockOpen(path) },
  );
}

/**
 * Writes text to a file as UTF-8, replacing it (or appending, with
 * `{ append: true }`). Cancelling the task behaves as for `writeFile`.
 * Deno: `Deno.writeTextFile`.
 *
 * Needs `--allow-write=PATH`.
 *
 * @param path The file's path or `file:` URL.
 * @param text The text.
 * @param options `Deno.writeTextFile`'s options.
 * @returns A promise that resolves once written.
 * @throws {TypeError} If `path` is not a non-empty string or URL, or
 * `text` is not a string.
 * @throws {TypeError} Where the runtime has no `Deno.writeTextFile` (Node, Bun).
 * @throws {Deno.errors.NotFound} If the directory does not exist;
 * `Deno.errors.NotCapable` without `--allow-write`.
 * @throws {CancelledError} If the task is cancelled meanwhile.
 *
 * @example Writing a report (needs --allow-write)
 * ```ts ignore
 * import { run, writeTextFile } from "@aio/asyncio";
 *
 * await run(() => writeTextFile("/tmp/report.txt", "all good\n"));
 * ```
 */
export function writeTextFile(
  path: string | URL,
  text: string,
  options?: WriteFileOptions,
): Promise<void> {
  checkPath("write file", path);
  checkOptions("write file", options);
  if (typeof text !== "string") {
    throw new TypeError(
      `Cannot write file: expected the text as a string, got ${describe(text)}`,
    );
  }
  requireDeno("write file", "writeTextFile");
  return held(
    getRunningLoop(),
    (signal) => Deno.writeTextFile(path, text, { ...options, signal }),
    { settleOnCancel: true, release: () => unblockOpen(path) },
  );
}
