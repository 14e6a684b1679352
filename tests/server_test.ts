import assert from "node:assert/strict";
import { HOST, text, virtual } from "./_net.ts";
import {
  CancelledError,
  captureTaskTree,
  createTask,
  currentTask,
  type ExceptionContext,
  gather,
  getRunningLoop,
  InvalidStateError,
  LimitOverrunError,
  openConnection,
  Server,
  sleep,
  startServer,
  type StreamReader,
  type StreamWriter,
  timeout,
} from "../mod.ts";
import { waitAllTasksBlocked } from "../src/testing.ts";
import { resetClients } from "./reliability/_clients.ts";

function portOf(server: Server): number {
  return (server.addr as Deno.NetAddr).port;
}

function connect(server: Server, limit?: number) {
  return openConnection({ hostname: HOST, port: portOf(server), limit });
}

/** Echoes lines; a line over the limit gets "too long". */
async function echo(reader: StreamReader, writer: StreamWriter) {
  for (;;) {
    let line: Uint8Array;
    try {
      line = await reader.readLine();
    } catch (error) {
      if (error instanceof LimitOverrunError) {
        writer.write("too long\n");
        continue;
      }
      throw error;
    }
    if (line.length === 0) break;
    writer.write(line);
    await writer.drain();
  }
}

/** The handler as asyncio's tests write it: read to the end, then close. */
async function readThenClose(reader: StreamReader, writer: StreamWriter) {
  try {
    await reader.read();
  } finally {
    writer.close();
    await writer.waitClosed();
  }
}

function captureErrors(): ExceptionContext[] {
  const seen: ExceptionContext[] = [];
  getRunningLoop().setExceptionHandler((_loop, context) => seen.push(context));
  return seen;
}

Deno.test("startServer() serves several clients at once, each in its own task", async () => {
  await virtual(async () => {
    const names = new Set<string>();
    const server = await startServer(async (reader, writer) => {
      names.add(String(writer.getExtraInfo<Deno.NetAddr>("peername")!.port));
      await echo(reader, writer);
    }, { hostname: HOST, port: 0 });
    assert.ok(server.isServing());
    assert.equal((server.addr as Deno.NetAddr).hostname, HOST);
    const clients = await gather(
      Array.from({ length: 10 }, (_, i) => async () => {
        const [reader, writer] = await connect(server);
        const got: string[] = [];
        for (let j = 0; j < 20; j++) {
          writer.write(`client ${i} line ${j}\n`);
          got.push(text(await reader.readLine()));
        }
        writer.close();
        await writer.waitClosed();
        return got.every((line, j) => line === `client ${i} line ${j}\n`);
      }),
    );
    assert.deepEqual(clients, Array(10).fill(true));
    assert.equal(names.size, 10);
    server.close();
    assert.ok(!server.isServing());
    await server.waitClosed();
  });
});

Deno.test("Server.waitClosed() waits until closed and every connection is gone", async () => {
  await virtual(async () => {
    const server = await startServer(readThenClose, {
      hostname: HOST,
      port: 0,
    });
    // Not closed, no connection: waits.
    const task1 = createTask(() => server.waitClosed());
    await sleep(0);
    assert.ok(!task1.done());
    // Not closed, one connection: waits.
    const [, writer] = await connect(server);
    await sleep(10);
    const task2 = createTask(() => server.waitClosed());
    await sleep(0);
    assert.ok(!task1.done() && !task2.done());
    // Closed, one connection: waits.
    server.close();
    await sleep(0);
    const task3 = createTask(() => server.waitClosed());
    await sleep(10);
    assert.ok(!task1.done() && !task2.done() && !task3.done());
    // Closed, no connection: everyone wakes.
    writer.close();
    await writer.waitClosed();
    await task1;
    await task2;
    await task3;
    await server.waitClosed(); // returns at once
  });
});

