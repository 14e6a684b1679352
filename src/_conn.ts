/**
 * The glue between a `Deno.Conn` and a StreamReader/StreamWriter pair,
 * shared by `openConnection` and `Server`.
 */
import {
  type ByteSink,
  type ByteSource,
  type StreamOptions,
  StreamReader,
  StreamWriter,
} from "./streams.ts";

const NULL_SINK: ByteSink = { write: (data) => Promise.resolve(data.length) };

/**
 * Throws what the reader and writer constructors would, before anything
 * is opened.
 *
 * @param options The stream options.
 */
export function checkStreamOptions(options: StreamOptions): void {
  new StreamReader({ limit: options.limit });
  new StreamWriter(NULL_SINK, {
    highWaterMark: options.highWaterMark,
    lowWaterMark: options.lowWaterMark,
  });
}

/**
 * The reader and writer of a connection. TCP connections get
 * `TCP_NODELAY`, as asyncio sets it: Deno leaves Nagle's algorithm on,
 * which delays small request/response exchanges by tens of milliseconds.
 *
 * @param conn The connection.
 * @param options The stream options.
 * @returns The pair, sharing the connection.
 */
export function streamsOver(
  conn: Deno.Conn,
  options: StreamOptions,
): [StreamReader, StreamWriter] {
  const tcp = conn as Partial<Deno.TcpConn>;
  if (typeof tcp.setNoDelay === "function") {
    try {
      tcp.setNoDelay(true);
    } catch {
      // The peer is gone already; the first read or write will say so.
    }
  }
  const endpoint = "handshake" in conn
    ? tlsEndpoint(conn as Deno.TlsConn)
    : conn;
  const reader = new StreamReader({ limit: options.limit, source: endpoint });
  const writer = new StreamWriter(endpoint, {
    reader,
    highWaterMark: options.highWaterMark,
    lowWaterMark: options.lowWaterMark,
    extraInfo: {
      peername: addressOf(conn, "remoteAddr"),
      sockname: addressOf(conn, "localAddr"),
      conn,
    },
  });
  return [reader, writer];
}

/**
 * A TLS connection as one source and sink, reading a peer's close without
 * `close_notify` as the end of the stream. Deno reports that as
 * `UnexpectedEof`; asyncio's SSL protocol hands the reader a plain EOF, and
 * so do we: Python's `ssl` sockets and many other clients close this way,
 * and a truncation the application cares about shows in its own framing
 * (a short `readExactly`, a missing line end).
 */
function tlsEndpoint(conn: Deno.TlsConn): ByteSource & ByteSink {
  return {
    read: async (buffer) => {
      try {
        return await conn.read(buffer);
      } catch (error) {
        if (error instanceof Deno.errors.UnexpectedEof) return null;
        throw error;
      }
    },
    write: (data) => conn.write(data),
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
  };
}

function addressOf(
  conn: Deno.Conn,
  key: "remoteAddr" | "localAddr",
): Deno.Addr | undefined {
  try {
    return conn[key];
  } catch {
    return undefined;
  }
}

/**
 * Closes a connection nobody will use, ignoring a second close.
 *
 * @param conn The connection.
 */
export function discard(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * `host:port` or the socket path, for names and messages.
 *
 * @param addr An address.
 * @returns A short description.
 */
export function describeAddr(addr: Deno.Addr | undefined): string {
  if (addr === undefined) return "unknown";
  if (addr.transport === "vsock") return `vsock:${addr.cid}:${addr.port}`;
  if (!("hostname" in addr)) return addr.path ?? "unix socket";
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  return `${host}:${addr.port}`;
}
