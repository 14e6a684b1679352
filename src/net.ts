/**
 * `openConnection`: a StreamReader/StreamWriter pair over `Deno.connect`
 * (TCP or a Unix socket) or `Deno.connectTls`, as asyncio's
 * `open_connection` and `open_unix_connection`.
 *
 * @module
 */
import { requireDeno } from "./_deno.ts";
import { checkStreamOptions, discard, streamsOver } from "./_conn.ts";
import { describe } from "./_describe.ts";
import { held } from "./_held.ts";
import { CancelledError, TimeoutError } from "./errors.ts";
import {
  type AbstractEventLoop,
  getRunningLoop,
} from "./abstract_event_loop.ts";
import { currentTask } from "./tasks.ts";
import type { StreamReader } from "./stream_reader.ts";
import type { StreamOptions, StreamWriter } from "./stream_writer.ts";

/** `openConnection` options for TCP: `Deno.connect`'s, and the streams'. */
export type TcpConnectionOptions = Deno.ConnectOptions & StreamOptions & {
  /** Plain TCP. */
  tls?: false;
};

/** `openConnection` options for a Unix socket: `Deno.connect`'s. */
export type UnixConnectionOptions =
  & Deno.UnixConnectOptions
  & StreamOptions
  & {
    /** Unix sockets are not encrypted here. */
    tls?: false;
  };

/**
 * `openConnection` options for TLS: `Deno.connectTls`'s (`caCerts`,
 * `alpnProtocols`, and `cert`/`key` for client certificates), with
 * `tls: true`.
 */
export type TlsConnectionOptions =
  & Deno.ConnectTlsOptions
  & Partial<Deno.TlsCertifiedKeyPem>
  & StreamOptions
  & {
    /** Connect with `Deno.connectTls` and finish the handshake first. */
    tls: true;
    /**
     * Milliseconds the TLS handshake may take before `openConnection`
     * gives up with `TimeoutError`: 60 000 by default, as asyncio's
     * `ssl_handshake_timeout`; `Infinity` for none.
     */
    tlsHandshakeTimeout?: number;
  };

/** What `openConnection` takes. */
export type OpenConnectionOptions =
  | TcpConnectionOptions
  | UnixConnectionOptions
  | TlsConnectionOptions;

/**
 * Connects and returns the connection's reader and writer. For TLS, the
 * handshake is finished before it returns, so a bad certificate fails
 * here, and a server that does not answer fails it after
 * `tlsHandshakeTimeout` (60 s by default, as asyncio). Cancelling the
 * task while it connects throws `CancelledError`: a TCP connect is
 * aborted, a connection that completes later is closed at once. TCP
 * connections get `TCP_NODELAY`, as in asyncio. asyncio:
 * `asyncio.open_connection()` and `open_unix_connection()`.
 *
 * What Deno does not let this function close: the socket of a TLS
 * connection given up during its handshake (cancelled, timed out). The
 * connection is closed and the error thrown at once, but Deno 2.9 keeps
 * the TCP socket open until the server answers or closes it. With client
 * certificates (`cert`, `key`), the TCP connect itself cannot be aborted
 * either: it goes on in Deno, and its connection is closed when it comes.
 *
 * Permissions: `--allow-net=HOST` for TCP and TLS;
 * `--allow-net=unix:/abs/path --allow-read=/abs/path` for a Unix socket.
 *
 * @param options Where to connect (`Deno.connect`'s options, or
 * `Deno.connectTls`'s with `tls: true` and `tlsHandshakeTimeout`) and the
 * stream settings (`limit`, `highWaterMark`, `lowWaterMark`).
 * @returns `[reader, writer]`.
 * @throws {CancelledError} If the task is cancelled meanwhile.
 * @throws {TimeoutError} If the TLS handshake takes longer than
 * `tlsHandshakeTimeout`.
 * @throws {RangeError} If a stream setting is out of range, or
 * `tlsHandshakeTimeout` is not a number > 0.
 * @throws {TypeError} If `options` is not an object, or
 * `tlsHandshakeTimeout` is given without `tls: true`.
 * @throws {TypeError} Where the runtime has no `Deno.connect` (Node, Bun).
 * @throws {InvalidStateError} If no loop is running.
 * @throws Deno's connection errors, for example
 * `Deno.errors.ConnectionRefused`, or TLS errors (`InvalidData`).
 *
 * @example An HTTP/1.0 request by hand (needs --allow-net)
 * ```ts ignore
 * import { openConnection, run } from "@aio/asyncio";
 *
 * await run(async () => {
 *   const [reader, writer] = await openConnection({
 *     hostname: "example.com",
 *     port: 443,
 *     tls: true,
 *   });
 *   writer.write("GET / HTTP/1.0\r\nHost: example.com\r\n\r\n");
 *   console.log(new TextDecoder().decode(await reader.readLine()));
 *   writer.close();
 *   await writer.waitClosed();
 * });
 * ```
 */
