/**
 * The glue between a `Deno.Conn` and a StreamReader/StreamWriter pair,
 * shared by `openConnection` and `Server`.
 */
import {
  type ByteSink,
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
  const reader = new StreamReader({ limit: options.limit, source: conn });
  const writer = new StreamWriter(conn, {
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
