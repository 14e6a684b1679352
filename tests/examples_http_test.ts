import assert from "node:assert/strict";
import { openConnection, run } from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { captureLog } from "./_capture.ts";
import {
  main as httpServer,
  request,
  startHttpServer,
} from "../examples/http_server.ts";

const decoder = new TextDecoder();

/** Virtual time; loopback I/O gets 50 ms of real idleness to arrive. */
function virtual<T>(fn: () => Promise<T>): Promise<T> {
  return run(fn, { clock: new VirtualClock({ autojumpThreshold: 50 }) });
}

Deno.test("examples/http_server answers fetch and the openConnection client", async () => {
  const lines = await captureLog(() => virtual(httpServer));
  assert.match(lines[0], /^Serving HTTP on http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.deepEqual(lines.slice(1), [
    "fetch GET / -> 200 Hello from asyncio for Deno",
    'fetch POST /echo -> 200 {"ping":"pong"}',
    "fetch GET /nowhere -> 404",
    "openConnection -> 200 Hello, asyncio!",
    "openConnection -> 200 echo this",
    "openConnection -> 405 POST only",
    "Server closed",
  ]);
});

Deno.test("examples/http_server refuses bad requests and closes idle connections", async () => {
  await virtual(async () => {
    const server = await startHttpServer();
    const { port } = server.addr as Deno.NetAddr;
    const raw = async (text: string) => {
      const [reader, writer] = await openConnection({
        hostname: "127.0.0.1",
        port,
      });
      writer.write(text);
      const reply = decoder.decode(await reader.read());
      writer.close();
      await writer.waitClosed();
      return reply.split("\r\n")[0];
    };
    assert.equal(await raw("NONSENSE\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    assert.equal(
      await raw(`GET /${"x".repeat(10_000)} HTTP/1.1\r\n\r\n`),
      "HTTP/1.1 431 Request Header Fields Too Large",
    );
    assert.equal(
      await raw("POST /echo HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
      "HTTP/1.1 413 Content Too Large",
    );
    // Keep-alive: two requests on one connection.
    const [a, b] = await request(port, [{ path: "/" }, { path: "/x" }]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 404);
    // An idle connection is closed after 5 s (virtual).
    const [reader, writer] = await openConnection({
      hostname: "127.0.0.1",
      port,
    });
    const start = performance.now();
    assert.equal((await reader.read()).length, 0);
    assert.ok(performance.now() - start < 2000); // no real 5 s wait
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });
});
