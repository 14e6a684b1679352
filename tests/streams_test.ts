import assert from "node:assert/strict";
import {
  type ByteSink,
  type ByteSource,
  CancelledError,
  createTask,
  formatCallGraph,
  getRunningLoop,
  IncompleteReadError,
  InvalidStateError,
  LimitOverrunError,
  run,
  sleep,
  StreamReader,
  StreamWriter,
  timeout,
  TimeoutError,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const decoder = new TextDecoder();
const text = (bytes: Uint8Array): string => decoder.decode(bytes);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function virtual<T>(fn: () => Promise<T>): Promise<T> {
  return run(fn, { clock: new VirtualClock() });
}

/** A source fed by the test: each read waits for `deliver`. */
class FakeSource implements ByteSource {
  reads = 0;
  inFlight = 0;
  maxInFlight = 0;
  #chunks: (Uint8Array | null | Error)[] = [];
  #waiting: { buffer: Uint8Array; settle: () => void } | undefined;

  read(buffer: Uint8Array): Promise<number | null> {
    this.reads++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<number | null>((resolve, reject) => {
      const settle = () => {
        this.#waiting = undefined;
        this.inFlight--;
        const chunk = this.#chunks.shift()!;
        if (chunk instanceof Error) return reject(chunk);
        if (chunk === null) return resolve(null);
        const n = Math.min(chunk.length, buffer.length);
        buffer.set(chunk.subarray(0, n));
        if (n < chunk.length) this.#chunks.unshift(chunk.subarray(n));
        resolve(n);
      };
      if (this.#chunks.length > 0) settle();
      else this.#waiting = { buffer, settle };
    });
  }

  deliver(chunk: Uint8Array | string | null | Error): void {
    this.#chunks.push(typeof chunk === "string" ? bytes(chunk) : chunk);
    this.#waiting?.settle();
  }
}

/** A sink that records what it is given; writes settle when the test says. */
class FakeSink implements ByteSink {
  written: Uint8Array[] = [];
  calls = 0;
  closed = false;
  eof = false;
  /** Bytes taken per write call; Infinity for all. */
  chunk = Infinity;
  /** While true, writes wait for `release()`. */
  blocked = false;
  failWith: Error | undefined = undefined;
  #waiting: (() => void)[] = [];

  write(data: Uint8Array): Promise<number> {
    this.calls++;
    return new Promise((resolve, reject) => {
      const settle = () => {
        if (this.failWith) return reject(this.failWith);
        const n = Math.min(this.chunk, data.length);
        this.written.push(data.slice(0, n));
        resolve(n);
      };
      if (this.blocked) this.#waiting.push(settle);
      else settle();
    });
  }

  closeWrite(): Promise<void> {
    this.eof = true;
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
  }

  release(): void {
    this.blocked = false;
    for (const settle of this.#waiting.splice(0)) settle();
  }

  text(): string {
    return this.written.map(text).join("");
  }
}

// --- StreamReader fed from memory (CPython's test_streams.py cases) ---

Deno.test("StreamReader() rejects a limit that is not a positive integer", () => {
  assert.throws(() => new StreamReader({ limit: 0 }), RangeError);
  assert.throws(() => new StreamReader({ limit: -1 }), RangeError);
  assert.throws(() => new StreamReader({ limit: 1.5 }), RangeError);
  assert.equal(new StreamReader().limit, 65536);
});

Deno.test("StreamReader.read(0) returns empty bytes at once", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("data");
    assert.equal((await reader.read(0)).length, 0);
    assert.equal(text(await reader.read(4)), "data");
  });
});

Deno.test("StreamReader.read(n) waits for data fed later", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    getRunningLoop().callSoon(() => reader.feedData("chunk"));
    assert.equal(text(await reader.read(30)), "chunk");
    assert.ok(!reader.atEof());
  });
});

Deno.test("StreamReader.read(n) returns at most n bytes and keeps the rest", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("line1\nline2\n");
    assert.equal(text(await reader.read(5)), "line1");
    assert.equal(text(await reader.read(100)), "\nline2\n");
  });
});

Deno.test("StreamReader.read(n) returns empty bytes at the end of the stream", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    getRunningLoop().callSoon(() => reader.feedEof());
    assert.equal((await reader.read(1024)).length, 0);
    assert.ok(reader.atEof());
  });
});

Deno.test("StreamReader.read() reads until the end of the stream", async () => {
  await virtual(async () => {
    const reader = new StreamReader({ limit: 4 });
    const loop = getRunningLoop();
    loop.callSoon(() => {
      reader.feedData("chunk1\n");
      reader.feedData("chunk2");
    });
    loop.callLater(10, () => {
      reader.feedData("more than the limit");
      reader.feedEof();
    });
    assert.equal(
      text(await reader.read()),
      "chunk1\nchunk2more than the limit",
    );
    assert.ok(reader.atEof());
  });
});

Deno.test("StreamReader.read(n) is not bound by the limit", async () => {
  await virtual(async () => {
    const reader = new StreamReader({ limit: 3 });
    reader.feedData("chunk");
    assert.equal(text(await reader.read(5)), "chunk");
  });
});

Deno.test("StreamReader.read() throws the error set with setException", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("line\n");
    assert.equal(text(await reader.read(2)), "li");
    const error = new TypeError("broken");
    reader.setException(error);
    assert.equal(reader.exception(), error);
    await assert.rejects(reader.read(2), (e) => e === error);
  });
});

