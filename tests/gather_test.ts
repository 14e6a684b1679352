import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  type ExceptionContext,
  Future,
  gather,
  getRunningLoop,
  newEventLoop,
  run,
  sleep,
  type Task,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";

const clock = () => ({ clock: new VirtualClock() });

function fail(ms: number, message: string): () => Promise<never> {
  return async () => {
    await sleep(ms);
    throw new Error(message);
  };
}

Deno.test("gather() returns results in argument order", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const task = createTask(() => sleep(30, "task"));
    const future = new Future<string>();
    loop.callLater(10, () => future.setResult("future"));
    const promise = Promise.resolve("promise");
    const results = await gather(
      task,
      future,
      promise,
      () => sleep(20, "function"),
      async () => "async function",
    );
    assert.deepEqual(results, [
      "task",
      "future",
      "promise",
      "function",
      "async function",
    ]);
    assert.equal(loop.time(), 30);
  }, clock());
});

Deno.test("gather() with no awaitables resolves to an empty array", async () => {
  await run(async () => {
    const outer = gather();
    assert.ok(outer.done());
    assert.deepEqual(await outer, []);
    assert.deepEqual(await gather([]), []);
    assert.deepEqual(await gather({ returnExceptions: true }), []);
  }, clock());
});

Deno.test("gather() propagates the first error without cancelling the others", async () => {
  const reports: ExceptionContext[] = [];
  await run(async () => {
    const loop = getRunningLoop();
    loop.setExceptionHandler((_, context) => reports.push(context));
    const slow = createTask(() => sleep(100, "slow"));
    const later = createTask(fail(50, "later"));
    const outer = gather(slow, fail(10, "first"), later);
    await assert.rejects(outer, { message: "first" });
    assert.equal(loop.time(), 10);
    assert.ok(!slow.cancelled() && !later.cancelled());
    assert.equal(await slow, "slow");
    assert.equal(loop.time(), 100);
    assert.ok(later.done());
    // Cancelling a finished gather cancels nothing.
    assert.equal(outer.cancel(), false);
  }, clock());
  // The later error was marked retrieved by gather: nothing reported.
  assert.deepEqual(reports, []);
});

Deno.test("gather() with returnExceptions puts errors and cancellations in place", async () => {
  await run(async () => {
    const cancelled = createTask(() => sleep(1000));
    const outer = gather(
      () => sleep(10, 1),
      fail(20, "two"),
      cancelled,
      { returnExceptions: true },
    );
    await sleep(5);
    cancelled.cancel("on its own");
    const results = await outer;
    assert.equal(results[0], 1);
    assert.ok(results[1] instanceof Error);
    assert.equal((results[1] as Error).message, "two");
    assert.ok(results[2] instanceof CancelledError);
    assert.equal((results[2] as Error).message, "on its own");
  }, clock());
});

Deno.test("gather() a child cancelled on its own fails it with CancelledError and leaves the others", async () => {
  await run(async () => {
    const child = createTask(() => sleep(1000));
    const other = createTask(() => sleep(50, "other"));
    const outer = gather(child, other);
    await sleep(10);
    child.cancel("child only");
    await assert.rejects(outer, {
      name: "CancelledError",
      message: "child only",
    });
    assert.ok(!outer.cancelled(), "the gather is failed, not cancelled");
    assert.ok(!other.cancelled());
    assert.equal(await other, "other");
  }, clock());
});

Deno.test("gather() cancel() cancels every child not done and ends in CancelledError", async () => {
  await run(async () => {
    const seen: string[] = [];
    const child = (name: string, ms: number) => async () => {
      try {
        await sleep(ms);
        seen.push(`${name} done`);
      } catch (error) {
        seen.push(`${name} ${(error as Error).name}`);
        throw error;
      }
    };
    const done = createTask(child("done", 5));
    const a = createTask(child("a", 100));
    const b = createTask(child("b", 200));
    const outer = gather(done, a, b);
    await sleep(10);
    assert.equal(outer.cancel("stop"), true);
    assert.ok(!outer.done(), "waits for the children, like Task.cancel()");
    await assert.rejects(outer, { name: "CancelledError", message: "stop" });
    assert.ok(a.cancelled() && b.cancelled() && !done.cancelled());
    assert.deepEqual(seen, [
      "done done",
      "a CancelledError",
      "b CancelledError",
    ]);
    assert.equal(getRunningLoop().time(), 10);
  }, clock());
});

Deno.test("gather() cancel() returns false when no child could be cancelled", async () => {
  await run(async () => {
    const a = new Future<string>();
    const outer = gather(a);
    a.setResult("a"); // the gather's callback is scheduled, not run
    assert.ok(!outer.done());
    assert.equal(outer.cancel(), false);
    assert.deepEqual(await outer, ["a"]);
  }, clock());
});

Deno.test("gather() with returnExceptions still ends in CancelledError when cancelled", async () => {
  await run(async () => {
    const outer = gather(() => sleep(100), () => sleep(200), {
      returnExceptions: true,
    });
    await sleep(10);
    outer.cancel();
    await assert.rejects(outer, CancelledError);
  }, clock());
});

Deno.test("gather() cancelling the task that awaits it cancels the children", async () => {
  await run(async () => {
    const children: Task<unknown>[] = [];
    const waiter = createTask(async () => {
      children.push(createTask(() => sleep(100)), createTask(() => sleep(200)));
      return await gather(children);
    });
    await sleep(10);
    waiter.cancel("from outside");
    await assert.rejects(waiter, { name: "CancelledError" });
    assert.ok(waiter.cancelled());
    assert.ok(children.every((child) => child.cancelled()));
    assert.equal(getRunningLoop().time(), 10);
  }, clock());
});

