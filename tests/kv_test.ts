/**
 * KvQueue in one process, over a real Deno KV file. Deno KV delivers on
 * the wall clock (its delays and its dequeue jitter of up to 100 ms are
 * real), so these tests run on the real clock, with short delays, and
 * every wait is bounded. tests/kv_processes_test.ts covers several
 * processes.
 */
import assert from "node:assert/strict";
import {
  allTasks,
  CancelledError,
  createTask,
  Event,
  type ExceptionContext,
  getRunningLoop,
  QueueShutDown,
  run,
  sleep,
  TimeoutError,
} from "../mod.ts";
import { type KvItemInfo, KvQueue, type KvQueueOptions } from "../src/kv.ts";
import { isItem, MARK, QueueKeys } from "../src/_kv_envelope.ts";
import { VirtualClock } from "../src/testing.ts";
import { withTempDir } from "./_tmp.ts";

const KEYS = new QueueKeys(["aio.kv"], ["aio.kv", "dead"]);

/**
 * Runs `fn` in a loop with a queue over a fresh database file, collecting
 * what reaches the loop's exception handler; closes the queue and the
 * database afterwards.
 */
async function withQueue<T>(
  options: KvQueueOptions,
  fn: (
    queue: KvQueue<T>,
    kv: Deno.Kv,
    reported: ExceptionContext[],
  ) => Promise<void>,
): Promise<void> {
  await withTempDir(async (dir) => {
    const kv = await Deno.openKv(`${dir}/queue.db`);
    try {
      await run(async () => {
        const reported: ExceptionContext[] = [];
        getRunningLoop().setExceptionHandler((_loop, context) => {
          reported.push(context);
        });
        const queue = new KvQueue<T>(kv, options);
        await fn(queue, kv, reported);
        await queue.close();
        assert.equal(allTasks().size, 1, "only main is left");
      });
    } finally {
      kv.close();
      await sleep0();
    }
  });
}

// Lets the listener's pending dequeue settle after close().
function sleep0(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Polls `check` every 10 ms for up to `ms`. */
async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 3000,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    }
    await sleep(10);
  }
}

async function count(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  return (await Array.fromAsync(kv.list({ prefix }))).length;
}

Deno.test("KvQueue.work() handles each item once, join() waits for all, shutdown() ends the workers", async () => {
  await withQueue<number>({}, async (queue, kv) => {
    for (let n = 1; n <= 10; n++) await queue.put(n, { key: `n${n}` });
    const seen: [number, KvItemInfo][] = [];
    let running = 0;
    let most = 0;
    const workers = createTask(() =>
      queue.work(async (n, info) => {
        most = Math.max(most, ++running);
        await sleep(5);
        seen.push([n, info]);
        running--;
      }, { concurrency: 3 })
    );
    await queue.join();
    assert.deepEqual(seen.map(([n]) => n).sort((a, b) => a - b), [
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
    ]);
    for (const [n, info] of seen) {
      assert.deepEqual(info, { key: `n${n}`, attempt: 1, maxAttempts: 6 });
    }
    assert.ok(most <= 3, `at most 3 at once, saw ${most}`);
    assert.equal(await count(kv, KEYS.pendingPrefix), 0);
    queue.shutdown();
    await workers;
    await assert.rejects(queue.put(11), QueueShutDown);
  });
});

Deno.test("KvQueue.put() refuses what Deno KV cannot store, naming the argument", async () => {
  await withQueue<unknown>({}, async (queue) => {
    await assert.rejects(
      queue.put(() => 1),
      (e) =>
        e instanceof TypeError &&
        /^Cannot put item: expected item as a structured-cloneable value/
          .test(e.message),
    );
    await assert.rejects(
      queue.put({ nested: Symbol("s") }),
      /expected item as a structured-cloneable value/,
    );
    await assert.rejects(
      queue.put(new Uint8Array(70_000)),
      (e) => e instanceof RangeError && /item is too large/.test(e.message),
    );
    await assert.rejects(
      queue.put(1, { delay: -1 }),
      (e) => e instanceof RangeError && /delay/.test(e.message),
    );
    await assert.rejects(
      queue.put(1, { delay: 31 * 24 * 3600_000 }),
      (e) => e instanceof RangeError && /30 days/.test(e.message),
    );
    await assert.rejects(
      queue.put(1, { key: Symbol("k") as never }),
      (e) =>
        e instanceof TypeError && /expected key as a string/.test(e.message),
    );
    await assert.rejects(
      queue.put(1, null as never),
      (e) => e instanceof TypeError && /expected options/.test(e.message),
    );
    // Nothing half-written: no pending marker for the refused items.
    assert.equal(await count(queue.kv, KEYS.pendingPrefix), 0);
    // Class instances arrive as plain objects, dates as dates.
    const at = new Date(0);
    await queue.put({
      at,
      point: new (class Point {
        x = 1;
      })(),
    });
    const got: unknown[] = [];
    const worker = createTask(() => queue.work((item) => void got.push(item)));
    await queue.join();
    queue.shutdown();
    await worker;
    assert.deepEqual(got, [{ at, point: { x: 1 } }]);
  });
});

