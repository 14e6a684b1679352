import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  defaultExecutor,
  gather,
  getRunningLoop,
  InvalidStateError,
  run,
  runInExecutor,
  shutdownDefaultExecutor,
  sleep,
  toThread,
  WorkerExecutor,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";

const JOBS = new URL("./fixtures/executor_jobs.ts", import.meta.url);
const MISSING = new URL("./fixtures/missing-asyncio-test.bin", import.meta.url)
  .pathname;

Deno.test("WorkerExecutor.submit() returns the export's result", async () => {
  await run(async () => {
    await using pool = new WorkerExecutor({ maxWorkers: 2 });
    assert.equal(await pool.submit(JOBS, "add", [2, 3]), 5);
    assert.equal(await pool.submit(JOBS.href, "later", ["async"]), "async");
    assert.ok(pool.workerCount >= 1 && pool.workerCount <= 2);
  });
});

Deno.test("WorkerExecutor runs at most maxWorkers jobs at once, FIFO beyond", async () => {
  await run(async () => {
    await using pool = new WorkerExecutor({ maxWorkers: 2 });
    const shared = new SharedArrayBuffer(12);
    const jobs = Array.from(
      { length: 6 },
      () => pool.submit<number>(JOBS, "overlap", [shared, 2, 200]),
    );
    assert.equal(pool.workerCount, 2);
    await gather(jobs);
    assert.equal(new Int32Array(shared)[1], 2);
    assert.equal(pool.workerCount, 2);
  });
});

Deno.test("WorkerExecutor re-creates errors with their class, message and stack", async () => {
  await run(async () => {
    await using pool = new WorkerExecutor({ maxWorkers: 1 });
    await assert.rejects(pool.submit(JOBS, "throwsType"), (error) => {
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "bad thing");
      assert.match(error.stack!, /executor_jobs\.ts/);
      return true;
    });
    await assert.rejects(pool.submit(JOBS, "throwsCustom"), (error) => {
      assert.ok(error instanceof Error);
      assert.equal(error.name, "MyError");
      assert.equal(error.message, "custom failure");
      assert.equal((error as { code?: string }).code, "E_MINE");
      return true;
    });
    await assert.rejects(
      pool.submit(JOBS, "readMissing", [MISSING]),
      (error) => {
        assert.ok(error instanceof Deno.errors.NotFound);
        assert.match((error as Error).message, /missing-asyncio-test\.bin/);
        return true;
      },
    );
    await assert.rejects(
      pool.submit(JOBS, "throwsString"),
      (error) => error === "just a string",
    );
  });
});

Deno.test("WorkerExecutor.submit() rejects bad input with TypeError", async () => {
  await run(async () => {
    await using pool = new WorkerExecutor({ maxWorkers: 1 });
    assert.throws(
      () => pool.submit("./relative.ts", "f"),
      /Cannot submit job: expected an absolute module URL/,
    );
    assert.throws(
      () => pool.submit(JOBS, ""),
      /expected the name of an exported function, got an empty string/,
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => pool.submit(JOBS, "add", 1 as any),
      /expected the arguments as an array/,
    );
    await assert.rejects(
      pool.submit(JOBS, "notAFunction"),
      /has no exported function "notAFunction" \(it is number\)/,
    );
    await assert.rejects(pool.submit(JOBS, "missing"), TypeError);
    await assert.rejects(
      pool.submit(JOBS, "add", [() => 1]),
      /Cannot submit job: an argument of "add" cannot be cloned/,
    );
    await assert.rejects(
      pool.submit(JOBS, "returnsFunction"),
      /Cannot return from worker: the result of "returnsFunction" cannot be cloned/,
    );
    // The pool still works after all that.
    assert.equal(await pool.submit(JOBS, "add", [1, 1]), 2);
  });
  assert.throws(() => new WorkerExecutor({ maxWorkers: 0 }), RangeError);
  assert.throws(() => new WorkerExecutor({ idleTimeout: -1 }), RangeError);
});