Deno.test("gather() a child that swallows cancellation keeps its result", async () => {
  await run(async () => {
    const stubborn = createTask(async () => {
      try {
        await sleep(100);
      } catch {
        return "kept";
      }
    });
    const outer = gather(stubborn, () => sleep(100, "other"), {
      returnExceptions: true,
    });
    await sleep(10);
    outer.cancel();
    // A child was cancelled: the gather still ends in CancelledError.
    await assert.rejects(outer, CancelledError);
    assert.equal(await stubborn, "kept");
  }, clock());
});

Deno.test("gather() accepts one iterable for 200,000 tasks", async () => {
  await run(async () => {
    const count = 200_000;
    const tasks = new Array<Task<number>>(count);
    for (let i = 0; i < count; i++) {
      tasks[i] = createTask(() => sleep(i % 7, i));
    }
    const results = await gather(tasks);
    assert.equal(results.length, count);
    assert.equal(results[0], 0);
    assert.equal(results[count - 1], count - 1);
    assert.ok(results.every((value, i) => value === i));
  }, clock());
});

Deno.test("gather() accepts a Set, a generator and options after the iterable", async () => {
  await run(async () => {
    const a = createTask(() => sleep(2, "a"));
    const b = createTask(() => sleep(1, "b"));
    assert.deepEqual(await gather(new Set([a, b])), ["a", "b"]);
    function* generate() {
      yield () => sleep(1, 1);
      yield fail(1, "boom");
    }
    const results = await gather(generate(), { returnExceptions: true });
    assert.equal(results[0], 1);
    assert.equal((results[1] as Error).message, "boom");
    assert.deepEqual(await gather([a], undefined), ["a"]);
  }, clock());
});

Deno.test("gather() awaits a repeated Future once and runs a repeated function twice", async () => {
  await run(async () => {
    const future = new Future<string>();
    getRunningLoop().callLater(5, () => future.setResult("once"));
    let calls = 0;
    const work = async () => {
      await sleep(1);
      return ++calls;
    };
    const promise = Promise.resolve("p");
    const results = await gather(future, work, future, work, promise, promise);
    assert.deepEqual(results, ["once", 1, "once", 2, "p", "p"]);
    assert.equal(calls, 2);
  }, clock());
});

Deno.test("gather() of work already done is done at once", async () => {
  await run(async () => {
    const a = new Future<number>();
    a.setResult(1);
    const b = createTask(() => 2, { eager: true });
    const outer = gather(a, b);
    assert.ok(outer.done());
    assert.deepEqual(outer.result(), [1, 2]);
    const failed = new Future<number>();
    failed.setException(new RangeError("bad"));
    const failing = gather(a, failed);
    assert.ok(failing.done());
    assert.throws(() => failing.result(), RangeError);
  }, clock());
});

Deno.test("gather() treats a plain thenable object as an awaitable, not options", async () => {
  await run(async () => {
    const thenable = {
      then(resolve: (value: number) => void) {
        resolve(42);
      },
    };
    assert.deepEqual(await gather(thenable as PromiseLike<number>), [42]);
  }, clock());
});

Deno.test("gather() rejects bad input with a TypeError and starts nothing", async () => {
  await run(async () => {
    let started = false;
    const work = async () => {
      started = true;
    };
    const bad: unknown[][] = [
      [5],
      [null],
      [work, "text"],
      [work, [work]],
      [[work], 5],
      [[work], { returnExceptions: true }, 3],
      [[work, 5]],
      [work, { returnExceptions: "yes" }],
    ];
    for (const args of bad) {
      assert.throws(
        () => (gather as (...args: unknown[]) => unknown)(...args),
        (error: unknown) =>
          error instanceof TypeError &&
          error.message.startsWith("Cannot gather: "),
        `gather(${args.map(String).join(", ")})`,
      );
    }
    await sleep(1);
    assert.equal(started, false);
  }, clock());
});

Deno.test("gather() refuses Futures of different loops", async () => {
  const other = newEventLoop();
  try {
    await run(async () => {
      const foreign = other.createFuture<number>();
      const mine = new Future<number>();
      assert.throws(() => gather(mine, foreign), {
        name: "TypeError",
        message: /different event loop/,
      });
      mine.cancel();
    }, clock());
  } finally {
    other.close();
  }
});

Deno.test("gather() cancelled while a child's result is on its way still ends cancelled", async () => {
  await run(async () => {
    const a = createTask(() => sleep(10, "a"));
    const b = createTask(() => sleep(1000, "b"));
    const outer = gather(a, b);
    await waitAllTasksBlocked();
    await sleep(10); // a is done now; b is not
    assert.equal(outer.cancel(), true);
    await assert.rejects(outer, CancelledError);
    assert.equal(a.result(), "a");
    assert.ok(b.cancelled());
  }, clock());
});

Deno.test("gather() awaited by a task cancelled after its children finished ends the task cancelled", async () => {
  await run(async () => {
    const child = new Future<number>();
    const task = createTask(() => gather(child));
    await waitAllTasksBlocked();
    child.setResult(5); // the gather's callback is scheduled, not run yet
    assert.equal(task.cancel(), true);
    await assert.rejects(task, CancelledError); // as CPython 3.13 does
  }, { clock: new VirtualClock() });
});