Deno.test("Server.waitClosed() handles close and the last client leaving together", async () => {
  await virtual(async () => {
    const server = await startServer(readThenClose, {
      hostname: HOST,
      port: 0,
    });
    const task = createTask(() => server.waitClosed());
    await sleep(0);
    assert.ok(!task.done());
    const [, writer] = await connect(server);
    const loop = getRunningLoop();
    loop.callSoon(() => server.close());
    loop.callSoon(() => writer.close());
    await server.waitClosed();
    await task;
    await writer.waitClosed();
  });
});

Deno.test("Server.closeClients() ends every connection; the handlers see the end", async () => {
  await virtual(async () => {
    const ended: string[] = [];
    const server = await startServer(async (reader, writer) => {
      const rest = await reader.read();
      ended.push(`eof after ${rest.length} bytes`);
      writer.close();
    }, { hostname: HOST, port: 0 });
    const [reader, writer] = await connect(server);
    await sleep(10);
    const task = createTask(() => server.waitClosed());
    await sleep(0);
    assert.ok(!task.done());
    server.close();
    server.closeClients();
    await task;
    assert.deepEqual(ended, ["eof after 0 bytes"]);
    assert.equal((await reader.read()).length, 0);
    writer.close();
    await writer.waitClosed();
  });
});

Deno.test("Server.abortClients() ends connections whose writers are stuck", async () => {
  await virtual(async () => {
    let serverWriter: StreamWriter | undefined;
    const server = await startServer(async (_reader, writer) => {
      serverWriter = writer;
      // The client never reads: this fills every buffer, then waits.
      while (!writer.isClosing()) {
        writer.write(new Uint8Array(65536));
        await writer.drain();
      }
    }, { hostname: HOST, port: 0 });
    const [, writer] = await connect(server);
    while (
      serverWriter === undefined || serverWriter.getWriteBufferSize() === 0
    ) {
      await sleep(10);
    }
    const task = createTask(() => server.waitClosed());
    await sleep(0);
    assert.ok(!task.done());
    server.close();
    server.closeClients(); // graceful: cannot flush to a peer that does not read
    await sleep(50);
    assert.ok(!task.done());
    server.abortClients();
    await task;
    writer.abort();
    await writer.waitClosed();
  });
});

Deno.test("startServer() reports a handler's error and goes on serving", async () => {
  await virtual(async () => {
    const errors = captureErrors();
    let calls = 0;
    const server = await startServer(async (reader, writer) => {
      if (++calls === 1) throw new RangeError("handler failed");
      await echo(reader, writer);
    }, { hostname: HOST, port: 0 });
    const [reader1, writer1] = await connect(server);
    // The failed handler's connection is closed.
    assert.equal((await reader1.read()).length, 0);
    writer1.close();
    await writer1.waitClosed();
    assert.equal(errors.length, 1);
    assert.equal(
      errors[0].message,
      "Unhandled exception in client handler (onClient)",
    );
    assert.ok(errors[0].exception instanceof RangeError);
    const [reader2, writer2] = await connect(server);
    writer2.write("still here\n");
    assert.equal(text(await reader2.readLine()), "still here\n");
    writer2.close();
    await writer2.waitClosed();
    server.close();
    await server.waitClosed();
    assert.equal(errors.length, 1);
  });
});

Deno.test("startServer() does not report a handler cancelled by itself", async () => {
  await virtual(async () => {
    const errors = captureErrors();
    const server = await startServer(async (_reader, writer) => {
      writer.close();
      currentTask()!.cancel();
      await sleep(0);
    }, { hostname: HOST, port: 0 });
    const [reader, writer] = await connect(server);
    assert.equal((await reader.read()).length, 0);
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
    assert.deepEqual(errors, []);
  });
});

Deno.test("startServer() closes the connection when the handler returns", async () => {
  await virtual(async () => {
    const server = await startServer(async (_reader, writer) => {
      writer.write("hello and goodbye\n");
    }, { hostname: HOST, port: 0 });
    const [reader, writer] = await connect(server);
    assert.equal(text(await reader.read()), "hello and goodbye\n");
    assert.equal((await reader.read()).length, 0);
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });
});