Deno.test("new KvQueue() and its methods refuse bad options with TypeError or RangeError", async () => {
  await withQueue<number>({}, async (queue, kv) => {
    const bad: [() => unknown, ErrorConstructor, RegExp][] = [
      [() => new KvQueue({} as never), TypeError, /expected kv as a Deno\.Kv/],
      [() => new KvQueue(kv, { prefix: "q" as never }), TypeError, /prefix/],
      [
        () => new KvQueue(kv, { deadLetter: [Symbol("x")] as never }),
        TypeError,
        /deadLetter\[0\]/,
      ],
      [
        () => new KvQueue(kv, { backoffSchedule: [3_600_001] }),
        RangeError,
        /backoffSchedule\[0\].*3600000/,
      ],
      [() => new KvQueue(kv, { prefetch: -1 }), RangeError, /prefetch/],
      [() => new KvQueue(kv, { pollInterval: 0 }), RangeError, /pollInterval/],
    ];
    for (const [make, type, message] of bad) {
      assert.throws(make, (e) => e instanceof type && message.test(e.message));
    }
    await assert.rejects(
      queue.work(1 as never),
      /expected handler as a function/,
    );
    await assert.rejects(
      queue.work(() => {}, { concurrency: 0 }),
      (e) => e instanceof RangeError && /concurrency/.test(e.message),
    );
    await assert.rejects(queue.once("k", 1 as never), /expected fn/);
    await assert.rejects(
      queue.once("k", () => {}, { expireIn: 0 }),
      (e) => e instanceof RangeError && /expireIn/.test(e.message),
    );
  });
});

Deno.test("KvQueue retries a handler that fails twice, with its backoff, reporting each failure", async () => {
  await withQueue<string>(
    { backoffSchedule: [30, 60] },
    async (queue, kv, reported) => {
      await queue.put("flaky", { key: "job" });
      const attempts: [number, number][] = [];
      const worker = createTask(() =>
        queue.work(async (_item, { attempt }) => {
          attempts.push([attempt, performance.now()]);
          if (attempt < 3) throw new Error(`failure ${attempt}`);
          await queue.once("job", (op) => op.sum(["effect"], 1n));
        })
      );
      await queue.join();
      queue.shutdown();
      await worker;
      assert.deepEqual(attempts.map(([a]) => a), [1, 2, 3]);
      assert.ok(attempts[1][1] - attempts[0][1] >= 29, "30 ms before retry 1");
      assert.ok(attempts[2][1] - attempts[1][1] >= 59, "60 ms before retry 2");
      assert.deepEqual(reported.map((c) => c.message), [
        'KvQueue item "job" failed on attempt 1 of 3: retried in 30 ms',
        'KvQueue item "job" failed on attempt 2 of 3: retried in 60 ms',
      ]);
      assert.equal((reported[1].exception as Error).message, "failure 2");
      assert.equal((await kv.get<Deno.KvU64>(["effect"])).value?.value, 1n);
      assert.deepEqual(await Array.fromAsync(queue.deadLetters()), []);
    },
  );
});

Deno.test("KvQueue moves an item that fails every attempt to the dead letters, with its last error", async () => {
  await withQueue<{ id: number }>(
    { backoffSchedule: [10, 10], deadLetter: ["failed"] },
    async (queue, kv, reported) => {
      await queue.put({ id: 7 }, { key: "poison" });
      const worker = createTask(() =>
        queue.work((_item, { attempt }) => {
          throw new RangeError(`bad input on attempt ${attempt}`);
        })
      );
      await queue.join(); // a dead-lettered item is finished
      queue.shutdown();
      await worker;
      assert.deepEqual(await Array.fromAsync(queue.deadLetters()), [{
        key: "poison",
        item: { id: 7 },
        attempts: 3,
        error: "RangeError: bad input on attempt 3",
        kvKey: ["failed", "poison"],
      }]);
      assert.match(
        reported.at(-1)!.message,
        /^KvQueue item "poison" failed on its last attempt \(3\): moved to the dead letters at \["failed", "poison"\]$/,
      );
      assert.equal(await count(kv, KEYS.pendingPrefix), 0);
    },
  );
});

