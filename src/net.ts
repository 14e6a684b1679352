/**
 * `openConnection`: a StreamReader/StreamWriter pair over `Deno.connect`
 * (TCP or a Unix socket) or `Deno.connectTls`, as asyncio's
 * `open_connection` and `open_unix_connection`.
 *
 * @module
 */
import { checkStreamOptions, discard, streamsOver } from "./_conn.ts";
import { held } from "./_held.ts";
import { CancelledError } from "./errors.ts";
import { type AbstractEventLoop, getRunningLoop } from "./events.ts";
import type { StreamOptions, StreamReader, StreamWriter } from "./streams.ts";

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
  };

/** What `openConnection` takes. */
export type OpenConnectionOptions =
  | TcpConnectionOptions
  | UnixConnectionOptions
  | TlsConnectionOptions;

/**
 * Connects and returns the connection's reader and writer. For TLS, the
 * handshake is finished before it returns, so a bad certificate fails
 * here. Cancelling the task while it connects throws `CancelledError`; a
 * connection that completes later is closed at once. TCP connections get
 * `TCP_NODELAY`, as in asyncio. asyncio: `asyncio.open_connection()` and
 * `open_unix_connection()`.
 *
 * Permissions: `--allow-net=HOST` for TCP and TLS;
 * `--allow-net=unix:/abs/path --allow-read=/abs/path` for a Unix socket.
 *
 * @param options Where to connect (`Deno.connect`'s options, or
 * `Deno.connectTls`'s with `tls: true`) and the stream settings (`limit`,
 * `highWaterMark`, `lowWaterMark`).
 * @returns `[reader, writer]`.
 * @throws {CancelledError} If the task is cancelled meanwhile.
 * @throws {RangeError} If a stream setting is out of range.
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
        options === null ? "null" : typeof options
      }`,
    );
  }
  checkStreamOptions(options);
  const loop = getRunningLoop();
  const { limit: _l, highWaterMark: _h, lowWaterMark: _w, tls, ...target } =
    options;
  const conn = tls === true
    ? await connectTls(loop, target as TlsConnectionOptions)
    : await held(
      loop,
      () => Deno.connect(target as Deno.ConnectOptions),
      { dispose: discard },
    );
  if (tls === true) {
    const tlsConn = conn as Deno.TlsConn;
    let handshake: Promise<unknown> | undefined;
    try {
      await held(loop, () => handshake = tlsConn.handshake(), {});
    } catch (error) {
      discard(conn);
      // Let the handshake see the close, so no operation outlives us.
      if (error instanceof CancelledError) await handshake?.catch(() => {});
      throw error;
    }
  }
  return streamsOver(conn, options);
}

/**
 * A TLS connection. Deno leaves Nagle's algorithm on for TLS connections
 * and offers no `setNoDelay` on them, which delays the client's last
 * handshake message (and any second small write) by the peer's delayed
 * ACK, about 40 ms; so connect over TCP, set `TCP_NODELAY`, then start
 * TLS. Client certificates need `Deno.connectTls` itself.
 */
async function connectTls(
  loop: AbstractEventLoop,
  options: Omit<TlsConnectionOptions, "tls">,
): Promise<Deno.Conn> {
  if (options.cert !== undefined || options.key !== undefined) {
    return await held(
      loop,
      () => Deno.connectTls(options as Deno.ConnectTlsOptions),
      { dispose: discard },
    );
  }
  const {
    caCerts,
    alpnProtocols,
    unsafelyDisableHostnameVerification,
    ...tcpOptions
  } = options;
  const tcp = await held(loop, () => Deno.connect(tcpOptions), {
    dispose: discard,
  });
  try {
    tcp.setNoDelay(true);
  } catch {
    // The peer is gone already; starting TLS will say so.
  }
  try {
    return await held(
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
