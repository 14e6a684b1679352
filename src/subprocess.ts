/**
 * Subprocesses over `Deno.Command`, as asyncio's `subprocess.py`:
 * `createSubprocessExec` and `createSubprocessShell` start a child and
 * resolve to a `Process` whose piped stdin is a `StreamWriter` and whose
 * piped stdout and stderr are `StreamReader`s — the same API as sockets.
 *
 * Differences from asyncio, on purpose:
 * - `stderr: STDOUT` (merging stderr into stdout) is rejected:
 *   `Deno.Command` has no way to give two descriptors one pipe. Pipe
 *   both, or run the command through a shell with `2>&1`.
 * - `Process` is `AsyncDisposable`: `await using proc = ...` kills a child
 *   still running at the end of the block and waits for it, as asyncio's
 *   transport does when it is closed or collected.
 * - Pipes are read on demand; once the child has exited, what is left in
 *   them is read into memory so that `wait()` can resolve. As in asyncio,
 *   `wait()` with a piped stdout or stderr that nobody reads waits forever
 *   if the child fills the pipe (64 KiB on Linux): use `communicate()`.
 *
 * Permissions: `--allow-run=CMD` (`--allow-run=sh` for the shell form).
 *
 * @module
 */
import { requireDeno } from "./_deno.ts";
import { describe, repr } from "./_describe.ts";
import { DESCRIBE, labelFuture } from "./_introspect.ts";
import { CancelledError } from "./errors.ts";
import { getRunningLoop } from "./abstract_event_loop.ts";
import type { Future } from "./futures.ts";
import { gather } from "./gather.ts";
import { type ByteSource, StreamReader } from "./stream_reader.ts";
import {
  type ByteSink,
  type StreamOptions,
  StreamWriter,
} from "./stream_writer.ts";

/** Connect the child's stream to a new pipe. asyncio: `subprocess.PIPE`. */
export const PIPE = "piped";
/** Connect the child's stream to the null device. asyncio: `subprocess.DEVNULL`. */
export const DEVNULL = "null";

/**
 * What to connect a child's stdin, stdout or stderr to: `PIPE`, `DEVNULL`,
 * or `"inherit"` (the parent's, the default, asyncio's `None`).
 */
export type StdioOption = typeof PIPE | typeof DEVNULL | "inherit";

/**
 * `T` where `options[name]` is `PIPE`, `null` where it cannot be, and
 * `T | null` where the type does not say: `communicate()` of a process
 * created with `{ stdout: PIPE }` gives `Uint8Array`, not `Uint8Array |
 * null`, so no `!` is needed.
 */
export type PipedAs<
  O,
  K extends "stdin" | "stdout" | "stderr",
  T,
> = O extends { readonly [P in K]: typeof PIPE } ? T
  : K extends keyof O ? typeof PIPE extends O[K] ? T | null : null
  : null;

/** What `communicate()` reads from a stream: bytes where it is piped. */
export type BytesOf<R> = R extends StreamReader ? Uint8Array : null;

/** The `Process` that options `O` make: its streams typed as they are piped. */
export type ProcessOf<O> = Process<
  PipedAs<O, "stdin", StreamWriter>,
  PipedAs<O, "stdout", StreamReader>,
  PipedAs<O, "stderr", StreamReader>
>;

/** A signal name such as `"SIGTERM"`, as `Deno.ChildProcess.kill` takes. */
export type ProcessSignal = Deno.Signal;

/** Options for `createSubprocessExec` and `createSubprocessShell`. */
export interface SubprocessOptions extends StreamOptions {
  /** The child's stdin: `"inherit"` by default. */
  stdin?: StdioOption;
  /** The child's stdout: `"inherit"` by default. */
  stdout?: StdioOption;
  /**
   * The child's stderr: `"inherit"` by default. asyncio's `STDOUT`
   * (merging into stdout) has no `Deno.Command` equivalent and is
   * rejected with a `TypeError`.
   */
  stderr?: StdioOption;
  /** The working directory. */
  cwd?: string | URL;
  /** Environment variables to set (added to the parent's unless `clearEnv`). */
  env?: Record<string, string>;
  /** Start from an empty environment. */
  clearEnv?: boolean;
  /** The user id to run as (Unix). */
  uid?: number;
  /** The group id to run as (Unix). */
  gid?: number;
}

