/**
 * TLS over openConnection/startServer, with the test certificate in
 * tests/fixtures: a CA (tls_ca.pem) and a server certificate for
 * 127.0.0.1 and localhost signed by it (tls_server.pem, tls_server.key),
 * valid 2000–2125.
 */
import assert from "node:assert/strict";
import { HOST, text, virtual } from "./_net.ts";
import {
  tlsClientsWithoutCloseNotify,
  tlsServerWithoutCloseNotify,
} from "./reliability/_clients.ts";
import {
  createTask,
  type ExceptionContext,
  getRunningLoop,
  openConnection,
  run,
  type Server,
  sleep,
  startServer,
  type StreamReader,
  type StreamWriter,
  timeout,
} from "../mod.ts";

// Real idleness before the virtual clock jumps: a handshake waits on its
// peer and does not hold the clock, and 5 ms is too short a pause on a
// loaded machine (the clock jumped past the server's handshake timeout).
const TLS_IDLE_MS = 50;

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const CA = fixture("tls_ca.pem");
const CERT = fixture("tls_server.pem");
const KEY = fixture("tls_server.key");
const path = (name: string) =>
  new URL(`./fixtures/${name}`, import.meta.url).pathname;
const CA_FILE = path("tls_ca.pem");

async function echo(reader: StreamReader, writer: StreamWriter) {
  for await (const line of reader) {
    writer.write(line);
    await writer.drain();
  }
}

function portOf(server: Server): number {
  return (server.addr as Deno.NetAddr).port;
}

Deno.test("openConnection({ tls: true }) talks to a startServer() TLS server", async () => {
  await virtual(async () => {
    const server = await startServer(echo, {
      hostname: HOST,
      port: 0,
      cert: CERT,
      key: KEY,
      limit: 1 << 20,
    });
    for (const hostname of [HOST, HOST]) { // twice: a second connection too
      const [reader, writer] = await openConnection({
        hostname,
        port: portOf(server),
        tls: true,
        caCerts: [CA],
      });
      writer.write(`over TLS to ${hostname}\n`);
      assert.equal(text(await reader.readLine()), `over TLS to ${hostname}\n`);
      // A large message crosses many TLS records intact.
      const big = "z".repeat(300_000) + "\n";
      writer.write(big);
      assert.equal(text(await reader.readExactly(big.length)), big);
      writer.close();
      await writer.waitClosed();
    }
    server.close();
    await server.waitClosed();
  }, TLS_IDLE_MS);
});

Deno.test("openConnection({ tls: true }) fails on an untrusted certificate; the server goes on", async () => {
  await virtual(async () => {
    const errors: ExceptionContext[] = [];
    getRunningLoop().setExceptionHandler((_l, context) => errors.push(context));
    let handled = 0;
    const server = await startServer(async (reader, writer) => {
      handled++;
      await echo(reader, writer);
    }, { hostname: HOST, port: 0, cert: CERT, key: KEY });
    await assert.rejects(
      openConnection({ hostname: HOST, port: portOf(server), tls: true }),
      (error) =>
        error instanceof Error &&
        /certificate|UnknownIssuer/i.test(error.message),
    );
    await sleep(20);
    // The failed handshake never reached the handler, nor was reported.
    assert.equal(handled, 0);
    assert.deepEqual(errors, []);
    const [reader, writer] = await openConnection({
      hostname: HOST,
      port: portOf(server),
      tls: true,
      caCerts: [CA],
    });
    writer.write("fine\n");
    assert.equal(text(await reader.readLine()), "fine\n");
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
    assert.equal(handled, 1);
  }, TLS_IDLE_MS);
});