export async function openConnection(
  options: OpenConnectionOptions,
): Promise<[StreamReader, StreamWriter]> {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot open connection: expected an options object, got ${
        describe(options)
      }`,
    );
  }
  checkStreamOptions(options);
  const {
    limit: _l,
    highWaterMark: _h,
    lowWaterMark: _w,
    tls,
    tlsHandshakeTimeout,
    ...target
  } = options as TlsConnectionOptions;
  if (tls !== true && tlsHandshakeTimeout !== undefined) {
    throw new TypeError(
      "Cannot open connection: tlsHandshakeTimeout is only meaningful with tls: true",
    );
  }
  const handshakeTimeout = tlsHandshakeTimeout ??
    DEFAULT_TLS_HANDSHAKE_TIMEOUT;
  if (typeof handshakeTimeout !== "number" || !(handshakeTimeout > 0)) {
    throw new RangeError(
      `Cannot open connection: tlsHandshakeTimeout must be a number of milliseconds > 0, got ${
        typeof handshakeTimeout === "number"
          ? handshakeTimeout
          : typeof handshakeTimeout
      }`,
    );
  }
  requireDeno("open connection", tls === true ? "connectTls" : "connect");
  const loop = getRunningLoop();
  const conn = tls === true
    ? await connectTls(loop, target, handshakeTimeout)
    : await connect(loop, target as Deno.ConnectOptions);
  return streamsOver(conn, options);
}

/** asyncio's `SSL_HANDSHAKE_TIMEOUT`, in milliseconds. */
const DEFAULT_TLS_HANDSHAKE_TIMEOUT = 60_000;

/**
 * `Deno.connect`. A TCP connect takes a signal, so a cancel aborts it and
 * waits for it to settle (a connect to a full backlog or a silent host
 * would otherwise go on for minutes). A Unix socket connect never blocks:
 * Deno fails it at once (`WouldBlock`) when the backlog is full.
 */
function connect(
  loop: AbstractEventLoop,
  options: Deno.ConnectOptions | Deno.UnixConnectOptions,
): Promise<Deno.Conn> {
  if (options.transport === "unix") {
    return held(loop, () => Deno.connect(options), { dispose: discard });
  }
  return held(loop, (signal) => Deno.connect({ ...options, signal }), {
    dispose: discard,
    settleOnCancel: true,
  });
}

/**
 * A TLS connection, handshake done. Deno leaves Nagle's algorithm on for
 * TLS connections and offers no `setNoDelay` on them, which delays the
 * client's last handshake message (and any second small write) by the
 * peer's delayed ACK, about 40 ms; so connect over TCP, set
 * `TCP_NODELAY`, then start TLS. Client certificates need
 * `Deno.connectTls` itself, whose TCP connect takes no signal.
 */
async function connectTls(
  loop: AbstractEventLoop,
  options: Omit<TlsConnectionOptions, "tls" | "tlsHandshakeTimeout">,
  handshakeTimeout: number,
): Promise<Deno.Conn> {
  let conn: Deno.TlsConn;
  if (options.cert !== undefined || options.key !== undefined) {
    conn = await held(
      loop,
      () => Deno.connectTls(options as Deno.ConnectTlsOptions),
      { dispose: discard },
    );
  } else {
    const {
      caCerts,
      alpnProtocols,
      unsafelyDisableHostnameVerification,
      ...tcpOptions
    } = options;
    const tcp = await connect(loop, tcpOptions) as Deno.TcpConn;
    try {
      tcp.setNoDelay(true);
    } catch {
      // The peer is gone already; starting TLS will say so.
    }
    try {
      conn = await held(
        loop,
        () =>
          Deno.startTls(tcp, {
            hostname: options.hostname,
            caCerts,
            alpnProtocols,
            unsafelyDisableHostnameVerification,
          }),
        { dispose: discard },
      );
    } catch (error) {
      discard(tcp);
      throw error;
    }
  }
  await handshake(loop, conn, handshakeTimeout);
  return conn;
}

/**
 * Runs the client handshake, closing the connection if it fails, times
 * out or is cancelled. The wait does not hold a virtual clock: it waits
 * on the peer.
 *
 * Deno 2.9 cannot close a socket whose handshake is under way: closing
 * the `TlsConn` ends `handshake()` at once, but its TLS layer keeps the
 * TCP socket until the handshake ends, that is until the peer answers or
 * closes (or the OS gives up on it). Nothing in Deno's API reaches it.
 */
async function handshake(
  loop: AbstractEventLoop,
  conn: Deno.TlsConn,
  ms: number,
): Promise<void> {
  const done = loop.createFuture<void>();
  const settle = (error?: unknown) => {
    if (done.done() || loop.isClosed()) return;
    if (error === undefined) done.setResult();
    else done.setException(error);
  };
  const pending = conn.handshake().then(() => settle(), settle);
  const task = currentTask();
  const cancelling = task?.cancelling() ?? 0;
  let expired = false;
  const timer = ms === Infinity ? undefined : loop.callLater(ms, () => {
    expired = true;
    done.cancel();
  });
  try {
    await done;
  } catch (error) {
    timer?.cancel();
    discard(conn);
    // Let the handshake see the close, so no operation outlives us.
    await pending;
    if (
      expired && error instanceof CancelledError &&
      (task?.cancelling() ?? 0) <= cancelling
    ) {
      throw new TimeoutError(
        `Cannot open connection: TLS handshake timed out after ${ms} ms`,
      );
    }
    throw error;
  } finally {
    timer?.cancel();
  }
}