const STDIO_VALUES: readonly string[] = [PIPE, DEVNULL, "inherit"];

function checkStdio(
  name: "stdin" | "stdout" | "stderr",
  value: unknown,
): StdioOption {
  if (value === undefined || value === null) return "inherit";
  if (typeof value === "string" && STDIO_VALUES.includes(value)) {
    return value as StdioOption;
  }
  if (name === "stderr" && (value === "stdout" || value === -2)) {
    throw new TypeError(
      "Cannot spawn: stderr: STDOUT (merging stderr into stdout) has no " +
        "Deno.Command equivalent; pipe both and read them separately, or " +
        'run a shell command with "2>&1"',
    );
  }
  throw new TypeError(
    `Cannot spawn: expected ${name} to be PIPE, DEVNULL or "inherit", got ${
      typeof value === "string" ? repr(value) : describe(value)
    }`,
  );
}

/**
 * A child's stdout or stderr as a ByteSource: chunks from the pipe's
 * ReadableStream, copied into the reader's buffer. Once the child has
 * exited, `drain()` reads the rest into memory, so that the pipe is
 * released whether or not anybody reads it. Reads wait on the child, so
 * they do not hold a virtual clock.
 */
class PipeSource implements ByteSource {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #eof = false;
  #failed = false;
  #error: unknown = undefined;
  #inFlight: Promise<void> | undefined = undefined;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  #fetch(): Promise<void> {
    return this.#inFlight ??= this.#reader.read().then(
      ({ value, done }) => {
        this.#inFlight = undefined;
        if (done) this.#eof = true;
        else if (value.length > 0) this.#chunks.push(value);
      },
      (error) => {
        this.#inFlight = undefined;
        this.#failed = true;
        this.#error = error;
      },
    );
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0 && !this.#eof && !this.#failed) {
      await this.#fetch();
    }
    const chunk = this.#chunks[0];
    if (chunk === undefined) {
      if (this.#failed) throw this.#error;
      return null;
    }
    const n = Math.min(chunk.length, buffer.length);
    buffer.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    return n;
  }

  /** Reads the pipe to its end; resolves when it is released. */
  async drain(): Promise<void> {
    while (!this.#eof && !this.#failed) await this.#fetch();
  }

  /**
   * Gives up on the pipe: ends a read in flight (which Deno does at once)
   * and resolves when the pipe is released.
   */
  async cancel(): Promise<void> {
    if (this.#eof || this.#failed) return;
    await this.#reader.cancel().catch(() => {});
    await this.#inFlight;
    this.#eof = true;
  }
}

/** A child's stdin as a ByteSink over the pipe's WritableStream. */
class PipeSink implements ByteSink {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #closing: Promise<void> | undefined = undefined;

  constructor(stream: WritableStream<Uint8Array>) {
    this.#writer = stream.getWriter();
  }

  async write(data: Uint8Array): Promise<number> {
    // The stream may keep the chunk after write() settles; give it a copy
    // of bytes the writer will reuse.
    await this.#writer.write(data.slice());
    return data.length;
  }

  closeWrite(): Promise<void> {
    return this.#shut();
  }

  close(): void {
    this.#shut();
  }

  #shut(): Promise<void> {
    return this.#closing ??= this.#writer.close().catch(() => {});
  }

  /** Resolves once the pipe is closed. */
  closed(): Promise<void> {
    return this.#closing ?? Promise.resolve();
  }
}

function isBrokenPipe(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset;
}

