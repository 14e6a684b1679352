import assert from "node:assert/strict";
import {
  asCompleted,
  CancelledError,
  createTask,
  currentTask,
  Future,
  getRunningLoop,
  run,
  sleep,
  type Task,
  TimeoutError,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const clock = () => ({ clock: new VirtualClock() });
const now = () => getRunningLoop().time();

Deno.test("asCompleted() yields results in completion order", async () => {
  await run(async () => {
    const tasks = [30, 10, 20].map((ms) => createTask(() => sleep(ms, ms)));
    const seen: [number, number][] = [];
    for await (const result of asCompleted(tasks)) seen.push([result, now()]);
    assert.deepEqual(seen, [[10, 10], [20, 20], [30, 30]]);
  }, clock());
});

Deno.test("asCompleted() plain iteration yields promises for the results in order", async () => {
  await run(async () => {
    const results: number[] = [];
    const aws = [() => sleep(30, 30), () => sleep(10, 10), () => sleep(20, 20)];
    for (const next of asCompleted(aws)) results.push(await next);
    assert.deepEqual(results, [10, 20, 30]);
    const all = await Promise.all([...asCompleted([
      () => sleep(2, "b"),
      () => sleep(1, "a"),
    ])]);
    assert.deepEqual(all, ["a", "b"]);
  }, clock());
});

Deno.test("asCompleted() a failure ends for await; plain iteration handles each", async () => {
  await run(async () => {
    const makeBad = () =>
      createTask(async () => {
        await sleep(5);
        throw new RangeError("bad");
      });
    const good = createTask(() => sleep(10, "good"));
    const bad = makeBad();
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const result of asCompleted([good, bad])) seen.push(result);
    }, RangeError);
    assert.deepEqual(seen, []);
    const order: string[] = [];
    const good2 = createTask(() => sleep(10, "good"));
    for (const next of asCompleted([good2, makeBad()])) {
      try {
        order.push(await next);
      } catch (error) {
        order.push((error as Error).message);
      }
    }
    assert.deepEqual(order, ["bad", "good"]);
    const [first] = asCompleted([
      (async () => {
        throw new RangeError("rejected");
      })(),
    ]);
    await assert.rejects(first, RangeError);
  }, clock());
});

Deno.test("asCompleted() with a timeout throws TimeoutError and leaves the rest running", async () => {
  await run(async () => {
    const fast = createTask(() => sleep(10, "fast"));
    const slow = createTask(() => sleep(100, "slow"));
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const result of asCompleted([fast, slow], { timeout: 50 })) {
        seen.push(result);
      }
    }, TimeoutError);
    assert.deepEqual(seen, ["fast"]);
    assert.equal(now(), 50);
    assert.ok(!slow.cancelled());
    assert.equal(await slow, "slow");
    const iterator = asCompleted([createTask(() => sleep(100))], {
      timeout: 10,
    })
      [Symbol.iterator]();
    await assert.rejects(iterator.next().value!, TimeoutError);
  }, clock());
});

Deno.test("asCompleted() with a timeout that does not pass yields everything", async () => {
  await run(async () => {
    const results: number[] = [];
    for await (
      const result of asCompleted([() => sleep(10, 1)], { timeout: 100 })
    ) {
      results.push(result);
    }
    assert.deepEqual(results, [1]);
    await sleep(200); // the timer was cancelled: nothing fires
  }, clock());
});

Deno.test("asCompleted() of nothing ends at once", async () => {
  await run(async () => {
    for await (const _ of asCompleted([])) assert.fail("nothing to yield");
    for (const _ of asCompleted([], { timeout: 10 })) assert.fail("nothing");
  }, clock());
});

Deno.test("asCompleted() cancelled while waiting loses nothing", async () => {
  await run(async () => {
    const tasks = [10, 20, 30].map((ms) => createTask(() => sleep(ms, ms)));
    const results: number[] = [];
    let cancels = 0;
    const consumer = createTask(async () => {
      const iterator = asCompleted(tasks)[Symbol.asyncIterator]();
      for (;;) {
        try {
          const next = await iterator.next();
          if (next.done) break;
          results.push(next.value);
        } catch (error) {
          assert.ok(error instanceof CancelledError);
          cancels++;
          currentTask()!.uncancel();
        }
      }
    });
    await sleep(5);
    consumer.cancel();
    await sleep(10); // 15: the first result arrived meanwhile
    consumer.cancel();
    await consumer;
    assert.equal(cancels, 2);
    assert.deepEqual(results, [10, 20, 30]);
  }, clock());
});