Deno.test("WorkerExecutor: cancelling a running job terminates its worker; a new one takes over", async () => {
  await run(async () => {
    await using pool = new WorkerExecutor({ maxWorkers: 1 });
    const spinning = pool.submit(JOBS, "spin");
    const queued = pool.submit(JOBS, "add", [20, 22]);
    const waiter = createTask(() => spinning);
    await sleep(20);
    waiter.cancel();
    await assert.rejects(waiter, CancelledError);
    assert.ok(spinning.cancelled());
    assert.equal(await queued, 42);
    assert.equal(pool.workerCount, 1);
  });
});

Deno.test("WorkerExecutor: cancelling a queued job drops it", async () => {
  await run(async () => {
    await using pool = new WorkerExecutor({ maxWorkers: 1 });
    const shared = new SharedArrayBuffer(12);
    const first = pool.submit(JOBS, "overlap", [shared, 1, 0]);
    const dropped = pool.submit(JOBS, "overlap", [shared, 1, 0]);
    const third = pool.submit(JOBS, "add", [1, 2]);
    dropped.cancel();
    assert.equal(await first, 1);
    assert.equal(await third, 3);
    assert.ok(dropped.cancelled());
  });
});

Deno.test("WorkerExecutor.shutdown() lets jobs finish, cancels queued ones on request, refuses new ones", async () => {
  await run(async () => {
    const pool = new WorkerExecutor({ maxWorkers: 1 });
    const running = pool.submit(JOBS, "later", ["done"]);
    const queued = pool.submit(JOBS, "add", [1, 2]);
    await sleep(0);
    const closing = pool.shutdown({ cancelFutures: true });
    assert.throws(() => pool.submit(JOBS, "add", [1, 2]), InvalidStateError);
    await closing;
    assert.equal(await running, "done");
    assert.ok(queued.cancelled());
    assert.equal(pool.workerCount, 0);
    await pool.shutdown(); // again: harmless
  });
});

Deno.test("WorkerExecutor ends idle workers after idleTimeout", async () => {
  await run(async () => {
    const pool = new WorkerExecutor({ maxWorkers: 2, idleTimeout: 5 });
    await gather(
      pool.submit(JOBS, "add", [1, 2]),
      pool.submit(JOBS, "add", [3, 4]),
    );
    assert.ok(pool.workerCount > 0);
    while (pool.workerCount > 0) await sleep(5); // ends once they idle 5 ms
    assert.equal(await pool.submit(JOBS, "add", [5, 6]), 11);
    await pool.shutdown();
  });
});

Deno.test("toThread() and runInExecutor() use the loop's default executor", async () => {
  await run(async () => {
    assert.equal(await toThread(JOBS, "add", 40, 2), 42);
    assert.equal(await runInExecutor(undefined, JOBS, "add", 1, 2), 3);
    const pool = defaultExecutor();
    assert.equal(defaultExecutor(getRunningLoop()), pool);
    await shutdownDefaultExecutor();
    assert.equal(pool.workerCount, 0);
    assert.notEqual(defaultExecutor(), pool);
    await shutdownDefaultExecutor();
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => runInExecutor({} as any, JOBS, "add"),
      /Cannot run in executor: expected a WorkerExecutor or undefined, got an object/,
    );
  });
  assert.throws(() => toThread(JOBS, "add", 1, 2), InvalidStateError);
});

Deno.test("toThread() holds a VirtualClock while the worker computes", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const start = loop.time();
    const timer = createTask(() => sleep(60_000));
    const n = await toThread<number>(JOBS, "busy", 20);
    assert.ok(n > 0);
    assert.equal(loop.time(), start);
    timer.cancel();
    await shutdownDefaultExecutor();
  }, { clock: new VirtualClock() });
});

Deno.test("EventLoop.runInExecutor() uses the default pool, which run() shuts down on the way out", async () => {
  const work = "data:text/javascript,export const add = (a, b) => a + b;";
  const result = await run(async () => {
    const loop = getRunningLoop();
    return await loop.runInExecutor<number>(undefined, work, "add", 2, 3);
  });
  assert.equal(result, 5);
  // No explicit shutdown: run() closed the workers, or the sanitizers fail.
});