/**
 * A running (or finished) child process. asyncio:
 * `asyncio.subprocess.Process`.
 *
 * `stdin` is a `StreamWriter` and `stdout`/`stderr` are `StreamReader`s
 * when they were created with `PIPE`, `null` otherwise. `returncode` is
 * `null` while the child runs, then its exit status, or `-N` if signal N
 * ended it (as asyncio). `wait()` resolves once the child has exited and
 * its pipes are drained.
 *
 * Cancelling `wait()` or `communicate()` only stops that wait: the child
 * runs on, owned by this object, and can still be waited for, killed, or
 * disposed of (`await using` kills it if it still runs at the end of the
 * block). A cancelled `communicate()` closes stdin, since the rest of the
 * input can no longer be fed.
 *
 * What Deno does not let this object interrupt: a write to stdin that the
 * child does not read. A cancelled `drain()` returns at once, but the
 * write in flight ends only when the child reads, exits or is killed (as
 * `await using` does); neither `close()` nor `abort()` ends it.
 *
 * @example Reading a child's output line by line (needs --allow-run=deno)
 * ```ts ignore
 * import { createSubprocessExec, PIPE, run } from "@aio/asyncio";
 *
 * await run(async () => {
 *   await using proc = await createSubprocessExec("deno", ["--version"], {
 *     stdout: PIPE,
 *   });
 *   for await (const line of proc.stdout) {
 *     console.log("deno says:", new TextDecoder().decode(line).trimEnd());
 *   }
 *   console.log("exit status", await proc.wait());
 * });
 * ```
 */
export class Process<
  In extends StreamWriter | null = StreamWriter | null,
  Out extends StreamReader | null = StreamReader | null,
  Err extends StreamReader | null = StreamReader | null,
> implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #returncode: number | null = null;
  #stdinSink: PipeSink | undefined;
  #sources: PipeSource[] = [];
  #finished: Promise<void>;
  #finishedDone = false;
  #waiters = new Set<Future<void>>();
  #description: string;
  /** The child's stdin, if it was created with `PIPE`. */
  readonly stdin: In;
  /** The child's stdout, if it was created with `PIPE`. */
  readonly stdout: Out;
  /** The child's stderr, if it was created with `PIPE`. */
  readonly stderr: Err;

  /**
   * Wraps a spawned child; use `createSubprocessExec` or
   * `createSubprocessShell` instead.
   *
   * @param child The child.
   * @param stdio How its streams were connected.
   * @param options The stream settings.
   * @param description The command, for `toString()`.
   */
  constructor(
    child: Deno.ChildProcess,
    stdio: { stdin: StdioOption; stdout: StdioOption; stderr: StdioOption },
    options: StreamOptions,
    description: string,
  ) {
    this.#child = child;
    this.#description = description;
    let stdin: StreamWriter | null = null;
    if (stdio.stdin === PIPE) {
      this.#stdinSink = new PipeSink(child.stdin);
      stdin = new StreamWriter(this.#stdinSink, {
        highWaterMark: options.highWaterMark,
        lowWaterMark: options.lowWaterMark,
        extraInfo: { pid: child.pid },
      });
    }
    const reader = (
      piped: boolean,
      stream: () => ReadableStream<Uint8Array>,
    ) => {
      if (!piped) return null;
      const source = new PipeSource(stream());
      this.#sources.push(source);
      return new StreamReader({ limit: options.limit, source });
    };
    // The types follow the options the caller passed (see `PipedAs`).
    this.stdin = stdin as In;
    this.stdout = reader(stdio.stdout === PIPE, () => child.stdout) as Out;
    this.stderr = reader(stdio.stderr === PIPE, () => child.stderr) as Err;
    this.#finished = child.status.then(async (status) => {
      this.#returncode = status.signal !== null && status.code > 128
        ? -(status.code - 128)
        : status.code;
      await Promise.all(this.#sources.map((source) => source.drain()));
      this.#finishedDone = true;
      for (const waiter of this.#waiters) {
        if (!waiter.done() && !waiter.getLoop().isClosed()) waiter.setResult();
      }
      this.#waiters.clear();
    });
  }

  /** The child's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * The exit status: `null` while the child runs, `-N` if signal N ended
   * it. asyncio: `Process.returncode`.
   */
  get returncode(): number | null {
    return this.#returncode;
  }

  /**
   * Waits until the child has exited and its pipes are drained, and
   * returns its exit status. Cancelling the wait leaves the child running.
   * asyncio: `Process.wait()`.
   *
   * @returns The return code (`-N` for signal N).
   * @throws {CancelledError} If the task is cancelled meanwhile.
   */
  async wait(): Promise<number> {
    if (!this.#finishedDone) {
      const waiter = getRunningLoop().createFuture<void>();
      labelFuture(waiter, {
        [DESCRIBE]: () => `Process.wait() pid ${this.pid}`,
      });
      this.#waiters.add(waiter);
      try {
        await waiter;
      } finally {
        this.#waiters.delete(waiter);
      }
    }
    return this.#returncode!;
  }

  /**
   * Feeds `input` to stdin (then closes it), reads stdout and stderr to
   * their end, all at once so that no pipe fills up, and waits for the
   * child. A child that exits without reading its input is not an error
   * (broken pipes are ignored, as in asyncio). asyncio:
   * `Process.communicate()`.
   *
   * @param input Bytes or text (UTF-8) for stdin; stdin must be `PIPE`.
   * @returns `[stdout, stderr]`: the bytes, or `null` for a stream that
   * is not piped.
   * @throws {TypeError} If `input` is given but stdin is not `PIPE`, or
   * is neither bytes nor a string.
   * @throws {CancelledError} If the task is cancelled meanwhile; stdin is
   * then closed and the child runs on.
   */
  async communicate(
    input?: string | Uint8Array,
  ): Promise<[BytesOf<Out>, BytesOf<Err>]> {
    if (input !== undefined && input !== null) {
      if (typeof input !== "string" && !(input instanceof Uint8Array)) {
        throw new TypeError(
          `Cannot communicate: expected input as a Uint8Array or a string, got ${
            describe(input)
          }`,
        );
      }
      if (this.stdin === null) {
        throw new TypeError(
          "Cannot communicate: input was given, but stdin is not PIPE",
        );
      }
    }
    const stdin = this.stdin as StreamWriter | null;
    const feed = async (): Promise<null> => {
      if (stdin === null) return null;
      try {
        if (input !== undefined && input !== null) stdin.write(input);
        await stdin.drain();
      } catch (error) {
        if (!isBrokenPipe(error)) throw error;
      }
      stdin.close();
      try {
        await stdin.waitClosed();
      } catch (error) {
        if (!isBrokenPipe(error)) throw error;
      }
      return null;
    };
    const readAll = (reader: StreamReader | null) => async () =>
      reader === null ? null : await reader.read();
    let out: [null, Uint8Array | null, Uint8Array | null];
    try {
      out = await gather(
        feed,
        readAll(this.stdout as StreamReader | null),
        readAll(this.stderr as StreamReader | null),
      );
    } catch (error) {
      if (error instanceof CancelledError) stdin?.abort();
      throw error;
    }
    await this.wait();
    // null exactly where the stream is not piped, as `PipedAs` says.
    return [out[1] as BytesOf<Out>, out[2] as BytesOf<Err>];
  }

  /**
   * Sends `signal` to the child; does nothing once it has exited.
   * asyncio: `Process.send_signal()`.
   *
   * @param signal A signal name, e.g. `"SIGINT"`.
   * @throws {TypeError} If `signal` is not a signal name Deno knows.
   */
  sendSignal(signal: ProcessSignal): void {
    if (typeof signal !== "string" || !/^SIG[A-Z0-9]+$/.test(signal)) {
      throw new TypeError(
        `Cannot send signal: expected a signal name such as "SIGTERM", got ${
          typeof signal === "string" ? repr(signal) : describe(signal)
        }`,
      );
    }
    if (this.#returncode !== null) return;
    try {
      this.#child.kill(signal);
    } catch (error) {
      // The child exited before its status arrived: as asyncio, ignore.
      if (
        error instanceof TypeError && /already terminated/i.test(error.message)
      ) return;
      throw error;
    }
  }

  /**
   * Asks the child to stop: SIGTERM. asyncio: `Process.terminate()`.
   */
  terminate(): void {
    this.sendSignal("SIGTERM");
  }

  /** Kills the child: SIGKILL. asyncio: `Process.kill()`. */
  kill(): void {
    this.sendSignal("SIGKILL");
  }

  /**
   * Kills the child if it still runs, closes stdin, waits until the child
   * has exited, then stops reading its stdout and stderr (what is left
   * unread is dropped) and waits until the pipes are released. For
   * `await using`. It does not wait for a grandchild that keeps the
   * pipes open (a daemon started with `&`), as asyncio's
   * `transport.close()` does not.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#returncode === null) this.kill();
    this.stdin?.abort();
    await this.#child.status;
    await Promise.all(this.#sources.map((source) => source.cancel()));
    await this.#finished;
    await this.#stdinSink?.closed();
  }

  /**
   * Describes the process, as asyncio's repr.
   *
   * @returns `<Process PID>` and the command.
   */
  toString(): string {
    return `<Process ${this.pid}: ${this.#description}>`;
  }
}