Deno.test("StreamReader.read() rejects a byte count that is not an integer", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    await assert.rejects(reader.read(1.5), RangeError);
    await assert.rejects(reader.read(NaN), RangeError);
    await assert.rejects(reader.readExactly(-1), RangeError);
  });
});

Deno.test("StreamReader.readLine() waits across several feeds", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("chunk1 ");
    getRunningLoop().callSoon(() => {
      reader.feedData("chunk2 ");
      reader.feedData("chunk3 ");
      reader.feedData("\n chunk4");
    });
    assert.equal(text(await reader.readLine()), "chunk1 chunk2 chunk3 \n");
    assert.equal(text(await reader.read(100)), " chunk4");
  });
});

Deno.test("StreamReader.readLine() over the limit drops the line and keeps the next", async () => {
  await virtual(async () => {
    let reader = new StreamReader({ limit: 3 });
    reader.feedData("li");
    reader.feedData("ne1\nline2\n");
    await assert.rejects(reader.readLine(), LimitOverrunError);
    assert.equal(text(await reader.read(100)), "line2\n");

    // No newline yet: everything buffered is dropped.
    reader = new StreamReader({ limit: 3 });
    reader.feedData("li");
    reader.feedData("ne1");
    reader.feedData("li");
    await assert.rejects(reader.readLine(), LimitOverrunError);
    reader.feedEof();
    assert.equal((await reader.read(100)).length, 0);
  });
});

Deno.test("StreamReader.readLine() enforces the limit strictly, with data fed later", async () => {
  await virtual(async () => {
    const loop = getRunningLoop();
    let reader = new StreamReader({ limit: 7 });
    loop.callSoon(() => {
      reader.feedData("chunk1");
      reader.feedData("chunk2");
      reader.feedData("chunk3\n");
      reader.feedEof();
    });
    await assert.rejects(reader.readLine(), LimitOverrunError);
    assert.ok(reader.atEof());

    reader = new StreamReader({ limit: 7 });
    loop.callSoon(() => {
      reader.feedData("chunk1");
      reader.feedData("chunk2\n");
      reader.feedData("chunk3\n");
      reader.feedEof();
    });
    await assert.rejects(reader.readLine(), LimitOverrunError);
    assert.equal(text(await reader.read()), "chunk3\n");

    reader = new StreamReader({ limit: 7 });
    reader.feedData("1234567\n");
    assert.equal(text(await reader.readLine()), "1234567\n");
    reader.feedData("12345678\n");
    await assert.rejects(reader.readLine(), LimitOverrunError);
    reader.feedData("12345678");
    await assert.rejects(reader.readLine(), LimitOverrunError);
    reader.feedData("ok\n");
    assert.equal(text(await reader.readLine()), "ok\n");
  });
});

Deno.test("StreamReader.readLine() returns the last partial line, then empty bytes", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("some data");
    reader.feedEof();
    assert.equal(text(await reader.readLine()), "some data");
    assert.equal((await reader.readLine()).length, 0);
    assert.ok(reader.atEof());
  });
});

Deno.test("StreamReader.readLine() then read(n) count bytes correctly", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("line1\nline2\nline3\n");
    await reader.readLine();
    assert.equal(text(await reader.read(7)), "line2\nl");
    assert.equal(text(await reader.read(100)), "ine3\n");
  });
});

Deno.test("StreamReader.readLine() throws the stream's error", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("line\n");
    assert.equal(text(await reader.readLine()), "line\n");
    reader.setException(new RangeError("bad"));
    await assert.rejects(reader.readLine(), RangeError);
  });
});

Deno.test("StreamReader.atEof() is true only once the end was fed and read", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    assert.ok(!reader.atEof());
    reader.feedData("some data\n");
    assert.ok(!reader.atEof());
    await reader.readLine();
    assert.ok(!reader.atEof());
    reader.feedData("some data\n");
    reader.feedEof();
    assert.ok(!reader.atEof());
    await reader.readLine();
    assert.ok(reader.atEof());
  });
});

Deno.test("StreamReader.readUntil() reads up to a multi-byte separator across chunks", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("QWEaa");
    getRunningLoop().callSoon(() => {
      reader.feedData("XYaa");
      reader.feedData("a");
    });
    assert.equal(text(await reader.readUntil("aaa")), "QWEaaXYaaa");
    reader.feedData("XXXaaa");
    assert.equal(text(await reader.readUntil(bytes("aaa"))), "XXXaaa");
    reader.feedData("some data\r\n");
    assert.equal(text(await reader.readUntil("\r\n")), "some data\r\n");
  });
});

Deno.test("StreamReader.readUntil() at the end throws IncompleteReadError with everything buffered", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("some dataAA");
    reader.feedEof();
    const error = await reader.readUntil("AAA").catch((e) => e);
    assert.ok(error instanceof IncompleteReadError);
    assert.equal(text(error.partial), "some dataAA");
    assert.equal(error.expected, null);
    assert.equal(
      error.message,
      "11 bytes read before the end of the stream",
    );
    assert.ok(reader.atEof());
  });
});