Deno.test("startServer() leaves the streams of a plain callback open", async () => {
  await virtual(async () => {
    const kept: StreamWriter[] = [];
    const server = await startServer((_reader, writer) => {
      kept.push(writer); // owns the streams; no promise returned
    }, { hostname: HOST, port: 0 });
    const [reader, writer] = await connect(server);
    await sleep(10);
    kept[0].write("later\n");
    assert.equal(text(await reader.readLine()), "later\n");
    kept[0].close();
    assert.equal((await reader.read()).length, 0);
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });
});

Deno.test("Server.serveForever() returns when the server is closed elsewhere", async () => {
  await virtual(async () => {
    const server = await startServer(echo, {
      hostname: HOST,
      port: 0,
      startServing: false,
    });
    assert.ok(!server.isServing());
    const serving = createTask(() => server.serveForever());
    await sleep(0);
    assert.ok(server.isServing());
    await assert.rejects(server.serveForever(), InvalidStateError);
    const [reader, writer] = await connect(server);
    writer.write("hi\n");
    assert.equal(text(await reader.readLine()), "hi\n");
    server.close();
    await serving;
    await assert.rejects(server.serveForever(), InvalidStateError);
    await assert.rejects(server.startServing(), InvalidStateError);
    writer.close();
    await writer.waitClosed();
    await server.waitClosed();
  });
});

Deno.test("Server.serveForever() cancelled closes the server and waits for it", async () => {
  await virtual(async () => {
    const server = await startServer(readThenClose, {
      hostname: HOST,
      port: 0,
    });
    const [, writer] = await connect(server);
    await sleep(10);
    const serving = createTask(() => server.serveForever());
    await sleep(0);
    serving.cancel();
    await sleep(10);
    // Closed, but waiting for the client to leave.
    assert.ok(!server.isServing());
    assert.ok(!serving.done());
    writer.close();
    await assert.rejects(serving, CancelledError);
    await writer.waitClosed();
  });
});

Deno.test("Server.startServing() starts a server created with startServing: false", async () => {
  await virtual(async () => {
    let served = 0;
    const server = await startServer(async (_reader, writer) => {
      served++;
      writer.write("welcome\n");
    }, { hostname: HOST, port: 0, startServing: false });
    // The kernel accepts the connection into the backlog; nobody serves it.
    const [reader, writer] = await connect(server);
    await sleep(50);
    assert.equal(served, 0);
    await server.startServing();
    assert.equal(text(await reader.readLine()), "welcome\n");
    assert.equal(served, 1);
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });
});

Deno.test("startServer() with maxConnections and closeIdleAtCap: false serves the next client once one leaves", async () => {
  await virtual(async () => {
    const errors = captureErrors();
    const server = await startServer(async (reader, writer) => {
      writer.write("served\n");
      await reader.read();
    }, { hostname: HOST, port: 0, maxConnections: 2, closeIdleAtCap: false });
    const a = await connect(server);
    const b = await connect(server);
    const c = await connect(server);
    assert.equal(text(await a[0].readLine()), "served\n");
    assert.equal(text(await b[0].readLine()), "served\n");
    const third = createTask(() => c[0].readLine());
    await sleep(50);
    assert.ok(!third.done());
    assert.deepEqual(errors.map((e) => e.message), [
      "Server at maxConnections (2): new connections wait",
    ]);
    a[1].close();
    assert.equal(text(await third), "served\n");
    for (const [, writer] of [a, b, c]) {
      writer.close();
      await writer.waitClosed();
    }
    server.close();
    await server.waitClosed();
  });
});

