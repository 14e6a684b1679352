import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  getRunningLoop,
  openFile,
  openReader,
  openWriter,
  readFile,
  readTextFile,
  run,
  sleep,
  timeout,
  writeFile,
  writeTextFile,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { mkfifo, peerLeft } from "./_adapters.ts";
import { withTempDir } from "./_tmp.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("openReader() reads lines and exact counts, and closes the file at its end", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/lines.txt`;
    await Deno.writeTextFile(path, "alpha\nbeta\ngamma\n0123456789");
    await run(async () => {
      const reader = await openReader(path);
      assert.equal(reader.path, path);
      assert.equal(decode(await reader.readLine()), "alpha\n");
      const rest: string[] = [];
      for await (const line of reader) rest.push(decode(line));
      assert.deepEqual(rest, ["beta\n", "gamma\n", "0123456789"]);
      assert.ok(reader.isClosed());
      assert.ok(reader.atEof());

      const exact = await openReader(new URL(`file://${path}`));
      assert.equal(decode(await exact.readExactly(5)), "alpha");
      assert.equal(decode(await exact.read()), "\nbeta\ngamma\n0123456789");
      assert.ok(exact.isClosed());
    });
  });
});

Deno.test("openReader() with await using closes the file on an early exit", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/many.txt`;
    await Deno.writeTextFile(path, "x\n".repeat(100_000));
    let kept: { isClosed(): boolean } | undefined;
    await run(async () => {
      await using reader = await openReader(path);
      kept = reader;
      for await (const _ of reader) break;
      assert.ok(!reader.isClosed());
    });
    assert.ok(kept!.isClosed());
  });
});

Deno.test("openReader() reports missing files and permissions with Deno's errors and the path", async () => {
  await withTempDir(async (dir) => {
    await run(async () => {
      await assert.rejects(openReader(`${dir}/missing.txt`), (error) => {
        assert.ok(error instanceof Deno.errors.NotFound);
        assert.match((error as Error).message, /missing\.txt/);
        return true;
      });
      await assert.rejects(openReader("/etc/hostname"), (error) => {
        assert.ok(error instanceof Deno.errors.NotCapable);
        assert.match((error as Error).message, /\/etc\/hostname/);
        return true;
      });
      await assert.rejects(openWriter("/tmp-not-allowed/x"), (error) => {
        assert.ok(error instanceof Deno.errors.NotCapable);
        assert.match((error as Error).message, /tmp-not-allowed/);
        return true;
      });
      await assert.rejects(readFile(`${dir}/gone.bin`), Deno.errors.NotFound);
      await assert.rejects(
        readTextFile(`${dir}/gone.txt`),
        /gone\.txt/,
      );
    });
  });
});

Deno.test("openReader(), openWriter() and the helpers reject bad input with TypeError or RangeError", async () => {
  await run(async () => {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      openReader(42 as any),
      /Cannot open file: expected a path as a non-empty string or URL, got a number/,
    );
    await assert.rejects(openReader(""), /got an empty string/);
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      openReader("x.txt", "r" as any),
      /Cannot open file: expected an options object, got a string/,
    );
    await assert.rejects(openReader("x.txt", { limit: 0 }), RangeError);
    await assert.rejects(
      openWriter("x.txt", { highWaterMark: 1, lowWaterMark: 2 }),
      RangeError,
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => writeFile("x.bin", "text" as any),
      /Cannot write file: expected the data as a Uint8Array, got a string/,
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => writeTextFile("x.txt", 1 as any),
      /Cannot write file: expected the text as a string, got a number/,
    );
  });
});

Deno.test("openWriter() writes with backpressure, flushes on close, and appends on request", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/out.txt`;
    await run(async () => {
      const writer = await openWriter(path, { highWaterMark: 1024 });
      assert.equal(writer.getExtraInfo("path"), path);
      let expected = "";
      for (let i = 0; i < 20_000; i++) {
        const line = `line ${i}\n`;
        expected += line;
        writer.write(line);
        await writer.drain();
        assert.ok(writer.getWriteBufferSize() <= 1024 + line.length);
      }
      writer.close();
      await writer.waitClosed();
      assert.equal(await readTextFile(path), expected);

      {
        await using more = await openWriter(path, { append: true });
        more.write("tail\n");
      }
      assert.ok((await readTextFile(path)).endsWith("line 19999\ntail\n"));

      {
        await using fresh = await openWriter(path);
        fresh.write("replaced\n");
      }
      assert.equal(await readTextFile(path), "replaced\n");
      await assert.rejects(
        openWriter(path, { createNew: true }),
        Deno.errors.AlreadyExists,
      );
    });
  });
});