Deno.test("StreamReader.readUntil() over the limit keeps the data buffered", async () => {
  await virtual(async () => {
    const reader = new StreamReader({ limit: 3 });
    reader.feedData("some dataAA");
    const notFound = await reader.readUntil("AAA").catch((e) => e);
    assert.ok(notFound instanceof LimitOverrunError);
    assert.match(notFound.message, /not found/);
    reader.feedData("A");
    const found = await reader.readUntil("AAA").catch((e) => e);
    assert.ok(found instanceof LimitOverrunError);
    assert.match(found.message, /is found/);
    assert.equal(found.consumed, 9);
    assert.equal(text(await reader.read(100)), "some dataAAA");
  });
});

Deno.test("StreamReader.readUntil() with several separators returns the shortest match", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("line 1\nline 2\r");
    assert.equal(text(await reader.readUntil(["\r", "\n"])), "line 1\n");
    assert.equal(text(await reader.readUntil(["\r", "\n"])), "line 2\r");
    reader.feedData("ABCDEFG");
    assert.equal(text(await reader.readUntil(["DEF", "BCDE"])), "ABCDE");
    assert.equal(text(await reader.read(10)), "FG");

    const limited = new StreamReader({ limit: 3 });
    limited.feedData("some dataA");
    await assert.rejects(
      limited.readUntil(["A", "ome dataA"]),
      (e) => e instanceof LimitOverrunError && /is found/.test(e.message),
    );

    // The offset never goes negative with a long separator in the list.
    const long = new StreamReader();
    long.feedData("data");
    const loop = getRunningLoop();
    loop.callSoon(() => long.feedData("Z"));
    loop.callSoon(() => long.feedData("Aaaa"));
    assert.equal(text(await long.readUntil(["A", "long sep"])), "dataZA");
    assert.equal(text(await long.read(10)), "aaa");
  });
});

Deno.test("StreamReader.readUntil() rejects empty separators", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    await assert.rejects(reader.readUntil(""), RangeError);
    await assert.rejects(reader.readUntil([]), RangeError);
    await assert.rejects(reader.readUntil(["a", ""]), RangeError);
  });
});

Deno.test("StreamReader.readExactly() waits for exactly n bytes", async () => {
  await virtual(async () => {
    const reader = new StreamReader({ limit: 3 }); // not bound by the limit
    const data = "chunk1 chunk2 chunk3 ";
    getRunningLoop().callSoon(() => {
      reader.feedData(data);
      reader.feedData(data);
      reader.feedData(data);
    });
    assert.equal(text(await reader.readExactly(2 * data.length)), data + data);
    assert.equal(text(await reader.read(100)), data);
    assert.equal((await reader.readExactly(0)).length, 0);
  });
});

Deno.test("StreamReader.readExactly() at the end throws IncompleteReadError with partial and expected", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    getRunningLoop().callSoon(() => {
      reader.feedData("chunk1 chunk2 chunk3 ");
      reader.feedEof();
    });
    const error = await reader.readExactly(42).catch((e) => e);
    assert.ok(error instanceof IncompleteReadError);
    assert.equal(text(error.partial), "chunk1 chunk2 chunk3 ");
    assert.equal(error.expected, 42);
    assert.equal(
      error.message,
      "21 bytes read on a total of 42 expected bytes",
    );
    assert.ok(reader.atEof());
  });
});

Deno.test("StreamReader.readExactly() throws the stream's error", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("line\n");
    assert.equal(text(await reader.readExactly(2)), "li");
    reader.setException(new RangeError("bad"));
    await assert.rejects(reader.readExactly(2), RangeError);
  });
});

Deno.test("StreamReader.setException() wakes a waiting read", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    const task = createTask(() => reader.readLine());
    await waitAllTasksBlocked();
    reader.setException(new RangeError("bad"));
    await assert.rejects(task, RangeError);
  });
});

Deno.test("StreamReader.setException() after a cancelled read is harmless", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    const task = createTask(() => reader.readLine());
    await waitAllTasksBlocked();
    task.cancel();
    await assert.rejects(task, CancelledError);
    reader.setException(new RangeError("bad"));
    await assert.rejects(reader.read(1), RangeError);
  });
});

Deno.test("StreamReader.read() in a second task while one waits throws InvalidStateError", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    const first = createTask(() => reader.read(10));
    await waitAllTasksBlocked();
    await assert.rejects(reader.readLine(), InvalidStateError);
    reader.feedData("x");
    assert.equal(text(await first), "x");
  });
});

Deno.test("StreamReader.feedData() after feedEof() throws InvalidStateError", () => {
  const reader = new StreamReader();
  reader.feedEof();
  assert.throws(() => reader.feedData("late"), InvalidStateError);
  assert.throws(() => reader.feedData(42 as unknown as string), TypeError);
});

Deno.test("StreamReader [Symbol.asyncIterator] yields lines until the end", async () => {
  await virtual(async () => {
    const reader = new StreamReader();
    getRunningLoop().callSoon(() => {
      reader.feedData("line1\nline2\nli");
      reader.feedData("ne3");
      reader.feedEof();
    });
    const lines: string[] = [];
    for await (const line of reader) lines.push(text(line));
    assert.deepEqual(lines, ["line1\n", "line2\n", "line3"]);
  });
});

Deno.test("StreamReader.toString() describes the buffer, as asyncio's repr", () => {
  const reader = new StreamReader({ limit: 123 });
  assert.equal(String(reader), "<StreamReader limit=123>");
  reader.feedData("12345");
  reader.feedEof();
  assert.equal(String(reader), "<StreamReader 5 bytes eof limit=123>");
});