Deno.test("startServer() checks its arguments before listening", async () => {
  await virtual(async () => {
    await assert.rejects(
      startServer(42 as unknown as () => void, { hostname: HOST, port: 0 }),
      TypeError,
    );
    await assert.rejects(
      startServer(() => {}, { hostname: HOST, port: 0, maxConnections: 0 }),
      RangeError,
    );
    await assert.rejects(
      startServer(() => {}, { hostname: HOST, port: 0, limit: -1 }),
      RangeError,
    );
    await assert.rejects(
      startServer(() => {}, {
        hostname: HOST,
        port: 0,
        tlsHandshakeTimeout: 0,
      }),
      RangeError,
    );
    await assert.rejects(
      startServer(() => {}, { hostname: HOST, port: 0, maxHandshakes: 1.5 }),
      /maxHandshakes must be a positive integer or Infinity, got 1.5/,
    );
    await assert.rejects(
      startServer(() => {}, { hostname: HOST, port: 0, idleTimeout: -1 }),
      /idleTimeout must be > 0 ms, got -1/,
    );
    await assert.rejects(
      startServer(() => {}, {
        hostname: HOST,
        port: 0,
        idleTimeout: "5" as unknown as number,
      }),
      (error) =>
        error instanceof TypeError &&
        error.message ===
          "Cannot start server: expected idleTimeout to be a number, got string",
    );
    await assert.rejects(
      startServer(() => {}, {
        hostname: HOST,
        port: 0,
        closeIdleAtCap: "yes" as unknown as boolean,
      }),
      TypeError,
    );
  });
});

