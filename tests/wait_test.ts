import assert from "node:assert/strict";
import {
  ALL_COMPLETED,
  CancelledError,
  createTask,
  currentTask,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  getRunningLoop,
  InvalidStateError,
  Queue,
  run,
  shield,
  sleep,
  timeout,
  TimeoutError,
  wait,
  waitFor,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const clock = () => ({ clock: new VirtualClock() });
const now = () => getRunningLoop().time();

function failAfter(ms: number, message: string): () => Promise<never> {
  return async () => {
    await sleep(ms);
    throw new Error(message);
  };
}

// --- wait ---

Deno.test("wait() ALL_COMPLETED returns when every awaitable is done", async () => {
  await run(async () => {
    const a = createTask(() => sleep(10, "a"));
    const b = createTask(failAfter(20, "b"));
    const c = createTask(() => sleep(30, "c"));
    const [done, pending] = await wait([a, b, c]);
    assert.deepEqual(done, new Set([a, b, c]));
    assert.equal(pending.size, 0);
    assert.equal(now(), 30);
    assert.throws(() => b.result(), { message: "b" });
    const [done2] = await wait([a], { returnWhen: ALL_COMPLETED });
    assert.deepEqual(done2, new Set([a]));
  }, clock());
});

Deno.test("wait() FIRST_COMPLETED returns after the first one finishes", async () => {
  await run(async () => {
    const a = createTask(() => sleep(30, "a"));
    const b = createTask(() => sleep(10, "b"));
    const [done, pending] = await wait([a, b], { returnWhen: FIRST_COMPLETED });
    assert.deepEqual(done, new Set([b]));
    assert.deepEqual(pending, new Set([a]));
    assert.equal(now(), 10);
    assert.ok(!a.cancelled());
    await a;
  }, clock());
});

Deno.test("wait() FIRST_EXCEPTION returns at the first error, not at a cancellation", async () => {
  await run(async () => {
    const cancelled = createTask(() => sleep(1000));
    const ok = createTask(() => sleep(10, "ok"));
    const bad = createTask(failAfter(20, "bad"));
    const slow = createTask(() => sleep(30, "slow"));
    getRunningLoop().callLater(5, () => cancelled.cancel());
    const [done, pending] = await wait([cancelled, ok, bad, slow], {
      returnWhen: FIRST_EXCEPTION,
    });
    assert.deepEqual(done, new Set([cancelled, ok, bad]));
    assert.deepEqual(pending, new Set([slow]));
    assert.equal(now(), 20);
    await slow;
  }, clock());
});

Deno.test("wait() FIRST_EXCEPTION without errors waits for all", async () => {
  await run(async () => {
    const a = createTask(() => sleep(10));
    const b = createTask(() => sleep(20));
    const [done, pending] = await wait([a, b], { returnWhen: FIRST_EXCEPTION });
    assert.equal(done.size, 2);
    assert.equal(pending.size, 0);
    assert.equal(now(), 20);
  }, clock());
});

Deno.test("wait() timeout returns what is pending without cancelling it", async () => {
  await run(async () => {
    const fast = createTask(() => sleep(10, "fast"));
    const slow = createTask(() => sleep(100, "slow"));
    const [done, pending] = await wait([fast, slow], { timeout: 50 });
    assert.deepEqual(done, new Set([fast]));
    assert.deepEqual(pending, new Set([slow]));
    assert.equal(now(), 50);
    assert.ok(!slow.cancelled());
    assert.equal(await slow, "slow");
    const [done2] = await wait([createTask(() => sleep(5))], { timeout: null });
    assert.equal(done2.size, 1);
  }, clock());
});

Deno.test("wait() with everything done still takes one loop iteration", async () => {
  await run(async () => {
    const future = new Future<number>();
    future.setResult(1);
    let ticked = false;
    getRunningLoop().callSoon(() => (ticked = true));
    const [done, pending] = await wait([future], { timeout: 0 });
    assert.ok(ticked);
    assert.deepEqual(done, new Set([future]));
    assert.equal(pending.size, 0);
  }, clock());
});

Deno.test("wait() cancelled while waiting throws CancelledError and leaves the awaitables running", async () => {
  await run(async () => {
    const a = createTask(() => sleep(100, "a"));
    const waiter = createTask(() => wait([a], { timeout: 50 }));
    await sleep(10);
    waiter.cancel();
    await assert.rejects(waiter, CancelledError);
    assert.ok(!a.cancelled());
    assert.equal(await a, "a");
    assert.equal(now(), 100);
  }, clock());
});

Deno.test("wait() wraps promises and starts functions; a Future given twice counts once", async () => {
  await run(async () => {
    const future = new Future<string>();
    getRunningLoop().callLater(5, () => future.setResult("f"));
    const [done, pending] = await wait<string>([
      future,
      future,
      Promise.resolve("p"),
      () => sleep(10, "fn"),
    ]);
    assert.equal(done.size, 3);
    assert.equal(pending.size, 0);
    assert.deepEqual(
      new Set([...done].map((f) => f.result())),
      new Set(["f", "p", "fn"]),
    );
  }, clock());
});

Deno.test("wait() rejects bad input", async () => {
  await run(async () => {
    const task = createTask(() => sleep(1));
    await assert.rejects(wait(task as never), {
      name: "TypeError",
      message: "Cannot wait: expected an iterable of awaitables, got a Task",
    });
    await assert.rejects(wait(5 as never), TypeError);
    await assert.rejects(wait([]), {
      name: "RangeError",
      message: "Cannot wait: no awaitables given",
    });
    await assert.rejects(
      wait([task], { returnWhen: "SOMETIME" as never }),
      RangeError,
    );
    await assert.rejects(wait([task], { timeout: "1" as never }), TypeError);
    await assert.rejects(wait([task], { timeout: NaN }), RangeError);
    await assert.rejects(wait([task, 5 as never]), {
      name: "TypeError",
      message:
        /^Cannot wait: expected a Future, Task, promise or function at index 1, got a number/,
    });
    await task;
  }, clock());
  await assert.rejects(wait([Promise.resolve(1)]), InvalidStateError);
});

// --- waitFor ---

Deno.test("waitFor() returns the result in time", async () => {
  await run(async () => {
    assert.equal(await waitFor(() => sleep(10, "fn"), 100), "fn");
    const task = createTask(() => sleep(10, "task"));
    assert.equal(await waitFor(task, 100), "task");
    assert.equal(await waitFor(Promise.resolve("promise"), 100), "promise");
    const future = new Future<string>();
    getRunningLoop().callSoon(() => future.setResult("future"));
    assert.equal(await waitFor(future, 100), "future");
    assert.equal(now(), 20);
  }, clock());
});

Deno.test("waitFor() on timeout cancels the task, waits for its cleanup, then throws TimeoutError", async () => {
  await run(async () => {
    let cleanedUpAt = -1;
    const inner = createTask(async () => {
      try {
        await sleep(10_000);
      } catch (error) {
        await sleep(50); // cleanup takes time
        cleanedUpAt = now();
        throw error;
      }
    });
    const error = await waitFor(inner, 100).catch((e) => e);
    assert.ok(error instanceof TimeoutError);
    assert.ok(error.cause instanceof CancelledError);
    assert.equal(cleanedUpAt, 150);
    assert.equal(now(), 150);
    assert.ok(inner.cancelled());
    assert.equal(currentTask()!.cancelling(), 0);
  }, clock());
});

Deno.test("waitFor() runs a function in the awaiting task, so a get cut by the deadline loses no item", async () => {
  await run(async () => {
    const queue = new Queue<string>();
    // The item arrives in the iteration in which the deadline passes.
    getRunningLoop().callLater(100, () => queue.putNowait("item"));
    const waiter = currentTask();
    await assert.rejects(
      waitFor(() => {
        assert.equal(currentTask(), waiter);
        return queue.get();
      }, 100),
      TimeoutError,
    );
    assert.equal(queue.getNowait(), "item");
  }, clock());
});

Deno.test("waitFor() starts a function's body at once: cancelled at its first await, it still cleans up", async () => {
  await run(async () => {
    const steps: string[] = [];
    const waiter = createTask(() =>
      waitFor(async () => {
        steps.push("started");
        try {
          await sleep(1000);
        } catch (error) {
          steps.push("cleaned up");
          throw error;
        }
      }, 500)
    );
    await sleep(0); // the waiter's first step calls waitFor
    waiter.cancel();
    await assert.rejects(waiter, CancelledError);
    assert.deepEqual(steps, ["started", "cleaned up"]);
  }, clock());
});

Deno.test("waitFor() returns the value of an awaitable that swallows the cancellation", async () => {
  await run(async () => {
    const result = await waitFor(async () => {
      try {
        await sleep(10_000);
      } catch {
        return 42;
      }
    }, 100);
    assert.equal(result, 42);
    assert.equal(now(), 100);
  }, clock());
});

Deno.test("waitFor() rethrows an error raised during the cancellation", async () => {
  await run(async () => {
    await assert.rejects(
      waitFor(async () => {
        try {
          await sleep(200);
        } finally {
          // deno-lint-ignore no-unsafe-finally
          throw new RangeError("during cancellation");
        }
      }, 10),
      RangeError,
    );
  }, clock());
});

Deno.test("waitFor() with null or undefined waits without limit", async () => {
  await run(async () => {
    assert.equal(await waitFor(() => sleep(3_600_000, "late"), null), "late");
    assert.equal(await waitFor(() => sleep(1000, "later")), "later");
    assert.equal(now(), 3_601_000);
  }, clock());
});

Deno.test("waitFor() with 0 or less returns a done result, else cancels at once", async () => {
  await run(async () => {
    const done = new Future<string>();
    done.setResult("done");
    assert.equal(await waitFor(done, 0), "done");
    let started = false;
    await assert.rejects(
      waitFor(async () => {
        started = true;
        await sleep(1);
      }, 0),
      TimeoutError,
    );
    assert.equal(started, false, "the function never started");
    const pending = createTask(() => sleep(100));
    await assert.rejects(waitFor(pending, -5), TimeoutError);
    assert.ok(pending.cancelled());
    const failed = new Future<string>();
    failed.setException(new RangeError("failed"));
    await assert.rejects(waitFor(failed, 0), RangeError);
    assert.equal(now(), 0);
  }, clock());
});

Deno.test("waitFor() with 0 waits for the task's cleanup", async () => {
  await run(async () => {
    let cleanedUp = false;
    const inner = createTask(async () => {
      try {
        await sleep(10_000);
      } catch (error) {
        await sleep(5);
        cleanedUp = true;
        throw error;
      }
    });
    await sleep(1);
    const error = await waitFor(inner, 0).catch((e) => e);
    assert.ok(error instanceof TimeoutError);
    assert.ok(error.cause instanceof CancelledError);
    assert.ok(cleanedUp);
    assert.equal(now(), 6);
    // A task that swallows the cancellation gives its result.
    const stubborn = createTask(async () => {
      try {
        await sleep(10_000);
      } catch {
        return "swallowed";
      }
    });
    await sleep(1);
    assert.equal(await waitFor(stubborn, 0), "swallowed");
  }, clock());
});

Deno.test("waitFor() cancelled from outside cancels the awaitable and stays CancelledError", async () => {
  await run(async () => {
    for (const ms of [60_000, null, undefined]) {
      const inner = createTask(() => new Future<void>());
      const waiter = createTask(() => waitFor(inner, ms));
      getRunningLoop().callSoon(() => waiter.cancel());
      await assert.rejects(waiter, CancelledError);
      assert.ok(waiter.cancelled());
      assert.ok(inner.cancelled(), `inner cancelled with ms=${ms}`);
    }
  }, clock());
});

Deno.test("waitFor() with 0, cancelled while waiting for the cleanup, stays CancelledError", async () => {
  await run(async () => {
    const inner = createTask(async () => {
      try {
        await sleep(10_000);
      } catch {
        await sleep(100); // a long cleanup
      }
    });
    await sleep(1);
    const waiter = createTask(() => waitFor(inner, 0));
    await sleep(10);
    waiter.cancel();
    await assert.rejects(waiter, CancelledError);
    assert.equal(now(), 11);
    await inner;
  }, clock());
});

Deno.test("waitFor() cancelled right after the awaitable finished is still cancelled", async () => {
  await run(async () => {
    // CPython gh-86296: the result does not win over the cancellation.
    const inner = createTask(async () => "done");
    let reachedEnd = false;
    const task = createTask(async () => {
      await waitFor(inner, 100);
      await sleep(1000);
      reachedEnd = true;
    });
    await sleep(0);
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(await inner, "done");
    assert.ok(!reachedEnd);
  }, clock());
});

Deno.test("waitFor() of a shielded task leaves the task running on timeout", async () => {
  await run(async () => {
    const task = createTask(() => sleep(100, "done"));
    await assert.rejects(waitFor(shield(task), 10), TimeoutError);
    assert.ok(!task.done() && !task.cancelled());
    assert.equal(await task, "done");
    const task0 = createTask(() => sleep(10, "zero"));
    const shielded = shield(task0);
    await assert.rejects(waitFor(shielded, 0), TimeoutError);
    assert.ok(shielded.cancelled());
    assert.ok(!task0.cancelled());
    assert.equal(await task0, "zero");
  }, clock());
});

Deno.test("waitFor() of a plain promise stops only the wait", async () => {
  await run(async () => {
    let settle!: (value: string) => void;
    const promise = new Promise<string>((resolve) => (settle = resolve));
    await assert.rejects(waitFor(promise, 10), TimeoutError);
    settle("late");
    assert.equal(await promise, "late");
  }, clock());
});

Deno.test("waitFor() cut by an enclosing timeout: the TimeoutError is the scope's", async () => {
  await run(async () => {
    const inner = createTask(() => sleep(10_000));
    const seen: string[] = [];
    await assert.rejects(
      timeout(10, async () => {
        try {
          await waitFor(inner, 5000);
        } catch (error) {
          seen.push(`waitFor threw ${(error as Error).name}`);
          throw error;
        }
      }),
      TimeoutError,
    );
    assert.deepEqual(seen, ["waitFor threw CancelledError"]);
    assert.ok(inner.cancelled());
    assert.equal(now(), 10);
  }, clock());
});

Deno.test("waitFor() rejects bad input", async () => {
  await run(async () => {
    await assert.rejects(waitFor(5 as never, 10), {
      name: "TypeError",
      message:
        "Cannot wait for: expected a Future, Task, promise or function, got a number",
    });
    await assert.rejects(waitFor(() => sleep(1), "10" as never), TypeError);
    await assert.rejects(waitFor(() => sleep(1), NaN), RangeError);
  }, clock());
  await assert.rejects(waitFor(Promise.resolve(1), 10), {
    name: "InvalidStateError",
    message: /^Cannot wait for: not inside a task/,
  });
});

Deno.test("wait() and waitFor() refuse bad arguments at the call, naming them", async () => {
  await run(async () => {
    const time = [null, "5", true, Symbol("s"), 5n, {}, PROMISE];
    await assertRefuses(
      "wait(aws, options)",
      "options",
      (v) => wait([sleep(1)], v),
      {
        TypeError: [null, "5", true, Symbol("s"), 5n, 5, PROMISE],
      },
    );
    await assertRefuses(
      "wait(aws, { timeout })",
      "timeout",
      (v) => wait([sleep(1)], { timeout: v }),
      { TypeError: time.slice(1), RangeError: [NaN] },
    );
    await assertRefuses(
      "wait(aws, { returnWhen })",
      "returnWhen",
      (v) => wait([sleep(1)], { returnWhen: v }),
      { TypeError: [Symbol("s"), 5n, 5, {}], RangeError: ["5", "first"] },
    );
    await assertRefuses("waitFor(aw, ms)", "ms", (v) => waitFor(sleep(1), v), {
      TypeError: time.slice(1),
      RangeError: [NaN],
    });
    const [done] = await wait([sleep(1, "ok")], { timeout: null });
    assert.equal([...done][0].result(), "ok");
  }, { clock: new VirtualClock() });
});