Deno.test("openFile() shares one handle between reader and writer; closing the writer ends the reader", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/both.txt`;
    await run(async () => {
      const [reader, writer] = await openFile(path, {
        create: true,
        truncate: true,
      });
      writer.write("one\ntwo\n");
      await writer.drain();
      while (writer.getWriteBufferSize() > 0) await sleep(1);
      await writer.getExtraInfo<Deno.FsFile>("file")!.seek(
        0,
        Deno.SeekMode.Start,
      );
      assert.equal(decode(await reader.readLine()), "one\n");
      writer.close();
      await writer.waitClosed();
      assert.ok(reader.isClosed());
      // Bytes already buffered are still there; then the end.
      assert.equal(decode(await reader.read()), "two\n");
      assert.equal((await reader.read()).length, 0);
    });
  });
});

Deno.test("readFile(), writeFile(), readTextFile(), writeTextFile() round-trip", async () => {
  await withTempDir(async (dir) => {
    await run(async () => {
      const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
      await writeFile(`${dir}/a.bin`, bytes);
      assert.deepEqual(await readFile(`${dir}/a.bin`), bytes);
      await writeFile(`${dir}/a.bin`, new Uint8Array([7]), { append: true });
      assert.equal((await readFile(`${dir}/a.bin`)).length, 300_001);
      await writeTextFile(`${dir}/a.txt`, "héllo\n");
      await writeTextFile(`${dir}/a.txt`, "wörld\n", { append: true });
      assert.equal(await readTextFile(`${dir}/a.txt`), "héllo\nwörld\n");
    });
  });
});

Deno.test("readFile() and openReader() cancelled mid-operation throw CancelledError and leak nothing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.bin`;
    await Deno.writeFile(path, new Uint8Array(32 * 1024 * 1024));
    await run(async () => {
      const reading = createTask(() => readFile(path));
      await sleep(0);
      reading.cancel();
      await assert.rejects(reading, CancelledError);

      const opening = createTask(() => openReader(path));
      await sleep(0);
      opening.cancel();
      await assert.rejects(opening, CancelledError);

      // A task cancelled while it reads through `await using`: the file
      // is closed on the way out.
      let reader: { isClosed(): boolean } | undefined;
      const streaming = createTask(async () => {
        await using r = await openReader(path);
        reader = r;
        for (;;) {
          const chunk = await r.read(65536);
          if (chunk.length === 0) break;
        }
      });
      while (reader === undefined) await sleep(0);
      streaming.cancel();
      await assert.rejects(streaming, CancelledError);
      assert.ok(reader.isClosed());
    });
  });
});