Deno.test("Server [Symbol.asyncDispose] closes and waits", async () => {
  let port = 0;
  await virtual(async () => {
    await using server = await startServer(echo, { hostname: HOST, port: 0 });
    port = portOf(server);
    const [reader, writer] = await connect(server);
    writer.write("x\n");
    assert.equal(text(await reader.readLine()), "x\n");
    writer.close();
    await writer.waitClosed();
    assert.match(
      String(server),
      /^<Server 127\.0\.0\.1:\d+ serving clients=\d>$/,
    );
  });
  await assert.rejects(
    Deno.connect({ hostname: HOST, port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("run() closes a server left open when it ends", async () => {
  let port = 0;
  await virtual(async () => {
    const server = await startServer(echo, { hostname: HOST, port: 0 });
    port = portOf(server);
    const [reader, writer] = await connect(server);
    writer.write("x\n");
    assert.equal(text(await reader.readLine()), "x\n");
    writer.close();
    await writer.waitClosed();
    await sleep(10);
    // Leaving without server.close(): the runner cancels the accept task.
  });
  await assert.rejects(
    Deno.connect({ hostname: HOST, port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("new Server() serves an open Deno.Listener", async () => {
  await virtual(async () => {
    const listener = Deno.listen({ hostname: HOST, port: 0 });
    const server = new Server(listener, echo, { limit: 8 });
    const [reader, writer] = await connect(server);
    writer.write("ok\nmuch too long\n");
    assert.equal(text(await reader.readLine()), "ok\n");
    assert.equal(text(await reader.readLine()), "too long\n");
    writer.close();
    await writer.waitClosed();
    await server[Symbol.asyncDispose]();
  });
});

Deno.test("startServer() survives hundreds of misbehaving clients, then echoes correctly", async () => {
  await virtual(async () => {
    const errors = captureErrors();
    const server = await startServer(async (reader, writer) => {
      try {
        await echo(reader, writer);
      } catch (error) {
        // A client that vanished mid-message: nothing to answer.
        if (
          !(error instanceof Deno.errors.ConnectionReset ||
            error instanceof Deno.errors.BrokenPipe)
        ) {
          throw error;
        }
      }
    }, { hostname: HOST, port: 0, limit: 1024 });
    const port = portOf(server);
    const encoder = new TextEncoder();
    const misbehave = async (i: number) => {
      const kind = i % 4;
      if (kind === 0) {
        // Connect and drop at once.
        const conn = await Deno.connect({ hostname: HOST, port });
        conn.close();
      } else if (kind === 1) {
        // Vanish in the middle of a line.
        const [, writer] = await openConnection({ hostname: HOST, port });
        writer.write("half a li");
        await writer.drain();
        writer.abort();
        await writer.waitClosed();
      } else if (kind === 2) {
        // A line far over the limit, then leave without reading.
        const conn = await Deno.connect({ hostname: HOST, port });
        await conn.write(encoder.encode("x".repeat(10_000)));
        conn.close();
      } else {
        // Send many lines and leave before reading the echoes.
        const conn = await Deno.connect({ hostname: HOST, port });
        await conn.write(encoder.encode("line\n".repeat(2000)));
        conn.close();
      }
    };
    await gather(Array.from({ length: 300 }, (_, i) => () => misbehave(i)));
    // A well-behaved client still gets correct echoes.
    const [reader, writer] = await openConnection({ hostname: HOST, port });
    for (let i = 0; i < 50; i++) {
      writer.write(`message ${i}\n`);
      assert.equal(text(await reader.readLine()), `message ${i}\n`);
    }
    writer.write("y".repeat(5000) + "\nafter\n");
    assert.equal(text(await reader.readLine()), "too long\n");
    // The rest of the long line may come back in over-limit pieces.
    let line = "";
    while (line !== "after\n") line = text(await reader.readLine());
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
    assert.deepEqual(errors.map((e) => String(e.exception)), []);
  });
});

Deno.test("Server handler tasks are named after their peer", async () => {
  await virtual(async () => {
    let name = "";
    const server = await startServer(async () => {
      name = currentTask()!.getName();
    }, { hostname: HOST, port: 0 });
    const [reader, writer] = await connect(server);
    await reader.read();
    assert.match(name, /^Client 127\.0\.0\.1:\d+$/);
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
    await waitAllTasksBlocked();
  });
});

Deno.test("startServer() skips connections reset before accept and serves the next at once", async () => {
  await virtual(async () => {
    const errors = captureErrors();
    const server = await startServer(echo, {
      hostname: HOST,
      port: 0,
      startServing: false,
    });
    // Twenty clients connect and reset (RST) while nobody accepts: the
    // kernel queues them, and accept() fails for each (ENOTCONN on Linux).
    await resetClients(portOf(server), 20);
    const [reader, writer] = await connect(server);
    const loop = getRunningLoop();
    const start = loop.time();
    await server.startServing();
    writer.write("served\n");
    assert.equal(text(await reader.readLine()), "served\n");
    // Skipped at once: no pause (virtual time would show 1 s per error).
    assert.ok(loop.time() - start < 50, `took ${loop.time() - start} ms`);
    assert.deepEqual(errors, []);
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });
});

/**
 * A listener whose accept() fails as scripted, then waits until closed; it
 * records the loop time of each accept() call.
 */
function scriptedListener(failures: Error[]) {
  const calls: number[] = [];
  let closed: (() => void) | undefined;
  const listener = {
    addr: { transport: "tcp", hostname: HOST, port: 1 } as Deno.NetAddr,
    accept(): Promise<Deno.Conn> {
      calls.push(getRunningLoop().time());
      const failure = failures.shift();
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise((_, reject) => {
        closed = () =>
          reject(new Deno.errors.BadResource("Listener has been closed"));
      });
    },
    close: () => closed?.(),
  };
  return { listener: listener as unknown as Deno.Listener, calls };
}

function osError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

Deno.test("Server pauses 1 s after running out of descriptors, reporting it at most every 10 s", async () => {
  await virtual(async () => {
    const errors = captureErrors();
    const emfile = () => osError("Too many open files (os error 24)", "EMFILE");
    const { listener, calls } = scriptedListener([
      osError("Too many open files in system (os error 23)", "ENFILE"),
      new Error("No buffer space available (os error 105)"), // no code
      osError("Cannot allocate memory (os error 12)", "ENOMEM"),
      ...Array.from({ length: 9 }, emfile),
    ]);
    const server = new Server(listener, echo);
    await sleep(12_500);
    // Twelve failures, a 1 s pause after each, then a pending accept.
    assert.deepEqual(calls, Array.from({ length: 13 }, (_, i) => i * 1000));
    assert.deepEqual(errors.map((e) => e.message), [
      "Cannot accept connection: retrying in 1 s",
      "Cannot accept connection: retrying in 1 s (9 more like it since the last report)",
    ]);
    assert.equal(errors[0].server, server);
    assert.equal((errors[1].exception as Error).message, emfile().message);
    server.close();
    await server.waitClosed();
  });
});

Deno.test("Server reports an unknown accept error (rate-limited) and accepts the next at once", async () => {
  await virtual(async () => {
    const errors = captureErrors();
    const { listener, calls } = scriptedListener([
      osError("Protocol error (os error 71)", "EPROTO"),
      osError("Protocol error (os error 71)", "EPROTO"),
      Object.assign(new Deno.errors.ConnectionAborted("aborted"), {
        code: "ECONNABORTED",
      }),
    ]);
    const server = new Server(listener, echo);
    await sleep(100);
    assert.deepEqual(calls, [0, 0, 0, 0]);
    assert.deepEqual(errors.map((e) => e.message), [
      "Cannot accept connection: skipped",
    ]);
    server.close();
    await server.waitClosed();
  });
});

Deno.test("new Server() closes, reporting it, when its listener is closed under it", async () => {
  await virtual(async () => {
    const errors = captureErrors();
    const listener = Deno.listen({ hostname: HOST, port: 0 });
    const server = new Server(listener, echo);
    await sleep(10);
    listener.close();
    await server.waitClosed();
    assert.ok(!server.isServing());
    assert.equal(errors.length, 1);
    assert.equal(
      errors[0].message,
      "Cannot accept connection: the listener is closed",
    );
    assert.ok(errors[0].exception instanceof Deno.errors.BadResource);
  });
});

/** Serves "served\n", then reads until the end; records each end. */
function greetThenRead(ends: string[]) {
  return async (reader: StreamReader, writer: StreamWriter) => {
    const port = writer.getExtraInfo<Deno.NetAddr>("peername")!.port;
    writer.write("served\n");
    await reader.read();
    ends.push(`${port} ended`);
  };
}

async function served(server: Server) {
  const [reader, writer] = await connect(server);
  assert.equal(
    text(await timeout(60_000, () => reader.readLine())),
    "served\n",
  );
  const port = (writer.getExtraInfo<Deno.NetAddr>("sockname")!).port;
  return { reader, writer, port };
}

Deno.test("startServer() at maxConnections closes the connection idle longest to make room, and says so", async () => {
  await virtual(async () => {
    const errors = captureErrors();
    const ends: string[] = [];
    const server = await startServer(greetThenRead(ends), {
      hostname: HOST,
      port: 0,
      maxConnections: 2,
    });
    const a = await served(server);
    await sleep(1000);
    const b = await served(server);
    await sleep(1000);
    // c finds both slots taken: a, idle longest, makes room.
    const c = await served(server);
    assert.equal((await timeout(1000, () => a.reader.read())).length, 0);
    assert.deepEqual(ends, [`${a.port} ended`]);
    assert.equal(errors.length, 1);
    assert.equal(
      errors[0].message,
      "Server at maxConnections (2): closing the connection idle longest to make room",
    );
    assert.equal(errors[0].peername, `${HOST}:${a.port}`);
    assert.equal(errors[0].idle, 2000);
    // b sends a byte a second later, so c is now idle longest; the
    // report is not repeated within 10 s.
    await sleep(1000);
    b.writer.write("still here");
    await sleep(10);
    const d = await served(server);
    assert.equal((await timeout(1000, () => c.reader.read())).length, 0);
    assert.deepEqual(ends, [`${a.port} ended`, `${c.port} ended`]);
    assert.equal(errors.length, 1);
    for (const { writer } of [a, b, c, d]) {
      writer.close();
      await writer.waitClosed();
    }
    server.close();
    await server.waitClosed();
  });
});

Deno.test("startServer() at maxConnections with nobody idle: the new client waits until one turns idle", async () => {
  await virtual(async () => {
    const errors = captureErrors();
    const server = await startServer(async (reader, writer) => {
      writer.write("served\n");
      await sleep(2000); // busy: neither reading nor writing
      await reader.read();
    }, { hostname: HOST, port: 0, maxConnections: 1 });
    const loop = getRunningLoop();
    const a = await served(server);
    const start = loop.time();
    const b = createTask(() => served(server));
    await sleep(1000);
    assert.ok(!b.done());
    assert.deepEqual(errors.map((e) => e.message), [
      "Server at maxConnections (1): new connections wait; none is idle",
    ]);
    // At 2 s a starts reading, so it is idle: it makes room within 250 ms.
    const { writer } = await b;
    const waited = loop.time() - start;
    assert.ok(waited >= 2000 && waited <= 2250, `waited ${waited} ms`);
    assert.equal((await a.reader.read()).length, 0);
    for (const w of [a.writer, writer]) {
      w.close();
      await w.waitClosed();
    }
    server.close();
    await server.waitClosed();
  });
});

Deno.test("startServer() with idleTimeout closes a connection that waits on its peer that long", async () => {
  await virtual(async () => {
    const loop = getRunningLoop();
    const ends: number[] = [];
    const server = await startServer(async (reader, writer) => {
      for await (const line of reader) {
        writer.write(line);
        await writer.drain();
      }
      ends.push(loop.time());
    }, { hostname: HOST, port: 0, idleTimeout: 5000 });
    const [reader, writer] = await connect(server);
    const start = loop.time();
    writer.write("a\n");
    assert.equal(text(await reader.readLine()), "a\n");
    await sleep(4000);
    writer.write("b\n"); // progress: the 5 s start again
    assert.equal(text(await reader.readLine()), "b\n");
    assert.equal((await timeout(60_000, () => reader.read())).length, 0);
    assert.deepEqual(ends.map((t) => t - start), [9000]);
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });
});

Deno.test("startServer() with idleTimeout leaves a busy handler alone", async () => {
  await virtual(async () => {
    const server = await startServer(async (reader, writer) => {
      await sleep(20_000); // working, not waiting on the peer
      writer.write("done\n");
      await reader.read();
    }, { hostname: HOST, port: 0, idleTimeout: 1000 });
    const [reader, writer] = await connect(server);
    assert.equal(text(await reader.readLine()), "done\n");
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });
});

for (const mode of ["closeClients", "abortClients"] as const) {
  Deno.test(`Server.${mode}(): waitClosed() is done within two iterations, as asyncio's`, async () => {
    await virtual(async () => {
      const server = await startServer(async (reader) => {
        await reader.read(); // until the connection ends
      }, { hostname: HOST, port: 0 });
      const { port } = server.addr as Deno.NetAddr;
      const clients = await gather(
        Array.from(
          { length: 3 },
          () => () => openConnection({ hostname: HOST, port }),
        ),
      );
      await sleep(10);
      server.close();
      await sleep(10); // the listener's own release needs Deno's turn
      server[mode]();
      let iterations = 0;
      const closed = server.waitClosed().then(() => iterations);
      while (iterations < 10) {
        await sleep(0);
        iterations++;
      }
      assert.ok((await closed) <= 2, `took ${await closed} iterations`);
      for (const [, writer] of clients) {
        writer.close();
        await writer.waitClosed();
      }
    });
  });
}

Deno.test("Server: the task tree says its accepting task waits in Server.accept() on its address", async () => {
  await virtual(async () => {
    await using server = await startServer(() => {}, {
      hostname: HOST,
      port: 0,
    });
    await sleep(1);
    const { port } = server.addr as Deno.NetAddr;
    const accepting = captureTaskTree().tasks.find((info) =>
      info.name === `Server ${HOST}:${port}`
    );
    assert.equal(
      accepting?.awaiting[0].description,
      `Server.accept() on ${HOST}:${port}`,
    );
  });
});