Deno.test("KvQueue: an item whose handler is cancelled with work() comes back as its next attempt", async () => {
  await withQueue<string>({ backoffSchedule: [10] }, async (queue) => {
    await queue.put("long", { key: "long" });
    const started = new Event();
    const first = createTask(() =>
      queue.work(async () => {
        started.set();
        await sleep(60_000);
      })
    );
    await started.wait();
    first.cancel();
    await assert.rejects(first, CancelledError);
    const attempts: number[] = [];
    const second = createTask(() =>
      queue.work((_item, { attempt }) => void attempts.push(attempt))
    );
    await queue.join();
    queue.shutdown();
    await second;
    assert.deepEqual(attempts, [2]);
  });
});

Deno.test("KvQueue: a handler that catches its cancellation and returns finishes its item", async () => {
  await withQueue<string>({ backoffSchedule: [10] }, async (queue) => {
    await queue.put("careful");
    const started = new Event();
    let finished = 0;
    const worker = createTask(() =>
      queue.work(async () => {
        started.set();
        try {
          await sleep(60_000);
        } catch (error) {
          assert.ok(error instanceof CancelledError);
          finished++; // cleaned up: the item counts as done
        }
      })
    );
    await started.wait();
    worker.cancel();
    await assert.rejects(worker, CancelledError);
    await queue.join(); // nothing pending: not put back
    assert.equal(finished, 1);
  });
});

Deno.test("KvQueue.work()'s timeout fails an attempt that runs too long", async () => {
  await withQueue<string>(
    { backoffSchedule: [10] },
    async (queue, _kv, reported) => {
      await queue.put("slow");
      const attempts: number[] = [];
      const worker = createTask(() =>
        queue.work(async (_item, { attempt }) => {
          attempts.push(attempt);
          if (attempt === 1) await sleep(60_000);
        }, { timeout: 20 })
      );
      await queue.join();
      queue.shutdown();
      await worker;
      assert.deepEqual(attempts, [1, 2]);
      assert.ok(reported[0].exception instanceof TimeoutError);
    },
  );
});

