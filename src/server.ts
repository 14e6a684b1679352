/**
 * `startServer` and `Server`: a StreamReader/StreamWriter pair per client
 * over `Deno.listen` (TCP or a Unix socket) or `Deno.listenTls`, each
 * client served by its own task, as asyncio's `start_server` and
 * `base_events.Server` (3.12.1+ semantics).
 *
 * @module
 */
import { requireDeno } from "./_deno.ts";
import { DESCRIBE, labelFuture } from "./_introspect.ts";
import { writerHooks } from "./_stream_hooks.ts";
import {
  checkStreamOptions,
  describeAddr,
  discard,
  Endpoint,
  isTls,
  streamsOver,
} from "./_conn.ts";
import { CancelledError, InvalidStateError, TimeoutError } from "./errors.ts";
import {
  type AbstractEventLoop,
  type ExceptionContext,
  getRunningLoop,
  type TimerHandle,
} from "./abstract_event_loop.ts";
import type { Future } from "./futures.ts";
import { sleep } from "./sleep.ts";
import type { StreamReader } from "./stream_reader.ts";
import type { StreamOptions, StreamWriter } from "./stream_writer.ts";
import { currentTask, type Task } from "./tasks.ts";

/** Connections served at once by default. */
const DEFAULT_MAX_CONNECTIONS = 1024;
/** TLS connections accepted and not yet served, by default. */
const DEFAULT_MAX_HANDSHAKES = 256;
/**
 * A TLS handshake takes a round trip or two: 10 s is ample on a slow link,
 * and shorter than asyncio's 60 s `SSL_HANDSHAKE_TIMEOUT`.
 */
const DEFAULT_TLS_HANDSHAKE_TIMEOUT = 10_000;
/** At the cap with nobody idle, look again this often (ms). */
const ROOM_RECHECK_DELAY = 250;
/** asyncio's `ACCEPT_RETRY_DELAY`: out of descriptors or memory, wait 1 s. */
const ACCEPT_RETRY_DELAY = 1000;
/** A recurring condition is reported at most once per this many ms. */
const REPORT_INTERVAL = 10_000;
/**
 * Accept errors that mean the process is out of something (descriptors,
 * buffers, memory): accepting pauses, as in asyncio. By Deno's `code`, or
 * by the Linux errno in the message ("(os error 24)").
 */
const EXHAUSTED_CODES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);
const EXHAUSTED_ERRNOS = /\(os error (?:24|23|105|12)\)/;

/**
 * Called with each client's reader and writer, in a task of its own. When
 * the promise it returns settles, the connection is closed (after the
 * buffered bytes are sent); an error it throws goes to the loop's
 * exception handler and does not stop the server. A callback that returns
 * no promise owns the streams and closes them itself, as asyncio's plain
 * callbacks do.
 */
export type ClientConnectedCallback = (
  reader: StreamReader,
  writer: StreamWriter,
) => unknown;

/** The server settings, beyond the listener's and the streams'. */
export interface ServerOptions extends StreamOptions {
  /**
   * Accept connections at once (the default), or only once
   * `startServing()` or `serveForever()` is called. asyncio:
   * `start_serving`.
   */
  startServing?: boolean;
  /**
   * How many clients are served at once: 1024 by default; `Infinity` for
   * no cap (asyncio has none). At the cap, a new connection is accepted
   * and waits, and the server closes the connection that has waited
   * longest on its peer (see `closeIdleAtCap`) to make room for it; while
   * one waits, further clients wait in the kernel's listen backlog. Sitting
   * at the cap is reported through the loop's exception handler (at most
   * every 10 s).
   */
  maxConnections?: number;
  /**
   * At `maxConnections`, close the served connection that has been idle
   * longest (a read or write of it waits on the peer, and no byte moved
   * either way meanwhile) to make room for a new one, as nginx reuses idle
   * keep-alive connections: `true` by default. With `false`, new clients
   * wait until one leaves. A handler whose connection is closed this way
   * sees the end of the stream.
   */
  closeIdleAtCap?: boolean;
  /**
   * Milliseconds a served connection may stay idle (a read or write of it
   * waits on the peer and no byte moves either way) before the server
   * closes it: `Infinity` by default, as asyncio (the handler sees the end
   * of the stream). A handler bounds its own reads with `timeout` or
   * `waitFor`.
   */
  idleTimeout?: number;
  /**
   * Milliseconds a TLS client gets to finish its handshake: 10 000 by
   * default (asyncio: 60 000). A client that takes longer is never served.
   * Deno does not let a handshake in progress be cancelled: its socket
   * stays open until the peer sends enough or leaves, and the server counts
   * it against `maxHandshakes` until then.
   */
  tlsHandshakeTimeout?: number;
  /**
   * How many TLS connections may be accepted and not yet served at once:
   * 256 by default. They are in their handshake, waiting for room under
   * `maxConnections`, or timed out and held open by Deno until their peer
   * leaves. At the cap, accepting pauses (reported at most every 10 s);
   * served connections are not affected.
   */
  maxHandshakes?: number;
  /**
   * For a Unix socket: remove its file when the server closes (the
   * default), but only if it is still the socket the server bound (same
   * device and inode), not one another server put there since; `false`
   * keeps the file. asyncio (3.13): `cleanup_socket`. Deno removes the
   * path itself as it closes a listener, so a file to keep is linked to
   * `PATH.kept` and back: that needs `--allow-read` and `--allow-write`
   * for `PATH.kept` too.
   */
  cleanupSocket?: boolean;
}