function spawn<O extends SubprocessOptions>(
  action: string,
  cmd: string,
  args: string[],
  options: O | undefined,
  description: string,
): ProcessOf<O> {
  if (
    options !== undefined && (options === null || typeof options !== "object")
  ) {
    throw new TypeError(
      `Cannot ${action}: expected an options object, got ${describe(options)}`,
    );
  }
  const stdio = {
    stdin: checkStdio("stdin", options?.stdin),
    stdout: checkStdio("stdout", options?.stdout),
    stderr: checkStdio("stderr", options?.stderr),
  };
  const streams: StreamOptions = {
    limit: options?.limit,
    highWaterMark: options?.highWaterMark,
    lowWaterMark: options?.lowWaterMark,
  };
  // What the stream constructors would throw, before the child starts.
  new StreamReader({ limit: streams.limit });
  new StreamWriter({ write: (data) => Promise.resolve(data.length) }, {
    highWaterMark: streams.highWaterMark,
    lowWaterMark: streams.lowWaterMark,
  });
  requireDeno(action, "Command");
  getRunningLoop();
  const child = new Deno.Command(cmd, {
    args,
    cwd: options?.cwd,
    env: options?.env,
    clearEnv: options?.clearEnv,
    uid: options?.uid,
    gid: options?.gid,
    ...stdio,
  }).spawn();
  return new Process(child, stdio, streams, description) as ProcessOf<O>;
}

/**
 * Starts `cmd` with `args` (no shell involved) and returns its
 * `Process`. asyncio: `asyncio.create_subprocess_exec(program, *args)`.
 *
 * Needs `--allow-run=CMD`.
 *
 * @param cmd The program: a name looked up in `PATH`, or a path.
 * @param args Its arguments.
 * @param options `stdin`, `stdout`, `stderr` (`PIPE`, `DEVNULL` or
 * `"inherit"`, the default), `cwd`, `env`, `clearEnv`, `uid`, `gid`, and
 * the streams' `limit` and water marks.
 * @returns The process.
 * @throws {TypeError} If `cmd` is not a non-empty string, `args` not an
 * array of strings, or a stdio option is invalid (including asyncio's
 * `STDOUT`, which Deno cannot do).
 * @throws {TypeError} Where the runtime has no `Deno.Command` (Node, Bun).
 * @throws {Deno.errors.NotFound} If the program does not exist;
 * `Deno.errors.NotCapable` without `--allow-run`.
 * @throws {InvalidStateError} Without a running loop.
 *
 * @example Capturing a child's output (needs --allow-run=deno)
 * ```ts ignore
 * import { createSubprocessExec, PIPE, run } from "@aio/asyncio";
 *
 * await run(async () => {
 *   const proc = await createSubprocessExec(
 *     "deno",
 *     ["eval", "console.log(await new Response(Deno.stdin.readable).text())"],
 *     { stdin: PIPE, stdout: PIPE },
 *   );
 *   const [out] = await proc.communicate("echo me");
 *   console.log(new TextDecoder().decode(out), proc.returncode);
 * });
 * ```
 */