Deno.test("startServer() drops a TLS client that never finishes its handshake", async () => {
  await virtual(async () => {
    let handled = 0;
    const server = await startServer(() => {
      handled++;
    }, {
      hostname: HOST,
      port: 0,
      cert: CERT,
      key: KEY,
      tlsHandshakeTimeout: 10_000,
    });
    // Plain TCP, silent: no ClientHello ever comes.
    const conn = await Deno.connect({ hostname: HOST, port: portOf(server) });
    await sleep(9_000);
    server.close();
    const closed = createTask(() => server.waitClosed());
    await sleep(500);
    assert.ok(!closed.done()); // the client is still being waited for
    // At 10 s (virtual) the server drops it, so waitClosed() returns.
    await timeout(1_000, () => closed);
    assert.equal(handled, 0);
    // Deno 2.9 keeps the TCP socket of a TlsConn closed before its
    // handshake open until the peer closes (a Deno limitation): close ours.
    conn.close();
  }, TLS_IDLE_MS);
});

Deno.test("startServer() TLS: a client closing without close_notify is a plain end of stream", async () => {
  // Real time: a virtual clock would jump past the handshake timeout while
  // the Python process starts.
  await run(async () => {
    const errors: ExceptionContext[] = [];
    getRunningLoop().setExceptionHandler((_l, context) => errors.push(context));
    const ends: string[] = [];
    const server = await startServer(async (reader, writer) => {
      let lines = 0;
      for await (const line of reader) { // ends at the peer's EOF
        writer.write(line);
        await writer.drain();
        lines++;
      }
      ends.push(`eof after ${lines} line(s)`);
    }, { hostname: HOST, port: 0, cert: CERT, key: KEY });
    const got = await tlsClientsWithoutCloseNotify(portOf(server), CA_FILE, 5);
    assert.equal(got, "line 0\nline 1\nline 2\nline 3\nline 4\n");
    for (let i = 0; i < 100 && ends.length < 5; i++) await sleep(10);
    assert.deepEqual(ends, Array(5).fill("eof after 1 line(s)"));
    assert.deepEqual(errors.map((e) => String(e.exception)), []);
    server.close();
    await server.waitClosed();
  });
});

Deno.test("openConnection({ tls: true }): a server closing without close_notify is a plain end of stream", async () => {
  await run(async () => {
    const peer = await tlsServerWithoutCloseNotify(
      path("tls_server.pem"),
      path("tls_server.key"),
    );
    const [reader, writer] = await openConnection({
      hostname: HOST,
      port: peer.port,
      tls: true,
      caCerts: [CA],
    });
    assert.equal(text(await reader.readLine()), "hello\n");
    assert.equal((await reader.read()).length, 0);
    assert.ok(reader.atEof());
    writer.close();
    await writer.waitClosed();
    assert.ok((await peer.done).success);
  });
});

Deno.test("startServer() TLS in debug mode reports a failed handshake with the peer's address", async () => {
  await virtual(async () => {
    const loop = getRunningLoop();
    const errors: ExceptionContext[] = [];
    loop.setExceptionHandler((_l, context) => errors.push(context));
    const server = await startServer(() => {}, {
      hostname: HOST,
      port: 0,
      cert: CERT,
      key: KEY,
    });
    loop.setDebug(true);
    const conn = await Deno.connect({ hostname: HOST, port: portOf(server) });
    await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(10);
    conn.close();
    assert.equal(errors.length, 1);
    assert.equal(errors[0].message, "TLS handshake failed");
    assert.equal(
      errors[0].peername,
      `${HOST}:${(conn.localAddr as Deno.NetAddr).port}`,
    );
    server.close();
    await server.waitClosed();
  }, TLS_IDLE_MS);
});

function tlsClient(server: Server) {
  return openConnection({
    hostname: HOST,
    port: portOf(server),
    tls: true,
    caCerts: [CA],
  });
}

async function echoes(reader: StreamReader, writer: StreamWriter) {
  writer.write("ping\n");
  assert.equal(text(await reader.readLine()), "ping\n");
}

// The next two run on real time, kept short: on a virtual clock, the
// loop idles while Deno computes a handshake, so the clock would jump to
// the next handshake timeout in the middle of it.