/** `startServer` options for TCP: `Deno.listen`'s, and the server's. */
export type TcpServerOptions = Deno.TcpListenOptions & ServerOptions & {
  /** Plain TCP. */
  transport?: "tcp";
};

/**
 * `startServer` options for a Unix socket: `Deno.listen`'s. A stale
 * socket file at `path` is removed first, as asyncio does; the file is
 * removed when the server closes, if it is still the server's (see
 * `cleanupSocket`).
 */
export type UnixServerOptions = Deno.UnixListenOptions & ServerOptions & {
  /** A Unix domain socket. */
  transport: "unix";
};

/** `startServer` options for TLS: `Deno.listenTls`'s (`cert` and `key`). */
export type TlsServerOptions =
  & Deno.ListenTlsOptions
  & Deno.TlsCertifiedKeyPem
  & ServerOptions;

/** What `startServer` takes. */
export type StartServerOptions =
  | TcpServerOptions
  | UnixServerOptions
  | TlsServerOptions;

interface Settings {
  readonly streams: StreamOptions;
  readonly maxConnections: number;
  readonly closeIdleAtCap: boolean;
  readonly idleTimeout: number;
  readonly tlsHandshakeTimeout: number;
  readonly maxHandshakes: number;
  readonly cleanupSocket: boolean;
  readonly tls: boolean;
}

/**
 * Where a connection is: in its TLS handshake; waiting for room under
 * `maxConnections`; served; or given up (its handshake timed out, and
 * Deno holds its socket until the handshake settles).
 */
type Phase = "handshake" | "waiting" | "served" | "given up";

/**
 * One connection, from accept until its descriptor is released: until its
 * writer is closed and settled and, for TLS, its handshake settled.
 */
interface Client {
  readonly writer: StreamWriter;
  readonly endpoint: Endpoint;
  readonly peer: string;
  holds: number;
  phase: Phase;
  handshaking: boolean;
  /** What the client's task waits on: its handshake, then room. */
  wait: Future<void> | undefined;
  /** Closed by the server to make room for a waiting client. */
  evicted: boolean;
  idleTimer: TimerHandle | undefined;
}

/**
 * Starts a server: listens, and calls `onClient(reader, writer)` in a new
 * task for each connection. TCP connections get `TCP_NODELAY`, as in
 * asyncio. asyncio: `asyncio.start_server()` and `start_unix_server()`.
 *
 * Permissions: `--allow-net=HOST` for TCP and TLS;
 * `--allow-net=unix:/abs/path --allow-read=/abs/path
 * --allow-write=/abs/path` for a Unix socket.
 *
 * @param onClient The handler; its promise settling closes the connection.
 * @param options Where to listen (`Deno.listen`'s options, or
 * `Deno.listenTls`'s with `cert` and `key`), the stream settings
 * (`limit`, `highWaterMark`, `lowWaterMark`) and the server's
 * (`startServing`, `maxConnections`, `closeIdleAtCap`, `idleTimeout`,
 * `tlsHandshakeTimeout`, `maxHandshakes`).
 * @returns The server, already accepting unless `startServing: false`.
 * @throws {TypeError} If `onClient` is not a function.
 * @throws {TypeError} Where the runtime has no `Deno.listen` (Node, Bun).
 * @throws {RangeError} If a setting is out of range.
 * @throws {InvalidStateError} If no loop is running.
 * @throws Deno's errors, for example `Deno.errors.AddrInUse`.
 *
 * @example An echo server and a client (needs --allow-net=127.0.0.1)
 * ```ts ignore
 * import { openConnection, run, startServer } from "@aio/asyncio";
 *
 * await run(async () => {
 *   await using server = await startServer(async (reader, writer) => {
 *     for await (const line of reader) {
 *       writer.write(line);
 *       await writer.drain();
 *     }
 *   }, { hostname: "127.0.0.1", port: 0 });
 *   const { port } = server.addr as Deno.NetAddr;
 *   const [reader, writer] = await openConnection({ hostname: "127.0.0.1", port });
 *   writer.write("hello\n");
 *   console.log(new TextDecoder().decode(await reader.readLine())); // hello
 *   writer.close();
 *   await writer.waitClosed();
 * });
 * ```
 */