Deno.test("KvQueue holds at most prefetch items besides those in hand, and parks the rest in KV", async () => {
  await withQueue<number>({ prefetch: 2 }, async (queue, kv) => {
    for (let n = 0; n < 20; n++) await queue.put(n, { key: n });
    const go = new Event();
    const handled: number[] = [];
    let inHand = 0;
    const worker = createTask(() =>
      queue.work(async (n) => {
        inHand++;
        await go.wait();
        handled.push(n);
      })
    );
    // Deno KV hands this process all 20 at once; 17 go to the parking area.
    await eventually(
      "17 items parked",
      async () => await count(kv, KEYS.parkedPrefix) === 17,
    );
    assert.equal(inHand, 1);
    assert.match(String(queue), /buffered=2/);
    go.set();
    await queue.join();
    queue.shutdown();
    await worker;
    assert.deepEqual(
      handled.sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.equal(await count(kv, KEYS.parkedPrefix), 0);
  });
});

Deno.test("KvQueue.close() parks the items this process held, for the next consumer", async () => {
  await withQueue<number>({ prefetch: 3 }, async (queue, kv) => {
    for (let n = 0; n < 4; n++) await queue.put(n, { key: n });
    const started = new Event();
    const go = new Event();
    const worker = createTask(() =>
      queue.work(async () => {
        started.set();
        await go.wait();
      })
    );
    await started.wait();
    await eventually("3 buffered", () => /buffered=3/.test(String(queue)));
    const closing = createTask(() => queue.close());
    await sleep(20);
    assert.ok(!closing.done(), "close() waits for the item in hand");
    go.set();
    await closing;
    await worker;
    assert.equal(await count(kv, KEYS.parkedPrefix), 3);
    // The first queue's listener still takes a share of the deliveries
    // (and parks them again) until the Deno.Kv closes: poll often.
    const next = new KvQueue<number>(kv, { pollInterval: 20 });
    const handled: number[] = [];
    const again = createTask(() => next.work((n) => void handled.push(n)));
    await next.join();
    next.shutdown();
    await again;
    assert.equal(handled.length, 3);
  });
});

Deno.test("for await over a KvQueue: shutdown() in the body ends it after the item; break puts the item back", async () => {
  await withQueue<string>(
    { backoffSchedule: [10] },
    async (queue, _kv, reported) => {
      await queue.put("left");
      for await (const item of queue) {
        assert.equal(item, "left");
        break; // not finished: comes back as attempt 2
      }
      assert.match(reported[0].message, /failed on attempt 1 of 2/);
      assert.match(
        (reported[0].exception as Error).message,
        /for-await loop was left/,
      );
      const seen: string[] = [];
      for await (const item of queue) {
        seen.push(item);
        queue.shutdown(); // this item still finishes
      }
      assert.deepEqual(seen, ["left"]);
      await queue.join();
    },
  );
});

Deno.test("KvQueue.once() commits its writes once across repeated and concurrent calls", async () => {
  await withQueue<never>({}, async (queue, kv) => {
    const results = await Promise.all(
      Array.from(
        { length: 5 },
        () => queue.once("charge", (op) => op.sum(["charged"], 1n)),
      ),
    );
    assert.deepEqual(results.filter((r) => r).length, 1);
    assert.equal(await queue.once("charge", () => {}), false);
    assert.equal((await kv.get<Deno.KvU64>(["charged"])).value?.value, 1n);
    // fn's own check failing every time: bounded, then an error.
    await kv.set(["moving"], 1);
    let calls = 0;
    await assert.rejects(
      queue.once("stale", (op) => {
        calls++;
        op.check({ key: ["moving"], versionstamp: "0".repeat(20) });
      }),
      /^Error: Cannot run once for key "stale": 16 commits in a row failed a check$/,
    );
    assert.equal(calls, 16);
  });
});

Deno.test("KvQueue.put() with a delay is not delivered before it", async () => {
  await withQueue<string>({}, async (queue) => {
    const start = performance.now();
    await queue.put("later", { delay: 100 });
    let at = 0;
    const worker = createTask(() =>
      queue.work(() => void (at = performance.now() - start))
    );
    await queue.join();
    queue.shutdown();
    await worker;
    assert.ok(at >= 100, `delivered after ${at} ms`);
  });
});

Deno.test("KvQueue polls Deno KV at the wall clock's pace on a VirtualClock", async () => {
  await withTempDir(async (dir) => {
    using kv = await Deno.openKv(`${dir}/queue.db`);
    let enqueues = 0;
    const enqueue = kv.enqueue.bind(kv);
    kv.enqueue = (value, options) => {
      enqueues++; // the idle consumer's ticks
      return enqueue(value, options);
    };
    await run(async () => {
      const queue = new KvQueue<string>(kv, { pollInterval: 100 });
      const worker = createTask(() => queue.work(() => {}));
      // 300 ms of real time with nothing to do: the loop's clock jumps
      // ahead meanwhile, the polling does not.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(enqueues <= 10, `${enqueues} ticks in 300 ms`);
      await queue.put("still works");
      await queue.join();
      queue.shutdown();
      await worker;
    }, { clock: new VirtualClock() });
    kv.close();
    await sleep0();
  });
});

Deno.test("KvQueue.join() waits for both of two items put with one key", async () => {
  await withQueue<string>({}, async (queue) => {
    await queue.put("first", { key: "same" });
    await queue.put("second", { key: "same" });
    const handled: string[] = [];
    const worker = createTask(() =>
      queue.work(async (item) => {
        if (handled.length === 1) await sleep(50);
        handled.push(item);
      })
    );
    await queue.join();
    assert.equal(handled.length, 2);
    queue.shutdown();
    await worker;
  });
});

Deno.test("KvQueue.join() counts a marker Deno KV overwrote with a dead message as finished", async () => {
  await withQueue<string>({}, async (queue, kv) => {
    // What Deno KV writes when a worker dies holding an item's last
    // attempt: the message over the pending marker, and a dead letter.
    const envelope = {
      [MARK]: "item",
      id: "put-1",
      key: "k",
      item: "x",
      attempt: 6,
    };
    await kv.set(KEYS.pending("put-1"), envelope);
    await kv.set(KEYS.dead("k"), envelope);
    await queue.join();
    assert.equal(await count(kv, KEYS.pendingPrefix), 0);
    assert.deepEqual(await Array.fromAsync(queue.deadLetters()), [{
      key: "k",
      item: "x",
      attempts: 6,
      kvKey: KEYS.dead("k"),
    }]);
    await kv.set(KEYS.pending("busy"), true);
    const joining = createTask(() => queue.join());
    await sleep(20);
    assert.ok(!joining.done(), "a pending item holds join()");
    joining.cancel();
    await assert.rejects(joining, CancelledError);
  });
});

Deno.test("KvQueue takes only messages with every field it needs to settle them", () => {
  const item = { [MARK]: "item", id: "p1", key: "k", item: 1, attempt: 1 };
  assert.ok(isItem(item));
  // A message from another program, or from an older envelope: Deno KV
  // retries it on its own schedule instead of a worker failing on it.
  for (const field of ["id", "key", "item", "attempt"]) {
    const { [field as keyof typeof item]: _, ...rest } = item;
    assert.ok(!isItem(rest), `without ${field}`);
  }
  assert.ok(!isItem({ ...item, attempt: 0 }));
  assert.ok(!isItem({ ...item, id: 7 }));
  assert.ok(!isItem("item"));
});
