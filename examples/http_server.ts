/**
 * A web server and its clients: a small HTTP/1.1 server written over
 * `startServer` with `readLine` and `readExactly` (keep-alive, a
 * `Content-Length` body, limits on header lines and on idle connections),
 * queried by `fetch` and by a client written over `openConnection`.
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

const decoder = new TextDecoder();
const HOST = "127.0.0.1";
/** A keep-alive connection idle this long is closed. */
const IDLE_MS = 5_000;
/** Bodies larger than this are refused. */
const MAX_BODY = 1024 * 1024;

/** A parsed request. */
export interface Request {
  readonly method: string;
  readonly path: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

/** A response to send. */
export interface Response {
  readonly status: number;
  readonly body: string | Uint8Array;
  readonly type?: string;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
};

class HttpError extends Error {
  constructor(readonly status: number) {
    super(REASONS[status]);
  }
}

/**
 * Reads one request, or `null` when the client closed the connection
 * between requests.
 */
export async function readRequest(
  reader: StreamReader,
): Promise<Request | null> {
  let line: string;
  try {
    line = decoder.decode(await reader.readLine());
  } catch (error) {
    if (error instanceof LimitOverrunError) throw new HttpError(431);
    throw error;
  }
  if (line === "") return null; // end of stream
  const [method, path, version] = line.trimEnd().split(" ");
  if (!version?.startsWith("HTTP/1.")) throw new HttpError(400);
  const headers = new Map<string, string>();
  for (;;) {
    let header: string;
    try {
      header = decoder.decode(await reader.readLine()).trimEnd();
    } catch (error) {
      if (error instanceof LimitOverrunError) throw new HttpError(431);
      throw error;
    }
    if (header === "") break;
    const colon = header.indexOf(":");
    if (colon <= 0) throw new HttpError(400);
    headers.set(
      header.slice(0, colon).trim().toLowerCase(),
      header.slice(colon + 1).trim(),
    );
  }
  const length = Number(headers.get("content-length") ?? 0);
  if (!Number.isSafeInteger(length) || length < 0) throw new HttpError(400);
  if (length > MAX_BODY) throw new HttpError(413);
  const body = await reader.readExactly(length);
  return { method, path, headers, body };
}

/** The application: three routes. */
export function route(request: Request): Response {
  if (request.path === "/") {
    return { status: 200, body: "Hello from asyncio for Deno\n" };
  }
  if (request.path === "/echo") {
    if (request.method !== "POST") return { status: 405, body: "POST only\n" };
    return {
      status: 200,
      body: request.body,
      type: request.headers.get("content-type") ?? "application/octet-stream",
    };
  }
  if (request.path.startsWith("/hello/")) {
    const name = decodeURIComponent(request.path.slice("/hello/".length));
    return { status: 200, body: `Hello, ${name}!\n` };
  }
  return { status: 404, body: "Not found\n" };
}

function writeResponse(
  writer: StreamWriter,
  response: Response,
  close: boolean,
): void {
  const body = typeof response.body === "string"
    ? new TextEncoder().encode(response.body)
    : response.body;
  writer.write(
    `HTTP/1.1 ${response.status} ${REASONS[response.status]}\r\n` +
      `Content-Type: ${response.type ?? "text/plain; charset=utf-8"}\r\n` +
      `Content-Length: ${body.length}\r\n` +
      (close ? "Connection: close\r\n" : "") + "\r\n",
  );
  writer.write(body);
}

/** Serves one connection: requests one after the other (keep-alive). */
export async function handleConnection(
  reader: StreamReader,
  writer: StreamWriter,
): Promise<void> {
  for (;;) {
    let request: Request | null;
    try {
      request = await timeout(IDLE_MS, () => readRequest(reader));
    } catch (error) {
      if (error instanceof HttpError) {
        writeResponse(writer, { status: error.status, body: "" }, true);
        await writer.drain();
      } else if (
        !(error instanceof TimeoutError || error instanceof IncompleteReadError)
      ) {
        throw error;
      }
      return; // the server closes the connection when we return
    }
    if (request === null) return;
    const close = request.headers.get("connection")?.toLowerCase() === "close";
    writeResponse(writer, route(request), close);
    await writer.drain();
    if (close) return;
  }
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
    limit: 8192, // header lines; a longer one gets 431
  });
}

/** A response as the hand-written client sees it. */
export interface ClientResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/**
 * An HTTP/1.1 client over `openConnection`: sends the requests on one
 * keep-alive connection and reads each response by its Content-Length.
 */
export async function request(
  port: number,
  requests: readonly { method?: string; path: string; body?: string }[],
): Promise<ClientResponse[]> {
  const [reader, writer] = await openConnection({ hostname: HOST, port });
  try {
    const responses: ClientResponse[] = [];
    for (const { method = "GET", path, body = "" } of requests) {
      const bytes = new TextEncoder().encode(body);
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
      const length = Number(headers.get("content-length"));
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
  const missing = await fetch(`http://${HOST}:${port}/nowhere`);
  console.log(`fetch GET /nowhere -> ${missing.status}`);
  await missing.body?.cancel();

  // The client written over openConnection: three requests, one connection.
  const responses = await request(port, [
    { path: "/hello/asyncio" },
    { method: "POST", path: "/echo", body: "echo this" },
    { path: "/echo" },
  ]);
  for (const response of responses) {
    console.log(
      `openConnection -> ${response.status} ${response.body.trim()}`,
    );
  }

  // Shut down: stop accepting, end the idle keep-alive connections (fetch
  // pools its own), and wait until every connection is gone.
  server.close();
  server.closeClients();
  await server.waitClosed();
  console.log("Server closed");
}

if (import.meta.main) await run(main);