Deno.test("startServer() TLS: clients in their handshake do not take maxConnections slots", async () => {
  await run(async () => {
    const server = await startServer(echo, {
      hostname: HOST,
      port: 0,
      cert: CERT,
      key: KEY,
      maxConnections: 1,
    });
    // Five silent TCP clients: no ClientHello ever comes.
    const silent = await Promise.all(
      Array.from(
        { length: 5 },
        () => Deno.connect({ hostname: HOST, port: portOf(server) }),
      ),
    );
    await sleep(20);
    const start = performance.now();
    const [reader, writer] = await timeout(2000, () => tlsClient(server));
    await echoes(reader, writer);
    const took = performance.now() - start;
    assert.ok(took < 1000, `took ${took} ms`);
    writer.close();
    await writer.waitClosed();
    for (const conn of silent) conn.close();
    server.close();
    await server.waitClosed();
  });
});

Deno.test("startServer() TLS: a timed-out handshake keeps its maxHandshakes slot until Deno releases its socket", async () => {
  await run(async () => {
    const errors: ExceptionContext[] = [];
    getRunningLoop().setExceptionHandler((_l, context) => errors.push(context));
    const server = await startServer(echo, {
      hostname: HOST,
      port: 0,
      cert: CERT,
      key: KEY,
      maxHandshakes: 2,
      tlsHandshakeTimeout: 100,
    });
    const [reader1, writer1] = await tlsClient(server); // served first
    const silent = await Promise.all(
      Array.from(
        { length: 2 },
        () => Deno.connect({ hostname: HOST, port: portOf(server) }),
      ),
    );
    await sleep(150); // both timed out; Deno still holds their sockets
    const late = createTask(() => tlsClient(server));
    await sleep(50);
    assert.ok(!late.done()); // in the listen backlog
    // Said once, when the silent two took the last slot.
    assert.deepEqual(errors.map((e) => [e.message, e.timedOut]), [
      ["Server at maxHandshakes (2): accepting paused", 0],
    ]);
    // The served client is not affected.
    await echoes(reader1, writer1);
    // One silent peer leaves: its handshake settles, its socket is
    // released, and the late client gets the slot.
    silent[0].close();
    const [reader2, writer2] = await timeout(2000, () => late);
    await echoes(reader2, writer2);
    for (const writer of [writer1, writer2]) {
      writer.close();
      await writer.waitClosed();
    }
    server.close();
    // Closing the server closes the given-up one left; waitClosed() does
    // not wait for its peer.
    await timeout(2000, () => server.waitClosed());
    silent[1].close();
  });
});

Deno.test("startServer() TLS at maxConnections does not close a connection whose write is stuck on its peer", async () => {
  // Deno would keep its socket open after close(): it keeps its slot.
  await run(async () => {
    const errors: ExceptionContext[] = [];
    getRunningLoop().setExceptionHandler((_l, context) => errors.push(context));
    let stuck: StreamWriter | undefined;
    const server = await startServer(async (reader, writer) => {
      const line = await reader.readLine();
      if (text(line) !== "flood\n") {
        writer.write(line);
        return;
      }
      stuck = writer;
      try {
        for (;;) {
          writer.write(new Uint8Array(65536));
          await writer.drain();
        }
      } catch {
        // The peer left.
      }
    }, { hostname: HOST, port: 0, cert: CERT, key: KEY, maxConnections: 1 });
    const [, greedyWriter] = await tlsClient(server);
    greedyWriter.write("flood\n"); // and never read
    for (let i = 0; i < 100 && stuck?.getWriteBufferSize() === 0; i++) {
      await sleep(10);
    }
    await sleep(100); // the socket's and Deno's buffers fill up
    // The handshake is done at once; serving waits for room.
    const [reader, writer] = await tlsClient(server);
    writer.write("ping\n");
    const answer = createTask(() => reader.readLine());
    await sleep(300);
    assert.ok(!answer.done());
    assert.deepEqual(errors.map((e) => e.message), [
      "Server at maxConnections (1): new connections wait; none is idle",
    ]);
    greedyWriter.abort(); // the peer leaves: its slot frees up
    assert.equal(text(await timeout(2000, () => answer)), "ping\n");
    writer.close();
    await writer.waitClosed();
    server.close();
    await timeout(2000, () => server.waitClosed());
  });
});