Deno.test("asCompleted() a cancel arriving with the next future keeps it for the next call", async () => {
  await run(async () => {
    const future = new Future<string>();
    const iterable = asCompleted([future]);
    const iterator = iterable[Symbol.asyncIterator]();
    const consumer: Task<unknown> = createTask(() => iterator.next());
    await waitAllTasksBlocked();
    future.setResult("kept"); // wakes the consumer on the next iteration
    getRunningLoop().callSoon(() => consumer.cancel());
    await assert.rejects(consumer, CancelledError);
    const next = await iterator.next();
    assert.deepEqual(next, { done: false, value: "kept" });
    assert.equal((await iterator.next()).done, true);
  }, clock());
});

Deno.test("asCompleted() after a break goes on with the rest, and cancels nothing", async () => {
  await run(async () => {
    const tasks = [10, 20, 30].map((ms) => createTask(() => sleep(ms, ms)));
    const completions = asCompleted(tasks, { timeout: 100 });
    for await (const result of completions) {
      assert.equal(result, 10);
      break;
    }
    assert.ok(!tasks[1].cancelled());
    const rest: number[] = [];
    for await (const result of completions) rest.push(result);
    assert.deepEqual(rest, [20, 30]);
    await sleep(200); // the timeout timer is gone once all finished
  }, clock());
});

Deno.test("asCompleted() plain iteration: whichever promise is awaited first gets the first to finish", async () => {
  await run(async () => {
    const tasks = [30, 10, 20].map((ms) => createTask(() => sleep(ms, ms)));
    const [first, second, third] = [...asCompleted(tasks)];
    assert.equal(await third, 10);
    assert.equal(await first, 20);
    assert.equal(await second, 30);
    // A promise never awaited waits for nothing, so it cannot reject
    // unhandled (Deno would fail this test if it did).
    const failing = createTask(async () => {
      await sleep(5);
      throw new Error("unawaited");
    });
    assert.equal([...asCompleted([failing])].length, 1);
    await assert.rejects(failing, /unawaited/);
    await sleep(10);
  }, clock());
});

Deno.test("asCompleted() plain iteration: a promise awaited later does not take the result a woken one is on its way to", async () => {
  await run(async () => {
    const fast = createTask(() => sleep(10, 10));
    const slow = createTask(() => sleep(20, 20));
    const [first, second] = [...asCompleted([fast, slow])];
    const a = createTask(() => first);
    await waitAllTasksBlocked(); // `a` waits for the first to finish
    // `b` resumes in the iteration `fast` finishes in, after `a` was woken
    // for its result and before `a` took it.
    const b = createTask(async () => {
      await fast;
      return await second;
    });
    assert.equal(await a, 10);
    assert.equal(await b, 20);
  }, clock());
});

Deno.test("asCompleted() wraps promises, starts functions and yields a repeated Future once", async () => {
  await run(async () => {
    const future = new Future<string>();
    getRunningLoop().callLater(30, () => future.setResult("future"));
    const results: string[] = [];
    for await (
      const result of asCompleted<string>([
        future,
        future,
        () => sleep(10, "fn"),
        Promise.resolve("promise"),
      ])
    ) {
      results.push(result);
    }
    assert.deepEqual(results, ["promise", "fn", "future"]);
  }, clock());
});

Deno.test("asCompleted() rejects bad input", async () => {
  await run(async () => {
    const task = createTask(() => sleep(1));
    assert.throws(() => asCompleted(task as never), {
      name: "TypeError",
      message:
        "Cannot iterate as completed: expected an iterable of awaitables, got a Task",
    });
    assert.throws(() => asCompleted(5 as never), TypeError);
    assert.throws(() => asCompleted("abc" as never), TypeError);
    assert.throws(() => asCompleted([task], { timeout: NaN }), RangeError);
    assert.throws(
      () => asCompleted([task], { timeout: "1" as never }),
      TypeError,
    );
    assert.throws(() => asCompleted([task, 5 as never]), {
      name: "TypeError",
      message: /at index 1, got a number/,
    });
    await task;
  }, clock());
});

Deno.test("asCompleted() refuses bad options at the call, naming them", async () => {
  await run(async () => {
    await assertRefuses(
      "asCompleted(aws, options)",
      "options",
      (v) => asCompleted([sleep(1)], v),
      { TypeError: [null, "5", true, Symbol("s"), 5n, 5, PROMISE] },
    );
    await assertRefuses(
      "asCompleted(aws, { timeout })",
      "timeout",
      (v) => asCompleted([sleep(1)], { timeout: v }),
      {
        TypeError: ["5", true, Symbol("s"), 5n, {}, PROMISE],
        RangeError: [NaN],
      },
    );
    const results: number[] = [];
    for await (const value of asCompleted([sleep(2, 2), sleep(1, 1)], {})) {
      results.push(value);
    }
    assert.deepEqual(results, [1, 2]);
  }, clock());
});