Deno.test("IncompleteReadError and LimitOverrunError carry their details", () => {
  const incomplete = new IncompleteReadError(bytes("abc"), 10);
  assert.equal(incomplete.name, "IncompleteReadError");
  assert.equal(text(incomplete.partial), "abc");
  assert.equal(incomplete.expected, 10);
  const overrun = new LimitOverrunError("too long", 7);
  assert.equal(overrun.name, "LimitOverrunError");
  assert.equal(overrun.consumed, 7);
  assert.equal(overrun.message, "too long");
});

// --- StreamReader over a source ---

Deno.test("StreamReader.readLine() cancelled while reading loses no bytes", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const reader = new StreamReader({ source });
    source.deliver("partial ");
    const first = createTask(() => reader.readLine());
    await waitAllTasksBlocked();
    first.cancel();
    await assert.rejects(first, CancelledError);
    // The read the cancelled task started is still in flight; what it
    // returns is kept.
    source.deliver("line\nnext");
    assert.equal(text(await reader.readLine()), "partial line\n");
    source.deliver(null);
    assert.equal(text(await reader.read()), "next");
    assert.equal(source.maxInFlight, 1);
  });
});

Deno.test("StreamReader.readExactly() cancelled mid-way keeps the bytes for the next read", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const reader = new StreamReader({ source });
    const task = createTask(() => reader.readExactly(10));
    source.deliver("12345");
    await waitAllTasksBlocked();
    task.cancel();
    await assert.rejects(task, CancelledError);
    source.deliver("67890");
    assert.equal(text(await reader.readExactly(10)), "1234567890");
    assert.equal(source.maxInFlight, 1);
  });
});

Deno.test("StreamReader.read() keeps at most one source read in flight and reads only on demand", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const reader = new StreamReader({ source });
    assert.equal(source.reads, 0);
    source.deliver("abc");
    assert.equal(text(await reader.read(1)), "a");
    assert.equal(text(await reader.read(5)), "bc");
    assert.equal(source.reads, 1);
    const waiting = createTask(() => reader.read(5));
    await waitAllTasksBlocked();
    assert.equal(source.reads, 2);
    source.deliver("d");
    assert.equal(text(await waiting), "d");
  });
});

Deno.test("StreamReader over a source returns exactly the bytes sent, whatever the chunking", async () => {
  await virtual(async () => {
    // A pseudo-random stream of lines and records, in random chunk sizes.
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const parts: string[] = [];
    for (let i = 0; i < 400; i++) {
      parts.push("x".repeat(random(3000)) + `#${i}\n`);
    }
    const all = bytes(parts.join(""));
    const source = new FakeSource();
    const reader = new StreamReader({ source, limit: 4096 });
    const feeder = createTask(async () => {
      for (let at = 0; at < all.length;) {
        const n = 1 + random(40_000);
        source.deliver(all.slice(at, at + n));
        at += n;
        await sleep(0);
      }
      source.deliver(null);
    });
    const got: string[] = [];
    for (let i = 0; i < 400; i++) {
      // Mix the ways of reading.
      if (i % 3 === 0) got.push(text(await reader.readLine()));
      else if (i % 3 === 1) got.push(text(await reader.readUntil(`#${i}\n`)));
      else {
        const length = parts[i].length - `#${i}\n`.length;
        got.push(
          text(await reader.readExactly(length)) +
            text(await reader.readUntil("\n")),
        );
      }
    }
    assert.deepEqual(got, parts);
    assert.equal((await reader.read()).length, 0);
    await feeder;
  });
});

Deno.test("StreamReader over a failing source throws its error and keeps throwing it", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const reader = new StreamReader({ source });
    const error = new Error("connection reset");
    source.deliver(error);
    await assert.rejects(reader.readLine(), (e) => e === error);
    assert.equal(reader.exception(), error);
    await assert.rejects(reader.read(1), (e) => e === error);
  });
});

// --- StreamWriter over a sink ---

Deno.test("StreamWriter() validates its water marks", () => {
  const sink = new FakeSink();
  assert.throws(
    () => new StreamWriter(sink, { highWaterMark: 1, lowWaterMark: 2 }),
    RangeError,
  );
  assert.throws(() => new StreamWriter(sink, { lowWaterMark: -1 }), RangeError);
  assert.throws(
    () => new StreamWriter(sink, { highWaterMark: 1.5 }),
    RangeError,
  );
  assert.throws(
    () => new StreamWriter({} as unknown as ByteSink),
    TypeError,
  );
});

Deno.test("StreamWriter.write() sends bytes and strings in order, joining small writes", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    const writer = new StreamWriter(sink);
    writer.write("a");
    for (let i = 0; i < 100; i++) writer.write(bytes(`${i},`));
    writer.writeLines(["x", bytes("y")]);
    writer.close();
    await writer.waitClosed();
    const expected = "a" + Array.from({ length: 100 }, (_, i) =>
      `${i},`).join("") +
      "xy";
    assert.equal(sink.text(), expected);
    // The writes of one tick go out in one sink write.
    assert.equal(sink.calls, 1);
    assert.ok(sink.closed);
  });
});

Deno.test("StreamWriter.write() continues short writes with the rest", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    sink.chunk = 3;
    const writer = new StreamWriter(sink);
    writer.write("hello, world");
    writer.close();
    await writer.waitClosed();
    assert.equal(sink.text(), "hello, world");
    assert.equal(sink.calls, 4);
  });
});