export async function createSubprocessExec<
  O extends SubprocessOptions = Record<never, never>,
>(
  cmd: string | URL,
  args: readonly (string | URL)[] = [],
  options?: O,
): Promise<ProcessOf<O>> {
  if (cmd instanceof URL) cmd = filePath(cmd, "the command");
  if (typeof cmd !== "string" || cmd === "") {
    throw new TypeError(
      `Cannot spawn: expected a command name, got ${
        cmd === "" ? "an empty string" : describe(cmd)
      }`,
    );
  }
  const isArg = (arg: unknown) => typeof arg === "string" || arg instanceof URL;
  if (!Array.isArray(args) || !args.every(isArg)) {
    throw new TypeError(
      `Cannot spawn: expected the arguments as an array of strings or file URLs, got ${
        Array.isArray(args)
          ? `an array with ${describe(args.find((a) => !isArg(a)))}`
          : describe(args)
      }`,
    );
  }
  // Path-like arguments, as asyncio takes them (os.fspath).
  const strings = args.map((arg) =>
    arg instanceof URL ? filePath(arg, "an argument") : arg
  );
  return spawn(
    "spawn",
    cmd,
    strings,
    options,
    [cmd, ...strings].map((a) => /[\s"']/.test(a) ? JSON.stringify(a) : a)
      .join(" "),
  );
}

/** The path of a `file:` URL; any other URL is no path. */
function filePath(url: URL, what: string): string {
  if (url.protocol !== "file:") {
    throw new TypeError(
      `Cannot spawn: expected ${what} as a string or a file: URL, got ${url.href}`,
    );
  }
  return decodeURIComponent(url.pathname);
}

/**
 * Runs `command` through the shell (`sh -c` on Unix, `cmd /c` on
 * Windows) and returns its `Process`. Quoting is the caller's business,
 * as with asyncio. asyncio: `asyncio.create_subprocess_shell(cmd)`.
 *
 * Needs `--allow-run=sh` (or `cmd` on Windows) — which lets the command
 * run anything.
 *
 * @param command The shell command line.
 * @param options As `createSubprocessExec`'s.
 * @returns The process.
 * @throws {TypeError} If `command` is not a non-empty string, or an
 * option is invalid.
 * @throws {TypeError} Where the runtime has no `Deno.Command` (Node, Bun).
 * @throws {Deno.errors.NotCapable} Without `--allow-run` for the shell.
 * @throws {InvalidStateError} Without a running loop.
 *
 * @example Merging stderr into stdout the shell's way (needs --allow-run=sh)
 * ```ts ignore
 * import { createSubprocessShell, PIPE, run } from "@aio/asyncio";
 *
 * await run(async () => {
 *   const proc = await createSubprocessShell("ls /nonexistent 2>&1", {
 *     stdout: PIPE,
 *   });
 *   const [out] = await proc.communicate();
 *   console.log(new TextDecoder().decode(out), proc.returncode);
 * });
 * ```
 */
export async function createSubprocessShell<
  O extends SubprocessOptions = Record<never, never>,
>(
  command: string,
  options?: O,
): Promise<ProcessOf<O>> {
  if (typeof command !== "string" || command.trim() === "") {
    throw new TypeError(
      `Cannot spawn: expected a shell command line, got ${
        typeof command === "string" ? "an empty string" : describe(command)
      }`,
    );
  }
  requireDeno("spawn", "Command");
  const windows = Deno.build.os === "windows";
  return spawn(
    "spawn",
    windows ? "cmd" : "sh",
    windows ? ["/d", "/s", "/c", command] : ["-c", command],
    options,
    command,
  );
}
