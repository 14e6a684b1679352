/**
 * The glue between a `Deno.Conn` and a StreamReader/StreamWriter pair,
 * shared by `openConnection` and `Server`.
 */
import { type ByteSource, StreamReader } from "./stream_reader.ts";
import {
  type ByteSink,
  type StreamOptions,
  StreamWriter,
} from "./stream_writer.ts";

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
 * @param endpoint What the streams read and write through; by default the
 * connection itself, or an `Endpoint` for TLS.
 * @returns The pair, sharing the connection.
 */
export function streamsOver(
  conn: Deno.Conn,
  options: StreamOptions,
  endpoint: ByteSource & ByteSink = isTls(conn) ? new Endpoint(conn) : conn,
): [StreamReader, StreamWriter] {
  const tcp = conn as Partial<Deno.TcpConn>;
  if (typeof tcp.setNoDelay === "function") {
    try {
      tcp.setNoDelay(true);
    } catch {
      // The peer is gone already; the first read or write will say so.
    }
  }
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
 * Whether a connection is a `Deno.TlsConn`.
 *
 * @param conn The connection.
 * @returns `true` for TLS.
 */
export function isTls(conn: Deno.Conn): conn is Deno.TlsConn {
  return typeof (conn as Partial<Deno.TlsConn>).handshake === "function";
}

/**
 * A connection as one source and sink for its reader and writer, which
 * notes when the connection last made progress, so that a server can tell
 * how long it has been waiting on its peer.
 *
 * On TLS, a peer's close without `close_notify` is the end of the stream.
 * Deno reports it as `UnexpectedEof`; asyncio's SSL protocol hands the
 * reader a plain EOF, and so do we: Python's `ssl` sockets and many other
 * clients close this way, and a truncation the application cares about
 * shows in its own framing (a short `readExactly`, a missing line end).
 */
export class Endpoint implements ByteSource, ByteSink {
  readonly #conn: Deno.Conn;
  readonly #tls: boolean;
  readonly #time: (() => number) | undefined;
  #reading = false;
  #writing = false;
  #since = 0;

  /**
   * @param conn The connection.
   * @param time A clock in ms for `idleFor`; without it, nothing is noted.
   */
  constructor(conn: Deno.Conn, time?: () => number) {
    this.#conn = conn;
    this.#tls = isTls(conn);
    this.#time = time;
    if (time !== undefined) this.#since = time();
  }

  /** Whether this is a TLS connection. */
  get tls(): boolean {
    return this.#tls;
  }

  /** The peer's address, as the connection's: introspection names it. */
  get remoteAddr(): Deno.Addr | undefined {
    return addressOf(this.#conn, "remoteAddr");
  }

  /** Whether a write is in flight. */
  get writing(): boolean {
    return this.#writing;
  }

  /** Whether a read or a write waits on the peer. */
  get waiting(): boolean {
    return this.#reading || this.#writing;
  }

  /**
   * How long the connection has been waiting on its peer: a read or a
   * write is in flight and no byte has moved either way for this long.
   *
   * @param now The clock's time now.
   * @returns Milliseconds; 0 while nothing waits on the peer.
   */
  idleFor(now: number): number {
    return this.#reading || this.#writing ? now - this.#since : 0;
  }

  /**
   * Reads from the connection.
   *
   * @param buffer Where to put the bytes.
   * @returns The byte count, or `null` at the end.
   */
  read(buffer: Uint8Array): Promise<number | null> {
    this.#begin();
    this.#reading = true;
    return this.#conn.read(buffer).then(this.#readDone, this.#readFailed);
  }

  /**
   * Writes to the connection.
   *
   * @param data The bytes.
   * @returns How many were written.
   */
  write(data: Uint8Array): Promise<number> {
    this.#begin();
    this.#writing = true;
    return this.#conn.write(data).then(this.#writeDone, this.#writeFailed);
  }

  /** Shuts down the write side. */
  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  /** Closes the connection. */
  close(): void {
    this.#conn.close();
  }

  /** Starts a wait on the peer: idle from now, unless one is in flight. */
  #begin(): void {
    if (this.#time !== undefined && !this.#reading && !this.#writing) {
      this.#since = this.#time();
    }
  }

  #progress(): void {
    if (this.#time !== undefined) this.#since = this.#time();
  }

  #readDone = (n: number | null): number | null => {
    this.#reading = false;
    this.#progress();
    return n;
  };

  #readFailed = (error: unknown): null => {
    this.#reading = false;
    this.#progress();
    if (this.#tls && error instanceof Deno.errors.UnexpectedEof) return null;
    throw error;
  };

  #writeDone = (n: number): number => {
    this.#writing = false;
    this.#progress();
    return n;
  };

  #writeFailed = (error: unknown): never => {
    this.#writing = false;
    this.#progress();
    throw error;
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