Deno.test("StreamWriter.write() during a slow sink write keeps every byte, in order", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    sink.blocked = true;
    sink.chunk = 700; // short writes: each flight needs several calls
    const writer = new StreamWriter(sink, { highWaterMark: 1 << 20 });
    const reused = new Uint8Array(1000);
    const expected: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) {
        const value = round * 10 + i;
        reused.fill(value); // the caller reuses its array at once
        writer.write(reused);
        for (let k = 0; k < 1000; k++) expected.push(value);
      }
      // Let the flush start a sink write that waits, then write more
      // while it is in flight.
      await sleep(0);
      if (round % 2 === 1) {
        // The sink has waited since the last round: what it has not taken
        // is what the writer reports buffered.
        assert.equal(
          writer.getWriteBufferSize(),
          expected.length - sentBytes(),
        );
        sink.release();
      } else sink.blocked = true;
    }
    sink.release();
    writer.close();
    await writer.waitClosed();
    const received = sink.written.flatMap((chunk) => Array.from(chunk));
    assert.equal(received.length, expected.length);
    assert.deepEqual(received, expected);

    function sentBytes(): number {
      return sink.written.reduce((n, chunk) => n + chunk.length, 0);
    }
  });
});

Deno.test("StreamWriter.drain() waits above the high-water mark until the low-water mark", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    sink.blocked = true;
    sink.chunk = 1000;
    const writer = new StreamWriter(sink, {
      highWaterMark: 4000,
      lowWaterMark: 2000,
    });
    writer.write(new Uint8Array(4000));
    await writer.drain(); // at the mark, not above it: no wait
    writer.write(new Uint8Array(1000));
    const drained = createTask(() => writer.drain());
    await waitAllTasksBlocked();
    assert.ok(!drained.done());
    sink.blocked = false;
    sink.release(); // 1000 bytes per write call from now on
    await drained;
    // It resumed at 2000 bytes buffered or fewer, not before.
    const sent = sink.written.reduce((n, b) => n + b.length, 0);
    assert.ok(sent >= 3000, `sent ${sent}`);
    writer.close();
    await writer.waitClosed();
  });
});

Deno.test("StreamWriter.drain() defaults to asyncio's 64 KiB / 16 KiB water marks", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    sink.blocked = true;
    const writer = new StreamWriter(sink);
    writer.write(new Uint8Array(65536));
    await writer.drain();
    writer.write(new Uint8Array(1));
    await assert.rejects(
      timeout(100, () => writer.drain()),
      TimeoutError,
    );
    writer.abort();
    sink.release();
    await writer.waitClosed();
  });
});

Deno.test("StreamWriter.drain() cancelled still sends the buffered bytes", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    sink.blocked = true;
    const writer = new StreamWriter(sink, { highWaterMark: 1 });
    writer.write("hello");
    const task = createTask(() => writer.drain());
    await waitAllTasksBlocked();
    task.cancel();
    await assert.rejects(task, CancelledError);
    sink.release();
    await writer.drain();
    writer.close();
    await writer.waitClosed();
    assert.equal(sink.text(), "hello");
  });
});

Deno.test("StreamWriter.close() sends the buffer first, then closes the sink", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    sink.blocked = true;
    const writer = new StreamWriter(sink);
    writer.write("one");
    writer.write("two");
    writer.close();
    assert.ok(writer.isClosing());
    assert.ok(!sink.closed);
    writer.close(); // again: no effect
    assert.throws(() => writer.write("three"), InvalidStateError);
    await assert.rejects(writer.drain(), InvalidStateError);
    sink.release();
    await writer.waitClosed();
    assert.ok(sink.closed);
    assert.equal(sink.text(), "onetwo");
    await writer.waitClosed(); // returns at once
  });
});

Deno.test("StreamWriter.abort() closes at once and drops the buffer", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    sink.blocked = true;
    const writer = new StreamWriter(sink, { highWaterMark: 1 });
    writer.write("one");
    await sleep(0); // "one" is in flight
    writer.write("two");
    const drainer = createTask(() => writer.drain());
    await waitAllTasksBlocked();
    writer.abort();
    assert.ok(sink.closed);
    assert.ok(writer.isClosing());
    sink.release();
    await writer.waitClosed();
    await drainer; // released: the connection is gone, without an error
    assert.equal(sink.text(), "one"); // the write in flight, nothing more
  });
});

Deno.test("StreamWriter.writeEof() half-closes after the flush; later writes throw", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    sink.blocked = true;
    const writer = new StreamWriter(sink);
    assert.ok(writer.canWriteEof());
    writer.write("last words");
    writer.writeEof();
    assert.ok(!sink.eof);
    assert.throws(() => writer.write("more"), /writeEof\(\) was called/);
    assert.ok(!writer.isClosing());
    sink.release();
    await sleep(0);
    assert.ok(sink.eof);
    assert.ok(!sink.closed);
    writer.close();
    await writer.waitClosed();
    assert.ok(sink.closed);
    const plain = new StreamWriter({ write: async (d) => d.length });
    assert.ok(!plain.canWriteEof());
    assert.throws(() => plain.writeEof(), InvalidStateError);
    plain.abort();
  });
});

