/**
 * A web server and its clients: a small HTTP/1.1 server written over
 * `startServer` with `readLine` and `readExactly`, queried by `fetch` and
 * by a client written over `openConnection`.
 *
 * The server is meant to be copied, so it follows RFC 9112 (HTTP/1.1
 * messaging) wherever a shortcut would be a hole. It frames each request
 * body one way only (`Content-Length` or `chunked`, never both: that is
 * request smuggling, RFC 9112 §11.2), answers what it does not implement
 * with the status the RFC names, bounds every line, header section, body
 * and wait, and closes the connection whenever it can no longer trust
 * where the next request starts.
 *
 * The asyncio original would be:
 *
 * ```python
 * async def handle(reader, writer):
 *     while request := await read_request(reader):
 *         writer.write(respond(request))
 *         await writer.drain()
 *
 * server = await asyncio.start_server(handle, "127.0.0.1", 0)
 * ```
 *
 * Run: `deno run --allow-net=127.0.0.1 examples/http_server.ts`.
 */
import {
  IncompleteReadError,
  LimitOverrunError,
  openConnection,
  run,
  type Server,
  startServer,
  type StreamReader,
  type StreamWriter,
  timeout,
  TimeoutError,
} from "../mod.ts";

const HOST = "127.0.0.1";
/** The longest line (request line, field line, chunk-size line), in bytes. */
const MAX_LINE = 8 * 1024;
/** The largest header section, and the largest trailer section, in bytes. */
const MAX_FIELDS = 32 * 1024;
/** The largest request body, in bytes (decoded, for a chunked one). */
const MAX_BODY = 1024 * 1024;
/** The most bytes of chunk extensions in one body: ignored, but read. */
const MAX_CHUNK_EXTENSIONS = 16 * 1024;
/** How many empty lines may come before a request line (RFC 9112 §2.2). */
const MAX_EMPTY_LINES = 8;
/** A connection waiting this long for its next request is closed. */
const IDLE_MS = 5_000;
/** Once begun, a request must arrive whole within this (slow clients). */
const REQUEST_MS = 10_000;
/** How long a closing connection drops what the client still sends. */
const LINGER_MS = 2_000;
/** The methods this server implements; any other gets 501. */
const METHODS = new Set(["GET", "HEAD", "POST"]);

const CR = 0x0d;
const LF = 0x0a;
const TAB = 0x09;
/** A token: a method or a field name (RFC 9110 §5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The characters of a URI (RFC 3986), percent-encoding included. */
const URI_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%[\]]+$/;
/** `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3). */
const VERSION = /^HTTP\/(\d)\.(\d)$/;
/** uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2). */
const HOST_VALUE =
  /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(:\d*)?$/;

/** Fields are bytes, not UTF-8 (RFC 9110 §5.5): one character per byte. */
const latin1 = new TextDecoder("latin1");
const encoder = new TextEncoder();

/** A parsed request. */
export interface Request {
  readonly method: string;
  /** The path, still percent-encoded, without the query. */
  readonly path: string;
  /** The query, without its `?`. */
  readonly query: string;
  /** `HTTP/1.0` or `HTTP/1.1` (a later 1.x is served as 1.1). */
  readonly version: string;
  /** Field names in lower case; repeated fields joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

/** A response to send. */
export interface Response {
  readonly status: number;
  readonly body: string | Uint8Array;
  readonly type?: string;
  /** More header fields, such as `Allow`. */
  readonly headers?: Readonly<Record<string, string>>;
}

const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

/**
 * A request the server refuses while reading it. The connection closes
 * after the answer: the rest of the request is unread, so where the next
 * one starts is unknown.
 */
class HttpError extends Error {
  /** Whether the refused request was a HEAD (its answer has no body). */
  head = false;