export async function startServer(
  onClient: ClientConnectedCallback,
  options: StartServerOptions,
): Promise<Server> {
  if (typeof onClient !== "function") {
    throw new TypeError(
      `Cannot start server: expected onClient to be a function, got ${
        onClient === null ? "null" : typeof onClient
      }`,
    );
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot start server: expected an options object, got ${
        options === null ? "null" : typeof options
      }`,
    );
  }
  const {
    limit,
    highWaterMark,
    lowWaterMark,
    startServing,
    maxConnections,
    closeIdleAtCap,
    idleTimeout,
    tlsHandshakeTimeout,
    maxHandshakes,
    cleanupSocket,
    ...listenOptions
  } = options;
  serverSettings(options, false); // before anything is opened
  const tlsWanted = "cert" in listenOptions && "key" in listenOptions;
  requireDeno("start server", tlsWanted ? "listenTls" : "listen");
  getRunningLoop();
  let listener: Deno.Listener;
  let tls = false;
  if (tlsWanted) {
    listener = Deno.listenTls(listenOptions as TlsServerOptions);
    tls = true;
  } else if (listenOptions.transport === "unix") {
    removeStaleSocket(listenOptions.path);
    listener = Deno.listen(listenOptions as UnixServerOptions);
  } else {
    listener = Deno.listen(listenOptions as TcpServerOptions);
  }
  const server = new Server(listener, onClient, {
    limit,
    highWaterMark,
    lowWaterMark,
    maxConnections,
    closeIdleAtCap,
    idleTimeout,
    tlsHandshakeTimeout,
    maxHandshakes,
    cleanupSocket,
    startServing,
    tls,
  });
  return server;
}

/** A Unix socket's file: where, and which (device and inode). */
interface SocketFile {
  readonly path: string;
  readonly dev: number;
  readonly ino: number | null;
}

function socketFileOf(addr: Deno.Addr): SocketFile | undefined {
  if (addr.transport !== "unix" || !addr.path) return undefined;
  try {
    const info = Deno.lstatSync(addr.path);
    return { path: addr.path, dev: info.dev, ino: info.ino };
  } catch {
    return undefined; // gone, or not ours to read: nothing to protect
  }
}

/**
 * Hard-links the file at `file.path` aside if it must outlive the
 * listener's close: another file is there now, or `cleanup` is off.
 *
 * @returns The path it was linked to, or `undefined` if nothing to keep.
 */
function keepAside(file: SocketFile, cleanup: boolean): string | undefined {
  let now: Deno.FileInfo;
  try {
    now = Deno.lstatSync(file.path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const ours = now.dev === file.dev && now.ino === file.ino;
  if (ours && cleanup) return undefined;
  const aside = `${file.path}.kept`;
  Deno.linkSync(file.path, aside);
  return aside;
}

function removeStaleSocket(path: string): void {
  try {
    if (Deno.lstatSync(path).isSocket) Deno.removeSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function serverSettings(
  options: ServerOptions & { tls?: boolean },
  tls: boolean,
): Settings {
  checkStreamOptions(options);
  const closeIdleAtCap = flag("closeIdleAtCap", options.closeIdleAtCap);
  const cleanupSocket = flag("cleanupSocket", options.cleanupSocket);
  return {
    streams: {
      limit: options.limit,
      highWaterMark: options.highWaterMark,
      lowWaterMark: options.lowWaterMark,
    },
    maxConnections: count(
      "maxConnections",
      options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    ),
    closeIdleAtCap,
    idleTimeout: duration("idleTimeout", options.idleTimeout ?? Infinity),
    tlsHandshakeTimeout: duration(
      "tlsHandshakeTimeout",
      options.tlsHandshakeTimeout ?? DEFAULT_TLS_HANDSHAKE_TIMEOUT,
    ),
    maxHandshakes: count(
      "maxHandshakes",
      options.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES,
    ),
    cleanupSocket,
    tls: tls || options.tls === true,
  };
}

/** An optional boolean, `true` by default, checked. */
function flag(name: string, value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot start server: expected ${name} to be a boolean, got ${typeof value}`,
    );
  }
  return value;
}

/** A positive integer or Infinity, checked. */
function count(name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot start server: expected ${name} to be a number, got ${typeof value}`,
    );
  }
  if (!(value === Infinity || (Number.isSafeInteger(value) && value > 0))) {
    throw new RangeError(
      `Cannot start server: ${name} must be a positive integer or Infinity, got ${value}`,
    );
  }
  return value;
}

/** A duration in ms, > 0 (Infinity allowed), checked. */
function duration(name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot start server: expected ${name} to be a number, got ${typeof value}`,
    );
  }
  if (!(value > 0)) {
    throw new RangeError(
      `Cannot start server: ${name} must be > 0 ms, got ${value}`,
    );
  }
  return value;
}