Deno.test("file reads hold a VirtualClock: a deadline does not expire while the disk works", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/lines.txt`;
    await Deno.writeTextFile(path, "some words on a line\n".repeat(200_000));
    await run(async () => {
      const loop = getRunningLoop();
      const start = loop.time();
      const lines = await timeout(50, async () => {
        let n = 0;
        for await (const _ of await openReader(path)) n++;
        return n;
      });
      assert.equal(lines, 200_000);
      assert.equal(loop.time(), start);
      const text = await timeout(50, () => readTextFile(path));
      assert.equal(text.length, 21 * 200_000);
    }, { clock: new VirtualClock() });
  });
});

Deno.test("openReader(), openWriter(), readFile(), writeFile() cancelled while a FIFO has no peer: CancelledError promptly, nothing left open", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/fifo`;
    await mkfifo(path);
    // Deno.open takes no signal: the module opens the FIFO's other end
    // for an instant to let it through. Either way, the cancel waits for
    // the operation to settle, a single trip through Deno's event loop.
    const opens: [string, () => Promise<unknown>, "reader" | "writer"][] = [
      ["openReader", () => openReader(path), "reader"],
      ["openWriter", () => openWriter(path), "writer"],
      ["openFile", () => openFile(path, { write: false }), "reader"],
      ["readFile", () => readFile(path), "reader"],
      ["writeFile", () => writeFile(path, new Uint8Array([1])), "writer"],
    ];
    for (const [name, open, side] of opens) {
      await run(async () => {
        const task = createTask<unknown>(open);
        // Real time: a virtual clock would not move while the open (file
        // I/O, as far as the loop knows) is in flight.
        await sleep(10);
        assert.ok(!task.done(), `${name} waits for a peer`);
        task.cancel();
        const start = performance.now();
        await timeout(1_000, () => assert.rejects(task, CancelledError));
        const ms = performance.now() - start;
        assert.ok(ms < 250, `${name} took ${ms} ms to be cancelled`);
      });
      // No blocked open is left behind to pair with the next peer and take
      // or cut its data, and its late handle was closed (the sanitizers).
      assert.equal(await peerLeft(path, side), false, `${name} left a ${side}`);
    }
  });
});

Deno.test({
  name:
    "openReader() cancelled on a FIFO it may not write: CancelledError at once; the open waits for a peer, then its file is closed",
  // Read access only: the module cannot open the FIFO's other end itself.
  permissions: { read: ["tests/.tmp"], write: false, run: ["sh"] },
  fn: async () => {
    const sh = async (script: string, ...args: string[]) => {
      const out = await new Deno.Command("sh", {
        args: ["-c", script, "sh", ...args],
      }).output();
      assert.ok(out.success, script);
      return decode(out.stdout).trim();
    };
    const dir = await sh(
      'mkdir -p "$1" && d=$(mktemp -d "$1/fifoXXXXXX") && mkfifo "$d/fifo" && echo "$d"',
      "tests/.tmp",
    );
    const path = `${dir}/fifo`;
    try {
      await run(async () => {
        const task = createTask(() => openReader(path));
        await sleep(10);
        task.cancel();
        await sleep(0);
        await sleep(0);
        assert.ok(task.done(), "cancelled at once");
        await assert.rejects(task, CancelledError);
      });
      // The open is still blocked in Deno (it takes the next writer's
      // bytes): a peer releases it, and the file it opens is closed.
      assert.equal(await peerLeft(path, "reader"), true);
      assert.equal(await peerLeft(path, "reader"), false);
    } finally {
      await sh('rm -rf "$1"', dir);
    }
  },
});

Deno.test("FileReader and openWriter() on a FIFO: a read or drain blocked on a silent peer is cancelled at once", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/fifo`;
    await mkfifo(path);
    // The test's own end of the FIFO, for reading and writing: the module's
    // opens go through at once, and the peer never says a word.
    const peer = await Deno.open(path, { read: true, write: true });
    try {
      await run(async () => {
        const reader = await openReader(path);
        const reading = createTask(() => reader.readLine());
        await sleep(10);
        reading.cancel();
        await sleep(0);
        assert.ok(reading.done(), "a blocked read is cancelled at once");
        await assert.rejects(reading, CancelledError);
        reader.close(); // interrupts the read in flight
        await reader.waitClosed();

        const writer = await openWriter(path);
        writer.write(new Uint8Array(1 << 20)); // more than the pipe holds
        const draining = createTask(() => writer.drain());
        await sleep(10);
        draining.cancel();
        await sleep(0);
        assert.ok(draining.done(), "a blocked drain is cancelled at once");
        await assert.rejects(draining, CancelledError);
        writer.abort();
        // Deno cannot interrupt the write in flight: it ends once the
        // reader reads or goes away.
        const closed = createTask(() => writer.waitClosed());
        await sleep(10);
        assert.ok(!closed.done());
        peer.close();
        await timeout(1_000, () => closed);
      });
    } finally {
      try {
        peer.close();
      } catch {
        // Closed by the test already.
      }
    }
  });
});