Deno.test("StreamWriter.toString() names its state: open, eof, flushing, closing, closed", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    sink.blocked = true;
    const writer = new StreamWriter(sink);
    assert.equal(String(writer), "<StreamWriter open buffered=0>");
    writer.write("abc");
    writer.writeEof();
    assert.equal(String(writer), "<StreamWriter eof buffered=3>");
    writer.close();
    assert.equal(String(writer), "<StreamWriter flushing buffered=3>");
    const closer = createTask(() => writer.waitClosed());
    await waitAllTasksBlocked(); // the write is in flight
    assert.match(
      formatCallGraph(closer),
      /StreamWriter\.waitClosed\(\) on <StreamWriter flushing buffered=3>/,
    );
    writer.abort(); // the sink closes; the write in flight settles
    assert.equal(String(writer), "<StreamWriter closing buffered=0>");
    assert.ok(writer.isClosing());
    sink.release();
    await closer;
    assert.equal(String(writer), "<StreamWriter closed buffered=0>");
  });
});

Deno.test("StreamWriter.write() after a failed write throws the sink's error", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    const error = new Error("broken pipe");
    sink.failWith = error;
    const writer = new StreamWriter(sink);
    writer.write("doomed");
    await sleep(0);
    assert.throws(() => writer.write("more"), (e) => e === error);
    await assert.rejects(writer.drain(), (e) => e === error);
    assert.ok(writer.isClosing());
    assert.ok(sink.closed);
    await assert.rejects(writer.waitClosed(), (e) => e === error);
  });
});

Deno.test("StreamWriter.drain() waiting when the sink fails throws its error", async () => {
  await virtual(async () => {
    const sink = new FakeSink();
    sink.blocked = true;
    const writer = new StreamWriter(sink, { highWaterMark: 0 });
    writer.write("x");
    const drainer = createTask(() => writer.drain());
    await waitAllTasksBlocked();
    sink.failWith = new Error("reset");
    sink.release();
    await assert.rejects(drainer, /reset/);
    await writer.waitClosed().catch(() => {});
  });
});

Deno.test("StreamWriter.close() ends the reader of the same connection", async () => {
  await virtual(async () => {
    // One object as both source and sink, as a Deno.Conn.
    const source = new FakeSource();
    const sinkOf = new FakeSink();
    const both = {
      read: (b: Uint8Array) => source.read(b),
      write: (d: Uint8Array) => sinkOf.write(d),
      close: () => sinkOf.close(),
    };
    const reader = new StreamReader({ source: both });
    const writer = new StreamWriter(both, { reader });
    const pending = createTask(() => reader.read(10));
    await waitAllTasksBlocked();
    writer.close();
    assert.equal((await pending).length, 0);
    assert.ok(reader.atEof());
    assert.ok(sinkOf.closed);
    // waitClosed() does not wait for the source read still in flight,
    // which the close interrupts (as closing a Deno.Conn does, on Deno's
    // next turn): asyncio's is done within two iterations too. The read's
    // late error is ignored.
    let iterations = 0;
    const closed = writer.waitClosed().then(() => iterations);
    while (iterations < 3) {
      await sleep(0);
      iterations++;
    }
    assert.ok((await closed) <= 1);
    source.deliver(new Error("interrupted"));
    await sleep(0);
    assert.ok(reader.atEof());
    assert.equal(reader.exception(), undefined);
  });
});

Deno.test("StreamWriter and its reader: a read error closes the writer and fails drain", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    const both = {
      read: (b: Uint8Array) => source.read(b),
      write: (d: Uint8Array) => sink.write(d),
      close: () => sink.close(),
    };
    const reader = new StreamReader({ source: both });
    const writer = new StreamWriter(both, { reader });
    const error = new Error("connection reset");
    const reading = createTask(() => reader.readLine());
    await waitAllTasksBlocked();
    source.deliver(error);
    await assert.rejects(reading, (e) => e === error);
    assert.ok(sink.closed);
    assert.ok(writer.isClosing());
    await assert.rejects(writer.drain(), (e) => e === error);
    assert.throws(() => writer.write("x"), (e) => e === error);
    await assert.rejects(writer.waitClosed(), (e) => e === error);
  });
});

Deno.test("StreamWriter.getExtraInfo() returns the extra info or the default", () => {
  const writer = new StreamWriter(new FakeSink(), {
    extraInfo: { peername: { hostname: "127.0.0.1", port: 1 } },
  });
  assert.deepEqual(writer.getExtraInfo("peername"), {
    hostname: "127.0.0.1",
    port: 1,
  });
  assert.equal(writer.getExtraInfo("nothing"), undefined);
  assert.equal(writer.getExtraInfo("nothing", 5), 5);
  assert.equal(writer.getExtraInfo("toString"), undefined);
  writer.abort();
});

Deno.test("StreamWriter [Symbol.asyncDispose] closes and waits", async () => {
  const sink = new FakeSink();
  await virtual(async () => {
    await using writer = new StreamWriter(sink);
    writer.write("bye");
  });
  assert.ok(sink.closed);
  assert.equal(sink.text(), "bye");
});

Deno.test("StreamWriter holds a virtual clock while a write is in flight, not while paused", async () => {
  await virtual(async () => {
    // A sink that takes real time (a host timer) to accept the bytes.
    let accepted = false;
    const slow: ByteSink = {
      write: (data) =>
        new Promise((resolve) =>
          setTimeout(() => {
            accepted = true;
            resolve(data.length);
          }, 20)
        ),
    };
    const writer = new StreamWriter(slow);
    writer.write("x");
    await sleep(5); // the clock waits for the write before jumping
    assert.ok(accepted);
    writer.close();
    await writer.waitClosed();

    // A paused writer waits on the peer: timers still fire.
    const stuck = new FakeSink();
    stuck.blocked = true;
    const paused = new StreamWriter(stuck, { highWaterMark: 0 });
    paused.write("x");
    await assert.rejects(timeout(1000, () => paused.drain()), TimeoutError);
    assert.equal(getRunningLoop().time(), 1005);
    paused.abort();
    stuck.release();
    await paused.waitClosed();
  });
});