/**
 * A listening server, from `startServer`. It accepts in a task of its own
 * (named after its address) and serves each client in another; cancelling
 * the accepting task (as `run` does at its end) closes the server.
 * `waitClosed()` returns once the server is closed and every connection
 * is gone, as in asyncio 3.12.1+. asyncio: `asyncio.Server`.
 *
 * @example Closing a server and its clients (needs --allow-net=127.0.0.1)
 * ```ts ignore
 * import { run, startServer } from "@aio/asyncio";
 *
 * await run(async () => {
 *   const server = await startServer(async (reader) => {
 *     await reader.read(); // until the client leaves, or closeClients()
 *   }, { hostname: "127.0.0.1", port: 0 });
 *   console.log("listening on", server.addr);
 *   server.close(); // stop accepting
 *   server.closeClients(); // end the connections
 *   await server.waitClosed();
 * });
 * ```
 */
export class Server implements AsyncDisposable {
  #loop: AbstractEventLoop;
  #listener: Deno.Listener | undefined;
  // A Unix listener's file as bound, to remove it only if it is still ours.
  #socketFile: SocketFile | undefined;
  #addr: Deno.Addr;
  #onClient: ClientConnectedCallback;
  #settings: Settings;
  #serving = false;
  #acceptTask: Task<void> | undefined = undefined;
  #acceptOp: Promise<void> | undefined = undefined;
  // Every connection whose descriptor is not released; those served; those
  // waiting for room (oldest first); how many were closed to make room and
  // are not released yet; how many TLS handshakes were given up.
  #clients = new Set<Client>();
  #served = new Set<Client>();
  #queue: Client[] = [];
  #evicting = 0;
  #givenUp = 0;
  #recheck: TimerHandle | undefined = undefined;
  // Resolved when the accept loop may accept again.
  #room: Future<void> | undefined = undefined;
  // Waiters for waitClosed(); undefined once closed with no connection
  // left (asyncio's `_waiters = None`).
  #waiters: Future<void>[] | undefined = [];
  #servingForever: Future<void> | undefined = undefined;
  // Rate-limited reports: when each kind may be reported next, and how
  // many were held back meanwhile.
  #reports = new Map<string, { next: number; held: number }>();

  /**
   * Serves the connections of an open listener; `startServer` is the
   * usual way. The server owns the listener from now on.
   *
   * @param listener A `Deno.Listener` (TCP, Unix or TLS).
   * @param onClient The handler, as for `startServer`.
   * @param options Stream and server settings; `tls: true` makes each
   * client finish its TLS handshake before `onClient` is called.
   * @throws {TypeError} If `onClient` is not a function.
   * @throws {RangeError} If a setting is out of range.
   * @throws {InvalidStateError} If no loop is running.
   */
  constructor(
    listener: Deno.Listener,
    onClient: ClientConnectedCallback,
    options?: ServerOptions & { tls?: boolean },
  ) {
    if (typeof onClient !== "function") {
      throw new TypeError(
        `Cannot create server: expected onClient to be a function, got ${
          onClient === null ? "null" : typeof onClient
        }`,
      );
    }
    this.#settings = serverSettings(options ?? {}, false);
    this.#loop = getRunningLoop();
    this.#listener = listener;
    this.#addr = listener.addr;
    this.#socketFile = socketFileOf(listener.addr);
    this.#onClient = onClient;
    if (options?.startServing !== false) this.#startServing();
  }

  /** The address the server listens on (`port` resolved when 0 was asked). */
  get addr(): Deno.Addr {
    return this.#addr;
  }

  /**
   * The loop the server runs on. asyncio: `Server.get_loop()`.
   *
   * @returns The loop.
   */
  getLoop(): AbstractEventLoop {
    return this.#loop;
  }

  /**
   * Whether the server accepts connections. asyncio: `is_serving()`.
   *
   * @returns `true` while accepting.
   */
  isServing(): boolean {
    return this.#serving;
  }

  /**
   * Starts accepting, if the server was created with
   * `startServing: false`. asyncio: `start_serving()`.
   *
   * @returns A promise that resolves on the next loop iteration.
   * @throws {InvalidStateError} If the server is closed.
   */
  async startServing(): Promise<void> {
    if (this.#listener === undefined) {
      throw new InvalidStateError("Cannot start serving: server is closed");
    }
    this.#startServing();
    await sleep(0);
  }