  constructor(readonly status: number, detail: string) {
    super(`${REASONS[status]}: ${detail}`);
  }
}

// --- Reading a request ---------------------------------------------------

/**
 * Reads one line and returns it without its CRLF; a bare LF ends a line
 * too (RFC 9112 §2.2).
 *
 * @param tooLong The status for a line over the reader's limit.
 * @throws {IncompleteReadError} If the stream ends before the line does.
 */
async function readLine(
  reader: StreamReader,
  tooLong: number,
  what: string,
): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await reader.readLine();
  } catch (error) {
    if (error instanceof LimitOverrunError) {
      throw new HttpError(tooLong, `${what} is over ${reader.limit} bytes`);
    }
    throw error;
  }
  if (bytes.at(-1) !== LF) throw new IncompleteReadError(bytes, null);
  const line = bytes.subarray(0, bytes.at(-2) === CR ? -2 : -1);
  // A bare CR or a NUL is read as a line break by some parsers and not by
  // others, which splits one request into two (RFC 9112 §2.2, RFC 9110
  // §5.5); no control character but TAB belongs in a line.
  if (line.some((b) => (b < 0x20 && b !== TAB) || b === 0x7f)) {
    throw new HttpError(400, `${what} holds a control character`);
  }
  return latin1.decode(line);
}

/**
 * Reads the request line, after up to a few empty lines (RFC 9112 §2.2).
 *
 * @returns The line, or `null` if the stream ends first.
 */
async function readRequestLine(reader: StreamReader): Promise<string | null> {
  for (let skipped = 0; skipped <= MAX_EMPTY_LINES; skipped++) {
    let line: string;
    try {
      // A request line over the limit is almost always a long target.
      line = await readLine(reader, 414, "The request line");
    } catch (error) {
      if (error instanceof IncompleteReadError && error.partial.length === 0) {
        return null;
      }
      throw error;
    }
    if (line !== "") return line;
  }
  throw new HttpError(400, "too many empty lines before the request line");
}

/** Splits `method SP request-target SP HTTP-version` (RFC 9112 §3). */
function parseRequestLine(line: string) {
  const parts = line.split(" ");
  const version = VERSION.exec(parts[2] ?? "");
  if (parts.length !== 3 || !TOKEN.test(parts[0]) || version === null) {
    throw new HttpError(400, "malformed request line");
  }
  const [method, target] = parts;
  if (version[1] !== "1") {
    throw new HttpError(505, `${parts[2]} is not supported`);
  }
  if (!METHODS.has(method)) {
    throw new HttpError(501, `${method} is not implemented`);
  }
  return {
    method,
    ...parseTarget(target),
    // A later minor version is served as the highest one we know
    // (RFC 9110 §2.5).
    version: version[2] === "0" ? "HTTP/1.0" : "HTTP/1.1",
  };
}

/**
 * The path and query of an origin-form target (`/path?query`), or of an
 * absolute-form one (`http://host/path?query`), which a server must
 * accept too (RFC 9112 §3.2.1, §3.2.2).
 */
function parseTarget(target: string): { path: string; query: string } {
  if (!URI_CHARS.test(target)) {
    throw new HttpError(400, "invalid request target");
  }
  let pathAndQuery = target;
  if (!target.startsWith("/")) {
    let url: URL | undefined;
    try {
      url = new URL(target);
    } catch {
      // Not a URL either.
    }
    if (url?.protocol !== "http:" && url?.protocol !== "https:") {
      throw new HttpError(400, "invalid request target");
    }
    pathAndQuery = url.pathname + url.search;
  }
  const question = pathAndQuery.indexOf("?");
  if (question < 0) return { path: pathAndQuery, query: "" };
  return {
    path: pathAndQuery.slice(0, question),
    query: pathAndQuery.slice(question + 1),
  };
}

/**
 * Reads field lines up to the empty line that ends them: the header
 * section, or the trailer section of a chunked body (RFC 9112 §5, §7.1.2).
 *
 * @returns Each lower-case name with its values, in order.
 */