Deno.test("StreamReader.readInto() reads into the caller's buffer, buffered bytes first", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const reader = new StreamReader({ source });
    const buffer = new Uint8Array(4);
    source.deliver("abcdef");
    assert.equal(await reader.readInto(buffer), 4); // straight from the source
    assert.equal(text(buffer), "abcd");
    source.deliver("gh");
    assert.equal(await reader.readInto(buffer), 2); // "ef", kept by the source
    assert.equal(text(buffer.subarray(0, 2)), "ef");
    assert.equal(text(await reader.read(10)), "gh");
    assert.equal(await reader.readInto(new Uint8Array(0)), 0);
    source.deliver(null);
    assert.equal(await reader.readInto(buffer), null);
    await assert.rejects(
      reader.readInto("x" as unknown as Uint8Array),
      TypeError,
    );
  });
});

Deno.test("StreamReader.readInto() cancelled while reading loses no bytes", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const reader = new StreamReader({ source });
    const lent = new Uint8Array(8);
    const task = createTask(() => reader.readInto(lent));
    await waitAllTasksBlocked();
    task.cancel();
    await assert.rejects(task, CancelledError);
    source.deliver("kept\n");
    assert.equal(text(await reader.readLine()), "kept\n");

    // Cancelled just after the bytes landed, before the task resumed.
    const second = createTask(() => reader.readInto(lent));
    await waitAllTasksBlocked();
    source.deliver("landed\n");
    second.cancel();
    await assert.rejects(second, CancelledError);
    assert.equal(text(await reader.readLine()), "landed\n");
    assert.equal(source.maxInFlight, 1);
  });
});

Deno.test("StreamReader.readInto() cancelled after its bytes landed keeps them", async () => {
  await virtual(async () => {
    let settle: (n: number) => void = () => {};
    let lent: Uint8Array | undefined;
    const reader = new StreamReader({
      source: {
        read: (buffer) => {
          lent = buffer;
          return new Promise((resolve) => settle = resolve);
        },
      },
    });
    const task = createTask(() => reader.readInto(new Uint8Array(8)));
    await waitAllTasksBlocked();
    lent!.set(bytes("landed\n"));
    settle(7);
    // The read is handed to the waiting task; cancel before it resumes.
    await Promise.resolve();
    await Promise.resolve();
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(text(await reader.readLine()), "landed\n");
  });
});

Deno.test("StreamReader.read(n) cancelled after its bytes were handed over puts them back in order", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const reader = new StreamReader({ source });

    // Part of what landed was handed over, the rest stayed buffered.
    const partial = createTask(() => reader.read(2));
    await waitAllTasksBlocked();
    source.deliver("abc");
    await Promise.resolve();
    await Promise.resolve();
    partial.cancel(); // before the task resumed with "ab"
    await assert.rejects(partial, CancelledError);
    assert.equal(text(await reader.read(10)), "abc");

    // All of it was handed over: the buffer was empty.
    const whole = createTask(() => reader.read(10));
    await waitAllTasksBlocked();
    source.deliver("def");
    await Promise.resolve();
    await Promise.resolve();
    whole.cancel();
    await assert.rejects(whole, CancelledError);
    source.deliver("ghi");
    assert.equal(text(await reader.read(3)), "def");
    assert.equal(text(await reader.read(3)), "ghi");
    assert.equal(source.maxInFlight, 1);
  });
});

Deno.test("StreamReader.read(n) hands over the end and errors to a waiting task", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const reader = new StreamReader({ source });
    const ended = createTask(() => reader.read(10));
    await waitAllTasksBlocked();
    source.deliver(null);
    assert.equal((await ended).length, 0);
    assert.ok(reader.atEof());

    const failing = new FakeSource();
    const broken = new StreamReader({ source: failing });
    const task = createTask(() => broken.read(10));
    await waitAllTasksBlocked();
    failing.deliver(new RangeError("connection reset"));
    await assert.rejects(task, RangeError);
    await assert.rejects(broken.read(1), RangeError);
  });
});

Deno.test("StreamReader with a source refuses feedData() and feedEof()", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const reader = new StreamReader({ source });
    assert.throws(
      () => reader.feedData("x"),
      (error: unknown) =>
        error instanceof InvalidStateError &&
        /reads from its source/.test(error.message),
    );
    assert.throws(() => reader.feedEof(), InvalidStateError);
    source.deliver("still fine\n");
    assert.equal(text(await reader.readLine()), "still fine\n");
  });
});

Deno.test("StreamReader: a read handed its bytes stays the waiter until its task takes them", async () => {
  await virtual(async () => {
    const source = new FakeSource();
    const reader = new StreamReader({ source });
    const first = createTask(() => reader.read(2));
    await waitAllTasksBlocked();
    source.deliver("first ");
    await Promise.resolve();
    await Promise.resolve();
    // "fi" was handed to `first`, which has not resumed yet; "rst " is
    // buffered. Another read is refused, waiting or not, rather than
    // allowed to take bytes that "fi" may yet be put back in front of.
    const intruders = [
      reader.read(10),
      reader.readInto(new Uint8Array(4)),
      reader.readLine(),
      reader.readExactly(1),
    ];
    first.cancel();
    for (const intruder of intruders) {
      await assert.rejects(intruder, InvalidStateError);
    }
    await assert.rejects(first, CancelledError);
    source.deliver("second");
    assert.equal(text(await reader.readExactly(12)), "first second");
  });
});