  /**
   * Accepts connections until the server is closed. If the task awaiting
   * it is cancelled, closes the server, waits for it to close and throws
   * `CancelledError`, as asyncio. Unlike asyncio, a `close()` from
   * elsewhere makes it return normally instead of throwing
   * `CancelledError` into a task nobody cancelled. asyncio:
   * `serve_forever()`.
   *
   * @returns A promise that resolves once the server is closed.
   * @throws {CancelledError} If the task is cancelled.
   * @throws {InvalidStateError} If the server is closed, or another
   * `serveForever()` is running.
   */
  async serveForever(): Promise<void> {
    if (this.#servingForever !== undefined) {
      throw new InvalidStateError(
        "Cannot serve forever: server is already being awaited on serveForever()",
      );
    }
    if (this.#listener === undefined) {
      throw new InvalidStateError("Cannot serve forever: server is closed");
    }
    this.#startServing();
    const forever = this.#loop.createFuture<void>();
    this.#servingForever = forever;
    try {
      await forever;
    } catch (error) {
      if (error instanceof CancelledError) {
        this.close();
        await this.waitClosed();
      }
      throw error;
    } finally {
      if (this.#servingForever === forever) this.#servingForever = undefined;
    }
  }

  /**
   * Stops accepting and closes the listener; the connections go on
   * (`closeClients()` or `abortClients()` end them). asyncio:
   * `Server.close()`.
   */
  close(): void {
    const listener = this.#listener;
    if (listener === undefined) return;
    this.#listener = undefined;
    this.#serving = false;
    this.#closeListener(listener);
    const task = this.#acceptTask;
    this.#acceptTask = undefined;
    if (task !== undefined && !task.done() && task !== currentTask()) {
      task.cancel();
    }
    const forever = this.#servingForever;
    this.#servingForever = undefined;
    if (forever !== undefined && !forever.done() && !this.#loop.isClosed()) {
      forever.setResult();
    }
    // Given-up handshakes were kept open to count them while accepting;
    // now close them (Deno still holds each socket until its peer leaves).
    for (const client of [...this.#clients]) {
      if (client.phase === "given up") client.writer.abort();
    }
    this.#maybeClosed();
  }

  /**
   * Closes the listener. Deno unlinks a Unix listener's path as it closes
   * it, whatever file is there by then; asyncio removes the file only if
   * it is still the socket it bound, and not at all with
   * `cleanup_socket=False`. So a file that must stay is hard-linked to
   * `PATH.kept` first and put back after: that needs read and write
   * permission for `PATH.kept`, and without it the loss is reported.
   */
  #closeListener(listener: Deno.Listener): void {
    const file = this.#socketFile;
    let aside: string | undefined;
    if (file !== undefined) {
      try {
        aside = keepAside(file, this.#settings.cleanupSocket);
      } catch (error) {
        this.#loop.callExceptionHandler({
          message: `Cannot keep the socket file ${file.path}: Deno removes ` +
            `it as the server closes, and putting it aside needs ` +
            `--allow-read and --allow-write for ${file.path}.kept`,
          exception: error,
          server: this,
        });
      }
    }
    try {
      listener.close();
    } catch {
      // Already closed.
    }
    if (aside !== undefined) {
      try {
        Deno.renameSync(aside, file!.path);
      } catch (error) {
        this.#loop.callExceptionHandler({
          message: `Cannot put the socket file ${
            file!.path
          } back from ${aside}`,
          exception: error,
          server: this,
        });
      }
    }
  }

  /**
   * Closes every connection, after sending what is buffered for it; the
   * handlers' reads see the end of the stream. asyncio (3.13):
   * `close_clients()`.
   */
  closeClients(): void {
    for (const client of [...this.#clients]) this.#end(client, false);
  }

  /**
   * Closes every connection at once, dropping what is buffered. asyncio
   * (3.13): `abort_clients()`.
   */
  abortClients(): void {
    for (const client of [...this.#clients]) this.#end(client, true);
  }

  /**
   * Waits until the server is closed and every connection is gone (as in
   * asyncio 3.12.1+: not only the listener). asyncio: `wait_closed()`.
   *
   * @returns A promise that resolves then.
   * @throws {CancelledError} If the task is cancelled while waiting.
   */
  async waitClosed(): Promise<void> {
    const waiters = this.#waiters;
    if (waiters === undefined) return;
    const waiter = this.#loop.createFuture<void>();
    waiters.push(waiter);
    try {
      await waiter;
    } finally {
      const i = waiters.indexOf(waiter);
      if (i >= 0) waiters.splice(i, 1);
    }
  }

  /** For `await using`: `close()`, then `waitClosed()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }

  /** A description for logs. */
  toString(): string {
    return `<Server ${describeAddr(this.#addr)}${
      this.#serving ? " serving" : this.#listener ? "" : " closed"
    } clients=${this.#clients.size}>`;
  }

  #startServing(): void {
    const listener = this.#listener;
    if (this.#serving || listener === undefined) return;
    this.#serving = true;
    this.#acceptTask = this.#loop.createTask(
      () => this.#acceptLoop(listener),
      { name: `Server ${describeAddr(this.#addr)}` },
    );
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    try {
      while (this.#listener === listener) {
        if (!this.#roomToAccept()) {
          if (this.#settings.tls) {
            // Timed-out handshakes count until Deno releases their sockets.
            this.#report("handshakes", {
              message:
                `Server at maxHandshakes (${this.#settings.maxHandshakes}): accepting paused`,
              timedOut: this.#givenUp,
              server: this,
            });
          }
          this.#room = this.#loop.createFuture<void>();
          await this.#room;
          continue;
        }
        let conn: Deno.Conn;
        const accepting = this.#accept(listener);
        try {
          conn = await accepting;
        } catch (error) {
          if (error instanceof CancelledError) {
            // Accepted, but the cancellation came first: do not leak it.
            if (
              accepting.done() && !accepting.cancelled() &&
              accepting.exception() === undefined
            ) {
              discard(accepting.result());
            }
            throw error;
          }
          if (this.#listener !== listener) return;
          if (error instanceof Deno.errors.BadResource) {
            // The listener was closed under us: nothing more to accept.
            this.#loop.callExceptionHandler({
              message: "Cannot accept connection: the listener is closed",
              exception: error,
              server: this,
            });
            return;
          }
          if (isExhaustion(error)) {
            // Out of descriptors or memory: tell, pause, retry (asyncio).
            this.#report("exhausted", {
              message: `Cannot accept connection: retrying in ${
                ACCEPT_RETRY_DELAY / 1000
              } s`,
              exception: error,
              server: this,
            });
            await sleep(ACCEPT_RETRY_DELAY);
          } else if (!isConnectionError(error)) {
            // Unknown, so reported; but it concerns one connection as far
            // as we know, so the next is accepted at once.
            this.#report("accept", {
              message: "Cannot accept connection: skipped",
              exception: error,
              server: this,
            });
          }
          // A connection reset or aborted before we took it is skipped
          // silently and at once, as asyncio does.
          continue;
        }
        this.#attach(conn);
      }
    } finally {
      // Cancelled from outside (say, at the end of run()): close.
      if (this.#listener === listener) this.close();
      // Deno releases the socket once the pending accept settles, which
      // closing makes it do at once: end only then, so that run() returns
      // with the port free.
      await this.#acceptOp;
    }
  }

  /** One accept, through a Future; a connection accepted too late is closed. */
  #accept(listener: Deno.Listener): Future<Deno.Conn> {
    const loop = this.#loop;
    const future = loop.createFuture<Deno.Conn>();
    labelFuture(future, {
      [DESCRIBE]: () => `Server.accept() on ${describeAddr(this.#addr)}`,
    });
    this.#acceptOp = listener.accept().then(
      (conn) => {
        this.#acceptOp = undefined;
        if (future.done() || loop.isClosed()) discard(conn);
        else future.setResult(conn);
        this.#maybeClosed();
      },
      (error) => {
        this.#acceptOp = undefined;
        if (!future.done() && !loop.isClosed()) future.setException(error);
        this.#maybeClosed();
      },
    );
    return future;
  }

  /**
   * Whether the accept loop may accept: fewer TLS connections than
   * `maxHandshakes` are unserved, or, for plain connections, none waits
   * for room (so that at most one is held beyond `maxConnections`).
   */
  #roomToAccept(): boolean {
    const unserved = this.#clients.size - this.#served.size;
    return unserved < (this.#settings.tls ? this.#settings.maxHandshakes : 1);
  }

  #wakeAcceptLoop(): void {
    const room = this.#room;
    if (room === undefined || !this.#roomToAccept()) return;
    this.#room = undefined;
    if (!room.done() && !this.#loop.isClosed()) room.setResult();
  }

  #attach(conn: Deno.Conn): void {
    const loop = this.#loop;
    const endpoint = new Endpoint(conn, () => loop.time());
    const [reader, writer] = streamsOver(
      conn,
      this.#settings.streams,
      endpoint,
    );
    const peer = describeAddr(writer.getExtraInfo<Deno.Addr>("peername"));
    const tls = this.#settings.tls && isTls(conn);
    const client: Client = {
      writer,
      endpoint,
      peer,
      holds: tls ? 2 : 1,
      phase: tls ? "handshake" : "waiting",
      handshaking: tls,
      wait: undefined,
      evicted: false,
      idleTimer: undefined,
    };
    this.#clients.add(client);
    writerHooks.onClosed(writer, () => this.#release(client));
    if (tls) this.#handshake(client, conn as Deno.TlsConn);
    else if (this.#hasRoom()) this.#serveNow(client);
    const task = loop.createTask(
      () => this.#serve(client, reader, writer),
      { name: `Client ${peer}` },
    );
    task.addDoneCallback((done) => {
      if (done.cancelled()) {
        this.#end(client, false);
        return;
      }
      const error = done.exception();
      if (error !== undefined) {
        loop.callExceptionHandler({
          message: "Unhandled exception in client handler (onClient)",
          exception: error,
          peername: peer,
          future: done,
        });
        writer.close();
      } else if (done.result()) {
        writer.close();
      }
    });
  }

  /**
   * Starts the TLS handshake at once (so that its settling is seen even
   * if the client's task is cancelled meanwhile); the slot it holds is
   * released only once the handshake settles, when Deno can release its
   * socket.
   */
  #handshake(client: Client, conn: Deno.TlsConn): void {
    const loop = this.#loop;
    const done = loop.createFuture<void>();
    client.wait = done;
    conn.handshake().then(
      () => {
        if (!done.done() && !loop.isClosed()) done.setResult();
      },
      (error) => {
        if (!done.done() && !loop.isClosed()) done.setException(error);
      },
    ).finally(() => {
      client.handshaking = false;
      // Given up: now that the handshake settled, closing frees it.
      if (client.phase === "given up") client.writer.abort();
      this.#release(client);
    });
  }

  /** Runs the handler; resolves to whether the connection closes now. */
  async #serve(
    client: Client,
    reader: StreamReader,
    writer: StreamWriter,
  ): Promise<boolean> {
    if (client.phase === "handshake") {
      if (!(await this.#handshaken(client))) return false;
    }
    if (client.phase === "waiting") await this.#admit(client);
    const result = this.#onClient(reader, writer);
    if (
      result === null ||
      (typeof result !== "object" && typeof result !== "function") ||
      typeof (result as PromiseLike<unknown>).then !== "function"
    ) {
      return false;
    }
    await result;
    return true;
  }

  /** Waits for the handshake, or its timeout; resolves to whether it is done. */
  async #handshaken(client: Client): Promise<boolean> {
    const loop = this.#loop;
    const done = client.wait!;
    const ms = this.#settings.tlsHandshakeTimeout;
    const timer = loop.callLater(ms, () => {
      if (!done.done()) {
        done.setException(
          new TimeoutError(`TLS handshake timed out after ${ms} ms`),
        );
      }
    });
    try {
      await done;
      client.phase = "waiting";
      return true;
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      // A failed handshake never reaches the handler (asyncio logs it in
      // debug mode only).
      if (loop.getDebug()) {
        loop.callExceptionHandler({
          message: "TLS handshake failed",
          exception: error,
          peername: client.peer,
        });
      }
      if (client.phase === "handshake") this.#end(client, true);
      return false;
    } finally {
      timer.cancel();
      client.wait = undefined;
    }
  }

  /** Waits for room under maxConnections, then marks the client served. */
  async #admit(client: Client): Promise<void> {
    if (this.#hasRoom()) {
      this.#serveNow(client);
      return;
    }
    const admission = this.#loop.createFuture<void>();
    client.wait = admission;
    this.#queue.push(client);
    this.#makeRoom();
    try {
      await admission;
    } finally {
      client.wait = undefined;
      const i = this.#queue.indexOf(client);
      if (i >= 0) this.#queue.splice(i, 1);
    }
  }

  /** Whether a client may be served now, ahead of nobody. */
  #hasRoom(): boolean {
    return this.#queue.length === 0 &&
      this.#served.size < this.#settings.maxConnections;
  }

  #serveNow(client: Client): void {
    client.phase = "served";
    this.#served.add(client);
    const admission = client.wait;
    if (admission !== undefined && !admission.done()) admission.setResult();
    const ms = this.#settings.idleTimeout;
    if (ms !== Infinity) this.#watchIdle(client, ms);
    this.#wakeAcceptLoop();
  }

  /**
   * Serves the waiting clients as room frees up; at the cap, closes the
   * connection idle longest for each client still waiting (unless
   * `closeIdleAtCap` is off), and says so, at most every 10 s.
   */
  #makeRoom(): void {
    if (this.#loop.isClosed()) return;
    const { maxConnections, closeIdleAtCap } = this.#settings;
    while (this.#queue.length > 0 && this.#served.size < maxConnections) {
      this.#serveNow(this.#queue.shift()!);
    }
    if (this.#queue.length === 0) {
      this.#recheck?.cancel();
      this.#recheck = undefined;
      return;
    }
    let needed = this.#queue.length - this.#evicting;
    const now = this.#loop.time();
    while (needed > 0 && closeIdleAtCap) {
      const idlest = this.#idlest(now);
      if (idlest === undefined) break;
      idlest.evicted = true;
      this.#evicting++;
      needed--;
      this.#report("full", {
        message:
          `Server at maxConnections (${maxConnections}): closing the connection idle longest to make room`,
        peername: idlest.peer,
        idle: idlest.endpoint.idleFor(now),
        server: this,
      });
      idlest.writer.abort();
    }
    if (needed <= 0) return;
    this.#report("full", {
      message:
        `Server at maxConnections (${maxConnections}): new connections wait${
          closeIdleAtCap ? "; none is idle" : ""
        }`,
      waiting: this.#queue.length,
      server: this,
    });
    // A connection may turn idle without any event here: look again.
    if (closeIdleAtCap && this.#recheck === undefined) {
      this.#recheck = this.#loop.callLater(ROOM_RECHECK_DELAY, () => {
        this.#recheck = undefined;
        this.#makeRoom();
      });
    }
  }

  /** The served connection idle longest that closing would free. */
  #idlest(now: number): Client | undefined {
    let idlest: Client | undefined;
    let longest = -1;
    for (const client of this.#served) {
      if (client.evicted || !this.#closable(client)) continue;
      const endpoint = client.endpoint;
      if (!endpoint.waiting) continue;
      const idle = endpoint.idleFor(now);
      if (idle > longest) {
        longest = idle;
        idlest = client;
      }
    }
    return idlest;
  }

  /**
   * Whether closing a connection now releases its socket. Deno keeps the
   * socket of a TLS connection closed while a write waits on the peer
   * until the peer reads or leaves, out of our sight: such a connection
   * keeps its slot, so that the cap bounds what is really open.
   */
  #closable(client: Client): boolean {
    return !client.writer.isClosing() &&
      !(client.endpoint.tls && client.endpoint.writing);
  }

  /** Closes a served connection once it has been idle `ms`. */
  #watchIdle(client: Client, ms: number): void {
    client.idleTimer = this.#loop.callLater(ms, () => {
      client.idleTimer = undefined;
      if (client.phase !== "served" || client.writer.isClosing()) return;
      const endpoint = client.endpoint;
      const idle = endpoint.waiting ? endpoint.idleFor(this.#loop.time()) : 0;
      if (idle < ms || !this.#closable(client)) {
        this.#watchIdle(client, idle > 0 && idle < ms ? ms - idle : ms);
        return;
      }
      if (this.#loop.getDebug()) {
        this.#loop.callExceptionHandler({
          message: `Closing connection idle for ${idle} ms (idleTimeout)`,
          peername: client.peer,
          server: this,
        });
      }
      client.writer.abort();
    });
  }

  /**
   * Ends a connection for closeClients() (gracefully) or abortClients():
   * a TLS handshake in progress is given up instead; Deno would keep its
   * socket anyway.
   */
  #end(client: Client, abort: boolean): void {
    if (client.phase === "handshake") this.#giveUp(client);
    else if (client.phase === "given up") return;
    else if (abort) client.writer.abort();
    else client.writer.close();
  }

  /**
   * The client will never be served. If its handshake is still pending and
   * the server accepts, it stays open and keeps its slot until the
   * handshake settles (closing it now would not release its socket, and
   * would hide when Deno does); otherwise it is closed.
   */
  #giveUp(client: Client): void {
    client.wait?.cancel();
    client.phase = "given up";
    this.#givenUp++;
    if (!client.handshaking || this.#listener === undefined) {
      client.writer.abort();
    }
  }

  #release(client: Client): void {
    if (--client.holds === 0) this.#detach(client);
  }

  #detach(client: Client): void {
    this.#clients.delete(client);
    client.idleTimer?.cancel();
    client.idleTimer = undefined;
    if (client.phase === "given up") this.#givenUp--;
    if (client.evicted) this.#evicting--;
    // A client still waiting for room is gone: its task ends, cancelled.
    client.wait?.cancel();
    const i = this.#queue.indexOf(client);
    if (i >= 0) this.#queue.splice(i, 1);
    if (this.#served.delete(client) || this.#queue.length > 0) {
      this.#makeRoom();
    }
    this.#wakeAcceptLoop();
    this.#maybeClosed();
  }

  /**
   * Reports through the loop's exception handler at most once per
   * REPORT_INTERVAL for each `kind`, saying how many were held back.
   */
  #report(kind: string, context: ExceptionContext): void {
    if (this.#loop.isClosed()) return;
    const now = this.#loop.time();
    const state = this.#reports.get(kind);
    if (state !== undefined && now < state.next) {
      state.held++;
      return;
    }
    const held = state?.held ?? 0;
    this.#reports.set(kind, { next: now + REPORT_INTERVAL, held: 0 });
    this.#loop.callExceptionHandler(
      held === 0 ? context : {
        ...context,
        message:
          `${context.message} (${held} more like it since the last report)`,
      },
    );
  }

  /** Wakes waitClosed() once closed, with no connection and no accept left. */
  #maybeClosed(): void {
    if (
      this.#listener !== undefined || this.#clients.size > 0 ||
      this.#acceptOp !== undefined
    ) {
      return;
    }
    const waiters = this.#waiters;
    if (waiters === undefined) return;
    this.#waiters = undefined;
    for (const waiter of waiters) {
      if (!waiter.done() && !waiter.getLoop().isClosed()) waiter.setResult();
    }
  }
}

/** Whether an accept error means the process is out of something. */
function isExhaustion(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string") return EXHAUSTED_CODES.has(code);
  return error instanceof Error && EXHAUSTED_ERRNOS.test(error.message);
}

/**
 * Whether an accept error concerns only the connection being accepted: it
 * was reset or aborted before we took it (Linux reports ENOTCONN then).
 */
function isConnectionError(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected;
}
