import assert from "node:assert/strict";
import {
  createSubprocessExec,
  DEVNULL,
  getRunningLoop,
  openConnection,
  PIPE,
  run,
  type Server,
  sleep,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { captureLog } from "./_capture.ts";
import { HOST, text } from "./_net.ts";
import {
  main as httpServer,
  request,
  startHttpServer,
} from "../examples/http_server.ts";

/** The example's idle limit: a close sooner than this was not the idle one. */
const IDLE_MS = 5_000;
const encoder = new TextEncoder();

/**
 * A virtual clock that jumps only after 50 ms of real idleness: the
 * server's timers must not fire while loopback bytes are on their way.
 */
function virtual50(main: () => Promise<void>): Promise<void> {
  return run(main, { clock: new VirtualClock({ autojumpThreshold: 50 }) });
}

/**
 * Runs `fn` against the example server; fails if a connection handler
 * threw (the loop's exception handler would have been called). The real
 * clock by default: no test waits on the server's timers but the one that
 * is about them, and then a virtual clock could fire them early.
 */
function withServer(
  fn: (port: number, server: Server) => Promise<void>,
  runner: (main: () => Promise<void>) => Promise<void> = run,
): Promise<void> {
  return runner(async () => {
    const errors: unknown[] = [];
    getRunningLoop().setExceptionHandler((_loop, context) => {
      errors.push(context.exception ?? context.message);
    });
    const server = await startHttpServer();
    try {
      await fn((server.addr as Deno.NetAddr).port, server);
    } finally {
      server.close();
      server.closeClients();
      await server.waitClosed();
    }
    // A connection can be gone a few loop turns before its handler's
    // error is reported.
    for (let turn = 0; turn < 5; turn++) await sleep(0);
    assert.deepEqual(errors, []);
  });
}

/**
 * Sends `bytes` on a new connection and reads what comes back until the
 * server closes it. With `end`, half-closes after sending, so that a
 * keep-alive server closes as soon as it has answered everything.
 *
 * @returns The reply with each well-formed Date field removed, and how
 * long (loop time, ms) the server took to close after the bytes were sent.
 */
async function exchange(
  port: number,
  bytes: string,
  { end = false } = {},
): Promise<{ reply: string; ms: number }> {
  const loop = getRunningLoop();
  const [reader, writer] = await openConnection({ hostname: HOST, port });
  try {
    writer.write(bytes);
    if (end) writer.writeEof();
    await writer.drain();
    const start = loop.time();
    const reply = text(await reader.read());
    return { reply: withoutDate(reply), ms: loop.time() - start };
  } finally {
    writer.close();
    await writer.waitClosed();
  }
}

const DATE =
  /Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT\r\n/g;

function withoutDate(reply: string): string {
  return reply.replace(DATE, "");
}

/** A response as the server frames it, without its Date field. */
function res(
  status: string,
  body: string,
  options: { type?: string; fields?: string[]; head?: boolean } = {},
): string {
  return [
    `HTTP/1.1 ${status}`,
    `Content-Type: ${options.type ?? "text/plain; charset=utf-8"}`,
    `Content-Length: ${encoder.encode(body).length}`,
    ...(options.fields ?? []),
    "",
    "",
  ].join("\r\n") + (options.head ? "" : body);
}

/** The answer to a refused request: its reason and why, then close. */
function refused(status: string, why: string, head = false): string {
  return res(status, `${status.slice(4)}: ${why}\n`, {
    fields: ["Connection: close"],
    head,
  });
}

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const HELLO = res("200 OK", "Hello from asyncio for Deno\n");

Deno.test("examples/http_server answers fetch and the openConnection client", async () => {
  // The real clock: on a virtual one, a jump while fetch (which runs
  // outside the loop) is busy could time out the connection it reuses.
  const lines = await captureLog(() => run(httpServer));
  assert.match(lines[0], /^Serving HTTP on http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.deepEqual(lines.slice(1), [
    "fetch GET / -> 200 Hello from asyncio for Deno",
    'fetch POST /echo -> 200 {"ping":"pong"}',
    "fetch POST /echo (chunked) -> 200 a streamed body",
    "fetch GET /nowhere -> 404",
    "openConnection -> 200 Hello, asyncio!",
    "openConnection -> 200 (no body; Content-Length 16)",
    "openConnection -> 200 echo this",
    "openConnection -> 405 POST only",
    "Server closed",
  ]);
});

Deno.test("examples/http_server request() keeps one connection for several requests", async () => {
  await withServer(async (port) => {
    const [a, b, c] = await request(port, [
      { path: "/" },
      { method: "HEAD", path: "/x" },
      { method: "POST", path: "/echo", body: "é" },
    ]);
    assert.deepEqual([a.status, a.body], [
      200,
      "Hello from asyncio for Deno\n",
    ]);
    assert.deepEqual([b.status, b.body], [404, ""]);
    assert.equal(b.headers.get("content-length"), "10");
    assert.deepEqual([c.status, c.body], [200, "é"]);
  });
});

Deno.test("examples/http_server sends a Date field in the IMF-fixdate format", async () => {
  await withServer(async (port) => {
    const [reader, writer] = await openConnection({ hostname: HOST, port });
    writer.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const reply = text(await reader.read());
    writer.close();
    await writer.waitClosed();
    const date = /\r\nDate: ([^\r]*)\r\n/.exec(reply)?.[1];
    assert.ok(date !== undefined, reply);
    assert.match(`Date: ${date}\r\n`, new RegExp(`^${DATE.source}$`));
    assert.ok(Math.abs(Date.parse(date) - Date.now()) < 60_000, date);
  });
});

Deno.test("examples/http_server decodes a chunked body: no request smuggled in it", async () => {
  await withServer(async (port) => {
    // The chunk data is a whole request: it must be echoed as data, not
    // answered as a request of its own.
    const inner = "GET /hello/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n";
    const { reply } = await exchange(
      port,
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        `${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`,
      { end: true },
    );
    assert.equal(
      reply,
      res("200 OK", inner, { type: "application/octet-stream" }),
    );
  });
});

Deno.test("examples/http_server decodes chunks with extensions and trailers, then serves the next request", async () => {
  await withServer(async (port) => {
    const { reply } = await exchange(
      port,
      "POST /echo HTTP/1.1\r\nHost: x\r\n" +
        "Transfer-Encoding: Chunked\r\nContent-Type: text/x\r\n\r\n" +
        "5;name=value\r\nhello\r\n" +
        "0001 ; ext\r\n \r\n" +
        "A\r\n0123456789\r\n" +
        "0;last\r\nX-Checksum: 1234\r\nX-More: yes\r\n\r\n" + GET,
      { end: true },
    );
    assert.equal(
      reply,
      res("200 OK", "hello 0123456789", { type: "text/x" }) + HELLO,
    );
  });
});

Deno.test("examples/http_server refuses Transfer-Encoding with Content-Length, and answers no smuggled request", async () => {
  await withServer(async (port) => {
    const smuggled = "GET /hello/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n";
    // TE.CL: a front end going by chunked forwards all of it; a back end
    // going by Content-Length would read "5c\r\n" and answer `smuggled`.
    const teCl = await exchange(
      port,
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n" +
        `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
    );
    // CL.TE: the other way round.
    const clTe = await exchange(
      port,
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
        `Content-Length: ${5 + smuggled.length}\r\n\r\n0\r\n\r\n${smuggled}`,
    );
    for (const { reply, ms } of [teCl, clTe]) {
      assert.equal(
        reply,
        refused("400 Bad Request", "both Transfer-Encoding and Content-Length"),
      );
      assert.ok(ms < IDLE_MS, `closed after ${ms} ms`);
    }
  });
});

Deno.test("examples/http_server refuses what it cannot frame or parse, and closes at once", async () => {
  const cases: [string, string, string][] = [
    // Transfer codings (RFC 9112 §6.1, §6.3)
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      "501 Not Implemented",
      "transfer coding gzip",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
      "400 Bad Request",
      "chunked is not the last transfer coding",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n",
      "400 Bad Request",
      "chunked is not the last transfer coding",
    ],
    [
      "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "400 Bad Request",
      "Transfer-Encoding in an HTTP/1.0 request",
    ],
    // Chunked bodies (§7.1)
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0x5\r\nhello\r\n0\r\n\r\n",
      "400 Bad Request",
      "malformed chunk size",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3\r\nhello\r\n0\r\n\r\n",
      "400 Bad Request",
      "chunk data longer than its size",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `1;${"e".repeat(9000)}\r\n`,
      "400 Bad Request",
      "A chunk-size line is over 8192 bytes",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "100001\r\n",
      "413 Content Too Large",
      "the body is over 1048576 bytes",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "fffffffffffffffffffffffffff\r\n",
      "413 Content Too Large",
      "the body is over 1048576 bytes",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `1;${"e".repeat(8000)}\r\nx\r\n`.repeat(3),
      "413 Content Too Large",
      "too many chunk extensions",
    ],
    // Content-Length (RFC 9110 §8.6)
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n" +
      "Content-Length: 1\r\n\r\nab",
      "400 Bad Request",
      "invalid Content-Length",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\nab",
      "400 Bad Request",
      "invalid Content-Length",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\nab",
      "400 Bad Request",
      "invalid Content-Length",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x1\r\n\r\nab",
      "400 Bad Request",
      "invalid Content-Length",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
      "413 Content Too Large",
      "the body is over 1048576 bytes",
    ],
    // Request line (§3) and version (§2.3)
    ["NONSENSE\r\n\r\n", "400 Bad Request", "malformed request line"],
    [
      "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
      "400 Bad Request",
      "malformed request line",
    ],
    [
      "GET / http/1.1\r\nHost: x\r\n\r\n",
      "400 Bad Request",
      "malformed request line",
    ],
    [
      "GET / HTTP/1.10\r\nHost: x\r\n\r\n",
      "400 Bad Request",
      "malformed request line",
    ],
    [
      "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
      "505 HTTP Version Not Supported",
      "HTTP/2.0 is not supported",
    ],
    [
      "PUT / HTTP/1.1\r\nHost: x\r\n\r\n",
      "501 Not Implemented",
      "PUT is not implemented",
    ],
    [
      "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
      "501 Not Implemented",
      "BREW is not implemented",
    ],
    [
      `GET /${"x".repeat(10_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      "414 URI Too Long",
      "The request line is over 8192 bytes",
    ],
    [
      "GET nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
      "400 Bad Request",
      "invalid request target",
    ],
    [
      "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n",
      "400 Bad Request",
      "invalid request target",
    ],
    [
      "GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
      "400 Bad Request",
      "invalid request target",
    ],
    [
      "GET /\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n",
      "400 Bad Request",
      "invalid request target",
    ],
    [
      "GET /\rX HTTP/1.1\r\nHost: x\r\n\r\n",
      "400 Bad Request",
      "The request line holds a control character",
    ],
    [
      "\r\n".repeat(9) + GET,
      "400 Bad Request",
      "too many empty lines before the request line",
    ],
    // Header fields (§5) and Host (§3.2)
    [
      "GET / HTTP/1.1\r\n\r\n",
      "400 Bad Request",
      "missing, repeated or invalid Host",
    ],
    [
      "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
      "400 Bad Request",
      "missing, repeated or invalid Host",
    ],
    [
      "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
      "400 Bad Request",
      "missing, repeated or invalid Host",
    ],
    [
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      "400 Bad Request",
      "whitespace before the colon in a header line",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n",
      "400 Bad Request",
      "whitespace before the colon in a header line",
    ],
    [
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n",
      "400 Bad Request",
      "folded header line",
    ],
    [
      "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
      "400 Bad Request",
      "folded header line",
    ],
    [
      "GET / HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n",
      "400 Bad Request",
      "malformed header line",
    ],
    [
      "GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n",
      "400 Bad Request",
      "malformed header line",
    ],
    [
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
      "400 Bad Request",
      "A header line holds a control character",
    ],
    [
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n",
      "400 Bad Request",
      "A header line holds a control character",
    ],
    [
      `GET / HTTP/1.1\r\nHost: x\r\nX-A: ${"a".repeat(9000)}\r\n\r\n`,
      "431 Request Header Fields Too Large",
      "A header line is over 8192 bytes",
    ],
    [
      `GET / HTTP/1.1\r\nHost: x\r\n${
        `X-A: ${"a".repeat(7000)}\r\n`.repeat(5)
      }\r\n`,
      "431 Request Header Fields Too Large",
      "the header section is over 32768 bytes",
    ],
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `0\r\n${`X-A: ${"a".repeat(7000)}\r\n`.repeat(5)}\r\n`,
      "431 Request Header Fields Too Large",
      "the trailer section is over 32768 bytes",
    ],
    // Expect (RFC 9110 §10.1.1)
    [
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: the-unexpected\r\n" +
      "Content-Length: 2\r\n\r\nab",
      "417 Expectation Failed",
      "only 100-continue is supported",
    ],
  ];
  await withServer(async (port) => {
    for (const [bytes, status, why] of cases) {
      // A request after the refused one must not be answered.
      const { reply, ms } = await exchange(port, bytes + GET);
      assert.equal(
        reply,
        refused(status, why),
        JSON.stringify(bytes.slice(0, 80)),
      );
      assert.ok(ms < IDLE_MS, `closed after ${ms} ms`);
    }
  });
});

Deno.test("examples/http_server's refusal reaches a client still sending its body", async () => {
  await withServer(async (port) => {
    const [reader, writer] = await openConnection({ hostname: HOST, port });
    try {
      // Refused on its Content-Length; a server that closed at once, with
      // the body unread, would reset the connection under the response.
      writer.write(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n",
      );
      writer.write(new Uint8Array(4 * 1024 * 1024));
      writer.writeEof();
      await writer.drain();
      assert.equal(
        withoutDate(text(await reader.read())),
        refused("413 Content Too Large", "the body is over 1048576 bytes"),
      );
    } finally {
      writer.close();
      await writer.waitClosed();
    }
  });
});

Deno.test("examples/http_server answers a refused HEAD without a body", async () => {
  await withServer(async (port) => {
    const { reply } = await exchange(port, "HEAD / HTTP/1.1\r\n\r\n");
    assert.equal(
      reply,
      refused("400 Bad Request", "missing, repeated or invalid Host", true),
    );
  });
});

Deno.test("examples/http_server answers HEAD without a body, keeping the connection in step", async () => {
  await withServer(async (port) => {
    const { reply } = await exchange(
      port,
      "HEAD /hello/you HTTP/1.1\r\nHost: x\r\n\r\n" +
        "HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n" + GET,
      { end: true },
    );
    assert.equal(
      reply,
      res("200 OK", "Hello, you!\n", { head: true }) +
        res("405 Method Not Allowed", "POST only\n", {
          fields: ["Allow: POST"],
          head: true,
        }) + HELLO,
    );
  });
});

Deno.test("examples/http_server answers a bad percent-encoding with 400 and stays open", async () => {
  await withServer(async (port) => {
    const { reply } = await exchange(
      port,
      "GET /hello/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /hello/100% HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /hello/%C3%A9t%C3%A9?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
      { end: true },
    );
    const bad = res("400 Bad Request", "Bad percent-encoding in the path\n");
    assert.equal(reply, bad + bad + res("200 OK", "Hello, été!\n"));
  });
});

Deno.test("examples/http_server closes an HTTP/1.0 connection after its response", async () => {
  await withServer(async (port) => {
    const get10 = "GET /hello/a HTTP/1.0\r\n\r\n";
    const { reply, ms } = await exchange(port, get10 + get10);
    assert.equal(
      reply,
      res("200 OK", "Hello, a!\n", { fields: ["Connection: close"] }),
    );
    assert.ok(ms < IDLE_MS, `closed after ${ms} ms`);
  });
});

Deno.test("examples/http_server keeps an HTTP/1.0 connection the client asks to keep, and says so", async () => {
  await withServer(async (port) => {
    const get10 = "GET /hello/a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
    const { reply } = await exchange(port, get10 + get10, { end: true });
    const kept = res("200 OK", "Hello, a!\n", {
      fields: ["Connection: keep-alive"],
    });
    assert.equal(reply, kept + kept);
  });
});

Deno.test("examples/http_server closes after Connection: close from an HTTP/1.1 client", async () => {
  await withServer(async (port) => {
    const { reply, ms } = await exchange(
      port,
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n" +
        GET,
    );
    assert.equal(
      reply,
      res("200 OK", "Hello from asyncio for Deno\n", {
        fields: ["Connection: close"],
      }),
    );
    assert.ok(ms < IDLE_MS, `closed after ${ms} ms`);
  });
});

Deno.test("examples/http_server accepts what RFC 9112 allows", async () => {
  await withServer(async (port) => {
    const { reply } = await exchange(
      port,
      // An empty line before a request line is skipped (§2.2).
      "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n" +
        // A bare LF ends a line (§2.2).
        "GET /hello/lf HTTP/1.1\nHost: x\n\n" +
        // The absolute form (§3.2.2).
        "GET http://x/hello/abs?q=1 HTTP/1.1\r\nHost: x\r\n\r\n" +
        // A later HTTP/1.x is served as 1.1 (RFC 9110 §2.5).
        "GET /hello/v HTTP/1.2\r\nHost: x\r\n\r\n" +
        // HTTP/1.0 needs no Host; whitespace around a value is not part
        // of it (§5.1).
        "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n" +
        "Content-Type: \t text/x \t\r\nContent-Length: 002\r\n\r\nok" +
        // 405 names the allowed methods (RFC 9110 §15.5.6).
        "POST / HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 0\r\n\r\n" +
        "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
      { end: true },
    );
    assert.equal(
      reply,
      HELLO + res("200 OK", "Hello, lf!\n") + res("200 OK", "Hello, abs!\n") +
        res("200 OK", "Hello, v!\n") +
        res("200 OK", "ok", {
          type: "text/x",
          fields: ["Connection: keep-alive"],
        }) +
        res("405 Method Not Allowed", "GET, HEAD only\n", {
          fields: ["Allow: GET, HEAD"],
        }) +
        res("404 Not Found", "Not found\n"),
    );
  });
});

Deno.test("examples/http_server sends 100 Continue to a client that expects it", async () => {
  await withServer(async (port) => {
    const [reader, writer] = await openConnection({ hostname: HOST, port });
    try {
      writer.write(
        "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" +
          "Content-Length: 5\r\n\r\n",
      );
      assert.equal(
        text(await reader.readUntil("\r\n\r\n")),
        "HTTP/1.1 100 Continue\r\n\r\n",
      );
      writer.write("hello");
      writer.writeEof();
      assert.equal(
        withoutDate(text(await reader.read())),
        res("200 OK", "hello", { type: "application/octet-stream" }),
      );
    } finally {
      writer.close();
      await writer.waitClosed();
    }
  });
});

Deno.test("examples/http_server closes an idle connection, and times out a slow request with 408", async () => {
  await withServer(async (port) => {
    const start = performance.now();
    const idle = await exchange(port, "");
    assert.deepEqual(idle, { reply: "", ms: IDLE_MS });
    const slow = await exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n");
    assert.equal(
      slow.reply,
      refused("408 Request Timeout", "the request took over 10000 ms"),
    );
    assert.equal(slow.ms, 10_000);
    assert.ok(performance.now() - start < 2000); // no real wait
  }, virtual50);
});

Deno.test("examples/http_server lets a client leave partway through, without an error", async () => {
  await withServer(async (port, server) => {
    for (
      const partial of [
        "GET / HT",
        "GET / HTTP/1.1\r\nHost: x\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
      ]
    ) {
      const { reply, ms } = await exchange(port, partial, { end: true });
      assert.equal(reply, "");
      assert.ok(ms < IDLE_MS, `closed after ${ms} ms`);
    }
    // One that is gone before its answers are written: writing to it
    // fails. Wait for the server to finish with it on its own.
    const [, writer] = await openConnection({ hostname: HOST, port });
    writer.write(GET.repeat(20));
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });
});

// --- curl, a real client -------------------------------------------------

/** Runs curl; returns its stdout and stderr, and checks that it succeeded. */
async function curl(
  args: string[],
  input?: Uint8Array,
): Promise<{ out: string; err: string }> {
  const proc = await createSubprocessExec("curl", ["-sS", ...args], {
    stdin: input === undefined ? DEVNULL : PIPE,
    stdout: PIPE,
    stderr: PIPE,
  });
  const [out, err] = await proc.communicate(input);
  assert.equal(proc.returncode, 0, text(err!));
  return { out: text(out!), err: text(err!) };
}

Deno.test("examples/http_server serves curl --http1.0, closing or keeping the connection", async () => {
  await withServer(async (port) => {
    const url = `http://${HOST}:${port}`;
    assert.equal(
      withoutDate((await curl(["--http1.0", "-i", `${url}/hello/curl`])).out),
      res("200 OK", "Hello, curl!\n", { fields: ["Connection: close"] }),
    );
    // Told the connection stays, curl sends the second request on it.
    const { out } = await curl([
      "--http1.0",
      "-H",
      "Connection: keep-alive",
      "-w",
      "[%{num_connects}]\n",
      `${url}/hello/a`,
      `${url}/hello/b`,
    ]);
    assert.equal(out, "Hello, a!\n[1]\nHello, b!\n[0]\n");
  });
});

Deno.test("examples/http_server serves curl -I (HEAD) then a GET on the same connection", async () => {
  await withServer(async (port) => {
    const url = `http://${HOST}:${port}`;
    const { out, err } = await curl([
      "-v",
      "-I",
      `${url}/hello/head`,
      "--next",
      "-sS",
      "-w",
      "[%{num_connects}]\n",
      `${url}/hello/get`,
    ]);
    assert.equal(
      withoutDate(out),
      res("200 OK", "Hello, head!\n", { head: true }) + "Hello, get!\n[0]\n",
    );
    // curl drops a body sent after HEAD when it comes with the headers, but
    // says so; one that came later would be read as the next response.
    assert.doesNotMatch(err, /Excess found/);
  });
});

Deno.test("examples/http_server decodes a chunked upload from curl", async () => {
  await withServer(async (port) => {
    // Large enough for curl to send it in several chunks.
    const body = encoder.encode("chunk of text ".repeat(20_000));
    const { out } = await curl([
      "-H",
      "Transfer-Encoding: chunked",
      "--data-binary",
      "@-",
      `http://${HOST}:${port}/echo`,
    ], body);
    assert.equal(out, text(body));
  });
});

Deno.test("examples/http_server answers curl's bad percent-encoding and oversized upload", async () => {
  await withServer(async (port) => {
    const url = `http://${HOST}:${port}`;
    assert.equal(
      withoutDate((await curl(["-i", `${url}/hello/%E0%A4%A`])).out),
      res("400 Bad Request", "Bad percent-encoding in the path\n"),
    );
    // Without Expect, curl sends all 2 MB: the 413 must still reach it,
    // not be lost to a reset.
    const big = new Uint8Array(2 * 1024 * 1024);
    assert.equal(
      withoutDate(
        (await curl([
          "-i",
          "-H",
          "Expect:",
          "--data-binary",
          "@-",
          `${url}/echo`,
        ], big)).out,
      ),
      refused("413 Content Too Large", "the body is over 1048576 bytes"),
    );
  });
});