Deno.test("StreamReader refuses bad arguments at the call, naming them", async () => {
  const notObjects = [null, "5", true, Symbol("s"), 5n, 5, PROMISE];
  await assertRefuses(
    "new StreamReader()",
    "options",
    (v) => new StreamReader(v),
    {
      TypeError: notObjects,
    },
  );
  await assertRefuses(
    "new StreamReader({ limit })",
    "limit",
    (v) => new StreamReader({ limit: v }),
    {
      TypeError: ["5", true, Symbol("s"), 5n, {}, PROMISE],
      RangeError: [NaN, -1, 0, 1.5, Infinity],
    },
  );
  await assertRefuses(
    "new StreamReader({ source })",
    "source",
    (v) => new StreamReader({ source: v }),
    { TypeError: [null, "5", true, Symbol("s"), 5n, 5, {}, PROMISE] },
  );
  await virtual(async () => {
    const reader = new StreamReader();
    reader.feedData("line\nrest");
    const counts = {
      TypeError: [null, "5", true, Symbol("s"), 5n, {}, PROMISE],
      RangeError: [NaN, 1.5, Infinity],
    };
    await assertRefuses("read()", "n", (v) => reader.read(v), counts);
    await assertRefuses("readExactly()", "n", (v) => reader.readExactly(v), {
      TypeError: [undefined, ...counts.TypeError],
      RangeError: [...counts.RangeError, -1],
    });
    await assertRefuses("readInto()", "buffer", (v) => reader.readInto(v), {
      TypeError: [undefined, null, "5", 5, Symbol("s"), {}, [1, 2]],
    });
    await assertRefuses(
      "readUntil()",
      "separator",
      (v) => reader.readUntil(v),
      {
        TypeError: [
          null,
          true,
          Symbol("s"),
          5n,
          5,
          {},
          PROMISE,
          new Set(["\n"]),
        ],
      },
    );
    await assertRefuses(
      "readUntil([...])",
      "separator[1]",
      (v) => reader.readUntil(["\n", v]),
      { TypeError: [null, 5, Symbol("s"), {}] },
    );
    await assertRefuses("feedData()", "data", (v) => reader.feedData(v), {
      TypeError: [undefined, null, 5, Symbol("s"), 5n, {}, [1]],
    });
    // Nothing was consumed or added by the refused calls.
    assert.equal(text(await reader.readUntil(["\n", "x"])), "line\n");
    reader.feedEof();
    assert.equal(text(await reader.read()), "rest");
  });
});

Deno.test("StreamWriter refuses bad arguments at the call, naming them", async () => {
  const sink = new FakeSink();
  await assertRefuses(
    "new StreamWriter()",
    "sink",
    (v) => new StreamWriter(v),
    {
      TypeError: [undefined, null, "5", true, Symbol("s"), 5n, 5, {}, PROMISE],
    },
  );
  await assertRefuses(
    "new StreamWriter(sink, options)",
    "options",
    (v) => new StreamWriter(sink, v),
    { TypeError: [null, "5", true, Symbol("s"), 5n, 5, PROMISE] },
  );
  for (const name of ["highWaterMark", "lowWaterMark"]) {
    await assertRefuses(
      `new StreamWriter(sink, { ${name} })`,
      name,
      (v) => new StreamWriter(sink, { [name]: v }),
      {
        TypeError: [null, "5", true, Symbol("s"), 5n, {}, PROMISE],
        RangeError: [NaN, -1, 1.5, Infinity],
      },
    );
  }
  await assertRefuses(
    "new StreamWriter(sink, { reader })",
    "reader",
    (v) => new StreamWriter(sink, { reader: v }),
    { TypeError: [null, "5", Symbol("s"), 5n, {}, PROMISE] },
  );
  await assertRefuses(
    "new StreamWriter(sink, { extraInfo })",
    "extraInfo",
    (v) => new StreamWriter(sink, { extraInfo: v }),
    { TypeError: [null, "5", Symbol("s"), 5n, 5] },
  );
  await virtual(async () => {
    const writer = new StreamWriter(sink, { extraInfo: { peer: "memory" } });
    await assertRefuses("write()", "data", (v) => writer.write(v), {
      TypeError: [undefined, null, 5, Symbol("s"), 5n, {}, [1], PROMISE],
    });
    await assertRefuses("writeLines()", "lines", (v) => writer.writeLines(v), {
      TypeError: [undefined, null, 5, true, Symbol("s"), 5n, {}, PROMISE],
    });
    await assertRefuses(
      "getExtraInfo()",
      "name",
      (v) => writer.getExtraInfo(v),
      { TypeError: [undefined, null, 5, Symbol("s"), {}] },
    );
    assert.equal(writer.getExtraInfo("peer"), "memory");
    writer.writeLines(["a", bytes("b")]);
    await writer.drain();
    writer.close();
    await writer.waitClosed();
    assert.equal(sink.written.map(text).join(""), "ab");
  });
});