async function readFields(
  reader: StreamReader,
  what: "header" | "trailer",
): Promise<Map<string, string[]>> {
  const fields = new Map<string, string[]>();
  let size = 0;
  for (;;) {
    const line = await readLine(reader, 431, `A ${what} line`);
    if (line === "") return fields;
    size += line.length + 2;
    if (size > MAX_FIELDS) {
      throw new HttpError(
        431,
        `the ${what} section is over ${MAX_FIELDS} bytes`,
      );
    }
    // A line that starts with whitespace continues the one before
    // (obs-fold, RFC 9112 §5.2), or hides a field from parsers that skip
    // it: refuse both.
    if (line[0] === " " || line[0] === "\t") {
      throw new HttpError(400, `folded ${what} line`);
    }
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    // "Transfer-Encoding : chunked" is a field to some parsers and none to
    // others: a server must refuse whitespace before the colon (§5.1).
    if (/[ \t]$/.test(name)) {
      throw new HttpError(400, `whitespace before the colon in a ${what} line`);
    }
    if (colon <= 0 || !TOKEN.test(name)) {
      throw new HttpError(400, `malformed ${what} line`);
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    const key = name.toLowerCase();
    const values = fields.get(key);
    if (values === undefined) fields.set(key, [value]);
    else values.push(value);
  }
}

/** The lower-case members of a comma-separated list (RFC 9110 §5.6.1). */
function list(value = ""): string[] {
  return value.split(",")
    .map((member) => member.trim().toLowerCase())
    .filter((member) => member !== "");
}

/** How a request body is delimited. */
type Framing = { readonly chunked: true } | { readonly length: number };

/** How the body of a request with these fields is delimited (§6.3). */
function framing(fields: Map<string, string[]>, version: string): Framing {
  const te = fields.get("transfer-encoding");
  const cl = fields.get("content-length");
  if (te !== undefined) {
    // HTTP/1.0 has no transfer codings: its framing is faulty (§6.1).
    if (version === "HTTP/1.0") {
      throw new HttpError(400, "Transfer-Encoding in an HTTP/1.0 request");
    }
    // With both, a proxy that goes by Content-Length and this server would
    // disagree on where the body ends: the classic smuggling attack
    // (§6.1, §6.3, §11.2). The RFC lets a server reject the request or go
    // by Transfer-Encoding and then close; rejecting is the safe choice, as
    // no honest client sends both.
    if (cl !== undefined) {
      throw new HttpError(400, "both Transfer-Encoding and Content-Length");
    }
    const codings = list(te.join(","));
    // chunked must come last, and only once, or the body has no end (§6.3).
    const chunked = codings.filter((coding) => coding === "chunked").length;
    if (codings.at(-1) !== "chunked" || chunked !== 1) {
      throw new HttpError(400, "chunked is not the last transfer coding");
    }
    // gzip and the like, under chunked, are not implemented here (§6.1).
    if (codings.length > 1) {
      throw new HttpError(501, `transfer coding ${codings[0]}`);
    }
    return { chunked: true };
  }
  // Neither: a request has no body (§6.3).
  if (cl === undefined) return { length: 0 };
  // One field holding one decimal number; a list ("5, 5") or a repeated
  // field is refused (RFC 9110 §8.6).
  if (cl.length !== 1 || !/^\d+$/.test(cl[0])) {
    throw new HttpError(400, "invalid Content-Length");
  }
  const length = Number(cl[0]);
  if (length > MAX_BODY) {
    throw new HttpError(413, `the body is over ${MAX_BODY} bytes`);
  }
  return { length };
}

/** Decodes a chunked body and drops its trailer fields (RFC 9112 §7.1). */
async function readChunked(reader: StreamReader): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let extensions = 0;
  for (;;) {
    // chunk-size [ chunk-ext ] CRLF: hex digits, then nothing or ";..."
    const line = await readLine(reader, 400, "A chunk-size line");
    const match = /^([0-9A-Fa-f]+)(?:[ \t]*;.*)?$/.exec(line);
    if (match === null) throw new HttpError(400, "malformed chunk size");
    // Extensions mean nothing here (§7.1.1) but cost reading: bound them.
    extensions += line.length - match[1].length;
    if (extensions > MAX_CHUNK_EXTENSIONS) {
      throw new HttpError(413, "too many chunk extensions");
    }
    // Any number too large for a double is also over MAX_BODY.
    const length = parseInt(match[1], 16);
    if (length === 0) break;
    size += length;
    if (size > MAX_BODY) {
      throw new HttpError(413, `the body is over ${MAX_BODY} bytes`);
    }
    chunks.push(await reader.readExactly(length));
    const end = await reader.readExactly(2);
    if (end[0] !== CR || end[1] !== LF) {
      throw new HttpError(400, "chunk data longer than its size");
    }
  }
  // Trailer fields may not be merged into the headers unless known to be
  // safe (RFC 9110 §6.5.1); none is needed here.
  await readFields(reader, "trailer");
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

/**
 * Reads the rest of the request after its request line: the header
 * section and the body.
 */
async function readRest(
  reader: StreamReader,
  writer: StreamWriter,
  line: string,
): Promise<Request> {
  const { method, path, query, version } = parseRequestLine(line);
  try {
    const fields = await readFields(reader, "header");
    // Exactly one Host, and a valid one; HTTP/1.1 must send it (§3.2).
    const host = fields.get("host");
    if (
      (host === undefined && version !== "HTTP/1.0") ||
      (host !== undefined && (host.length > 1 || !HOST_VALUE.test(host[0])))
    ) {
      throw new HttpError(400, "missing, repeated or invalid Host");
    }
    const frame = framing(fields, version);
    // A client that sent `Expect: 100-continue` waits for a go-ahead before
    // it sends the body; one from HTTP/1.0 is ignored (RFC 9110 §10.1.1).
    const expect = fields.get("expect");
    if (expect !== undefined && version !== "HTTP/1.0") {
      if (list(expect.join(",")).join() !== "100-continue") {
        throw new HttpError(417, "only 100-continue is supported");
      }
      if ("chunked" in frame || frame.length > 0) {
        writer.write("HTTP/1.1 100 Continue\r\n\r\n");
        await writer.drain();
      }
    }
    const body = "chunked" in frame
      ? await readChunked(reader)
      : await reader.readExactly(frame.length);
    const headers = new Map(
      [...fields].map(([name, values]) => [name, values.join(", ")]),
    );
    return { method, path, query, version, headers, body };
  } catch (error) {
    if (error instanceof HttpError) error.head = method === "HEAD";
    throw error;
  }
}

/**
 * Reads the next request.
 *
 * @param writer Where `100 Continue` goes, for a client that waits for it.
 * @returns The request, or `null` if the client closed the connection, or
 * stayed silent for `IDLE_MS`, between requests.
 * @throws {HttpError} If the request is refused.
 * @throws {IncompleteReadError} If the client left partway through.
 */
export async function readRequest(
  reader: StreamReader,
  writer: StreamWriter,
): Promise<Request | null> {
  let line: string | null;
  try {
    line = await timeout(IDLE_MS, () => readRequestLine(reader));
  } catch (error) {
    if (error instanceof TimeoutError) return null;
    throw error;
  }
  if (line === null) return null;
  try {
    return await timeout(REQUEST_MS, () => readRest(reader, writer, line));
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    throw new HttpError(408, `the request took over ${REQUEST_MS} ms`);
  }
}

// --- The application -----------------------------------------------------

function text(body: string): Response {
  return { status: 200, body };
}

/** 405 must say which methods the resource allows (RFC 9110 §15.5.6). */
function notAllowed(allow: string): Response {
  return { status: 405, body: `${allow} only\n`, headers: { Allow: allow } };
}

/** The application: three routes. HEAD is answered as GET, without body. */
export function route(request: Request): Response {
  const { method, path } = request;
  if (path === "/") {
    if (method === "POST") return notAllowed("GET, HEAD");
    return text("Hello from asyncio for Deno\n");
  }
  if (path === "/echo") {
    if (method !== "POST") return notAllowed("POST");
    return {
      status: 200,
      body: request.body,
      type: request.headers.get("content-type") ?? "application/octet-stream",
    };
  }
  if (path.startsWith("/hello/")) {
    if (method === "POST") return notAllowed("GET, HEAD");
    let name: string;
    try {
      name = decodeURIComponent(path.slice("/hello/".length));
    } catch {
      // URIError: a lone "%" or bytes that are not UTF-8.
      return { status: 400, body: "Bad percent-encoding in the path\n" };
    }
    return text(`Hello, ${name}!\n`);
  }
  return { status: 404, body: "Not found\n" };
}

// --- Answering -------------------------------------------------------------

/** Whether the connection persists after the answer (RFC 9112 §9.3). */
function keepsAlive(request: Request): boolean {
  const options = list(request.headers.get("connection"));
  if (options.includes("close")) return false;
  if (request.version === "HTTP/1.1") return true;
  // HTTP/1.0 closes after each response unless the client asks otherwise.
  return options.includes("keep-alive");
}

/** A response, and how to frame it on this connection. */
interface Answer {
  readonly response: Response;
  /** No body after the header section: the request was a HEAD. */
  readonly head: boolean;
  /** The Connection field to send, if any. */
  readonly connection: "close" | "keep-alive" | null;
}

/** Reads the next request and answers it; `null` once the client is done. */
async function nextAnswer(
  reader: StreamReader,
  writer: StreamWriter,
): Promise<Answer | null> {
  let request: Request | null;
  try {
    request = await readRequest(reader, writer);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    const response = { status: error.status, body: `${error.message}\n` };
    return { response, head: error.head, connection: "close" };
  }
  if (request === null) return null;
  const head = request.method === "HEAD";
  if (!keepsAlive(request)) {
    return { response: route(request), head, connection: "close" };
  }
  // HTTP/1.1 persists unless told otherwise; HTTP/1.0 must be told it does.
  const connection = request.version === "HTTP/1.0" ? "keep-alive" : null;
  return { response: route(request), head, connection };
}

function writeResponse(writer: StreamWriter, answer: Answer): void {
  const { response, head, connection } = answer;
  const body = typeof response.body === "string"
    ? encoder.encode(response.body)
    : response.body;
  const extra = Object.entries(response.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`).join("");
  writer.write(
    `HTTP/1.1 ${response.status} ${REASONS[response.status]}\r\n` +
      // An origin server with a clock must send Date (RFC 9110 §6.6.1).
      `Date: ${new Date().toUTCString()}\r\n` +
      `Content-Type: ${response.type ?? "text/plain; charset=utf-8"}\r\n` +
      // The length of the GET body, even for HEAD (RFC 9110 §9.3.2).
      `Content-Length: ${body.length}\r\n` + extra +
      (connection ? `Connection: ${connection}\r\n` : "") + "\r\n",
  );
  // A body after HEAD would be read as the next response.
  if (!head) writer.write(body);
}

/**
 * Closes in stages (RFC 9112 §9.6): half-close, so that the client reads
 * the last response to its end, then drop what the client still sends
 * (the rest of a refused body, say) until it closes too, for at most
 * `LINGER_MS`. Closing with unread bytes would make TCP reset the
 * connection, which can destroy the response before the client reads it.
 */
async function closeGently(
  reader: StreamReader,
  writer: StreamWriter,
): Promise<void> {
  if (!writer.canWriteEof()) return;
  writer.writeEof();
  try {
    await timeout(LINGER_MS, async () => {
      while ((await reader.read(64 * 1024)).length > 0) {
        // Dropped.
      }
    });
  } catch (error) {
    if (!(error instanceof TimeoutError || isGone(error))) throw error;
  }
}

/** Whether `error` says the client is gone, which is no fault of ours. */
function isGone(error: unknown): boolean {
  return error instanceof IncompleteReadError ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe;
}

/** Serves one connection: requests one after the other (keep-alive). */
export async function handleConnection(
  reader: StreamReader,
  writer: StreamWriter,
): Promise<void> {
  try {
    for (;;) {
      const answer = await nextAnswer(reader, writer);
      if (answer === null) return;
      writeResponse(writer, answer);
      await writer.drain();
      if (answer.connection === "close") {
        await closeGently(reader, writer);
        return;
      }
    }
  } catch (error) {
    if (!isGone(error)) throw error;
  }
  // The server closes the connection when we return.
}

/**
 * Starts the server on 127.0.0.1.
 *
 * @param port 0 (the default) picks a free port.
 */
export function startHttpServer(port = 0): Promise<Server> {
  return startServer(handleConnection, {
    hostname: HOST,
    port,
    limit: MAX_LINE,
  });
}

// --- A client --------------------------------------------------------------

/** A response as the hand-written client sees it. */
export interface ClientResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/**
 * An HTTP/1.1 client over `openConnection`: sends the requests on one
 * keep-alive connection and reads each response by its Content-Length
 * (none after HEAD).
 */
export async function request(
  port: number,
  requests: readonly { method?: string; path: string; body?: string }[],
): Promise<ClientResponse[]> {
  const [reader, writer] = await openConnection({ hostname: HOST, port });
  const decoder = new TextDecoder();
  try {
    const responses: ClientResponse[] = [];
    for (const { method = "GET", path, body = "" } of requests) {
      const bytes = encoder.encode(body);
      writer.write(
        `${method} ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\n` +
          `Content-Length: ${bytes.length}\r\n\r\n`,
      );
      writer.write(bytes);
      await writer.drain();
      const status = Number(
        decoder.decode(await reader.readLine()).split(" ")[1],
      );
      const headers = new Map<string, string>();
      for (;;) {
        const line = decoder.decode(await reader.readLine()).trimEnd();
        if (line === "") break;
        const colon = line.indexOf(":");
        headers.set(
          line.slice(0, colon).toLowerCase(),
          line.slice(colon + 1).trim(),
        );
      }
      const length = method === "HEAD"
        ? 0
        : Number(headers.get("content-length"));
      const text = decoder.decode(await reader.readExactly(length));
      responses.push({ status, headers, body: text });
    }
    return responses;
  } finally {
    writer.close();
    await writer.waitClosed();
  }
}

export async function main(): Promise<void> {
  const server = await startHttpServer();
  const { port } = server.addr as Deno.NetAddr;
  console.log(`Serving HTTP on http://${HOST}:${port}/`);

  // fetch, Deno's own HTTP client.
  const hello = await fetch(`http://${HOST}:${port}/`);
  console.log(`fetch GET / -> ${hello.status} ${(await hello.text()).trim()}`);
  const echoed = await fetch(`http://${HOST}:${port}/echo`, {
    method: "POST",
    body: JSON.stringify({ ping: "pong" }),
    headers: { "content-type": "application/json" },
  });
  console.log(`fetch POST /echo -> ${echoed.status} ${await echoed.text()}`);
  // A stream of unknown length goes out chunked.
  const streamed = await fetch(`http://${HOST}:${port}/echo`, {
    method: "POST",
    body: ReadableStream.from(["a ", "streamed ", "body"])
      .pipeThrough(new TextEncoderStream()),
  });
  console.log(
    `fetch POST /echo (chunked) -> ${streamed.status} ${await streamed
      .text()}`,
  );
  const missing = await fetch(`http://${HOST}:${port}/nowhere`);
  console.log(`fetch GET /nowhere -> ${missing.status}`);
  await missing.body?.cancel();

  // The client written over openConnection: four requests, one connection.
  const responses = await request(port, [
    { path: "/hello/asyncio" },
    { method: "HEAD", path: "/hello/asyncio" },
    { method: "POST", path: "/echo", body: "echo this" },
    { path: "/echo" },
  ]);
  for (const response of responses) {
    const body = response.body.trim() ||
      `(no body; Content-Length ${response.headers.get("content-length")})`;
    console.log(`openConnection -> ${response.status} ${body}`);
  }

  // Shut down: stop accepting, end the idle keep-alive connections (fetch
  // pools its own), and wait until every connection is gone.
  server.close();
  server.closeClients();
  await server.waitClosed();
  console.log("Server closed");
}

if (import.meta.main) await run(main);
