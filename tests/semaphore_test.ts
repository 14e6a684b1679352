import assert from "node:assert/strict";
import {
  BoundedSemaphore,
  CancelledError,
  createTask,
  InvalidStateError,
  run,
  Semaphore,
  sleep,
  type Task,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const clock = () => ({ clock: new VirtualClock() });

Deno.test("Semaphore() checks its value", () => {
  assert.equal(String(new Semaphore()), "<Semaphore [unlocked, value:1]>");
  assert.equal(String(new Semaphore(0)), "<Semaphore [locked]>");
  assert.throws(() => new Semaphore(-1), {
    name: "RangeError",
    message:
      "Cannot create semaphore: expected value as an integer >= 0, got -1",
  });
  assert.throws(() => new Semaphore(1.5), RangeError);
  assert.throws(() => new Semaphore(NaN), RangeError);
  assert.throws(() => new Semaphore("2" as never), TypeError);
  assert.throws(() => new BoundedSemaphore(-2), RangeError);
});

Deno.test("Semaphore.acquire() takes permits until none is left, then waits", async () => {
  // asyncio's test_acquire.
  await run(async () => {
    const sem = new Semaphore(3);
    const result: number[] = [];
    assert.equal(await sem.acquire(), true);
    assert.equal(await sem.acquire(), true);
    assert.equal(sem.locked(), false);
    const take = (n: number) =>
      createTask(async () => {
        await sem.acquire();
        result.push(n);
        return true;
      });
    const t1 = take(1);
    const t2 = take(2);
    const t3 = take(3);
    await waitAllTasksBlocked();
    assert.deepEqual(result, [1]);
    assert.equal(sem.locked(), true);
    assert.equal(String(sem), "<Semaphore [locked, waiters:2]>");
    const t4 = take(4);
    sem.release();
    sem.release();
    await waitAllTasksBlocked();
    assert.deepEqual(result, [1, 2, 3]);
    assert.equal(String(sem), "<Semaphore [locked, waiters:1]>");
    assert.equal(await t1, true);
    sem.release();
    for (const task of [t2, t3, t4]) assert.equal(await task, true);
    assert.deepEqual(result, [1, 2, 3, 4]);
  }, clock());
});

Deno.test("Semaphore.acquire() cancelled while waiting leaves the queue", async () => {
  await run(async () => {
    const sem = new Semaphore();
    await sem.acquire();
    const task = createTask(() => sem.acquire());
    await waitAllTasksBlocked();
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(String(sem), "<Semaphore [locked]>");
    sem.release();
    assert.equal(String(sem), "<Semaphore [unlocked, value:1]>");
  }, clock());
});

Deno.test("Semaphore.acquire() cancelled before wake-up: the permit goes to the next waiter", async () => {
  // asyncio's test_acquire_cancel_before_awoken.
  await run(async () => {
    const sem = new Semaphore(0);
    const [t1, t2, t3, t4] = [0, 1, 2, 3].map(() =>
      createTask(() => sem.acquire())
    );
    await waitAllTasksBlocked();
    t1.cancel();
    t2.cancel();
    sem.release();
    await waitAllTasksBlocked();
    assert.ok(t3.done());
    assert.ok(!t4.done());
    t4.cancel();
    await assert.rejects(t1, CancelledError);
    await assert.rejects(t2, CancelledError);
    await assert.rejects(t4, CancelledError);
    assert.equal(String(sem), "<Semaphore [locked]>");
  }, clock());
});

Deno.test("Semaphore.acquire() cancelled after wake-up gives the permit back to the next waiter", async () => {
  await run(async () => {
    const sem = new Semaphore(0);
    const t1 = createTask(() => sem.acquire());
    const t2 = createTask(() => sem.acquire());
    await waitAllTasksBlocked();
    sem.release(); // t1 gets the permit...
    t1.cancel(); // ...and is cancelled before it resumes
    await assert.rejects(t1, CancelledError);
    assert.equal(await t2, true);
    assert.equal(String(sem), "<Semaphore [locked]>");
    sem.release();
    assert.equal(String(sem), "<Semaphore [unlocked, value:1]>");
  }, clock());
});

Deno.test("Semaphore.acquire() cancelled after wake-up with nobody behind restores the count", async () => {
  // asyncio's test_acquire_hang, and the permit is not lost.
  await run(async () => {
    const sem = new Semaphore(0);
    const t1 = createTask(() => sem.acquire());
    await waitAllTasksBlocked();
    sem.release();
    t1.cancel();
    await assert.rejects(t1, CancelledError);
    assert.equal(String(sem), "<Semaphore [unlocked, value:1]>");
  }, clock());
});

Deno.test("Semaphore.hold() does not hang when a waiter is cancelled while the holder sleeps", async () => {
  // asyncio's test_acquire_no_hang.
  await run(async () => {
    const sem = new Semaphore(1);
    const later: Task<void>[] = []; // t2, created after t1 as in asyncio
    const t1 = createTask(async () => {
      {
        using _ = await sem.hold();
        await sleep(0);
      }
      later[0].cancel();
    });
    const t2 = createTask(async () => {
      using _ = await sem.hold();
      assert.fail("t2 must not get the permit");
    });
    later.push(t2);
    await t1;
    await assert.rejects(t2, CancelledError);
    assert.equal(await sem.acquire(), true);
  }, clock());
});

Deno.test("Semaphore.acquire() serves tasks in FIFO order", async () => {
  // asyncio's test_acquire_fifo_order.
  await run(async () => {
    const sem = new Semaphore(1);
    const result: string[] = [];
    const coro = async (tag: string) => {
      for (const round of [1, 2]) {
        await sem.acquire();
        result.push(`${tag}_${round}`);
        await sleep(10);
        sem.release();
      }
    };
    const tasks = ["c1", "c2", "c3"].map((tag) => createTask(() => coro(tag)));
    for (const task of tasks) await task;
    assert.deepEqual(result, ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]);
  }, clock());
});

Deno.test("Semaphore.acquire() after release() queues behind earlier waiters", async () => {
  // asyncio's test_acquire_fifo_order_2.
  await run(async () => {
    const sem = new Semaphore(1);
    const result: number[] = [];
    const t1 = createTask(async () => {
      await sem.acquire();
      result.push(1);
    });
    const t2 = createTask(async () => {
      await sem.acquire();
      result.push(2);
      sem.release();
      await sem.acquire();
      result.push(4);
    });
    const t3 = createTask(async () => {
      await sem.acquire();
      result.push(3);
    });
    await waitAllTasksBlocked();
    sem.release();
    sem.release();
    await t1;
    await t2;
    await t3;
    assert.deepEqual(result, [1, 2, 3, 4]);
  }, clock());
});

Deno.test("Semaphore.release() skips a waiter cancelled earlier", async () => {
  // asyncio's test_acquire_fifo_order_3.
  await run(async () => {
    const sem = new Semaphore(0);
    const result: number[] = [];
    const tasks = [1, 2, 3].map((n) =>
      createTask(async () => {
        await sem.acquire();
        result.push(n);
      })
    );
    await waitAllTasksBlocked();
    tasks[0].cancel();
    await waitAllTasksBlocked();
    sem.release();
    sem.release();
    await assert.rejects(tasks[0], CancelledError);
    await tasks[1];
    await tasks[2];
    assert.deepEqual(result, [2, 3]);
  }, clock());
});

Deno.test("Semaphore.acquire() waits while an earlier waiter is on its way, then wakes as many as permits allow", async () => {
  // asyncio's test_acquire_fifo_order_4.
  await run(async () => {
    const sem = new Semaphore(0);
    const result: number[] = [];
    let t4: Task<void> | undefined;
    const t1 = createTask(async () => {
      await sem.acquire();
      t4 = createTask(async () => {
        result.push(4);
      });
      result.push(1);
    });
    const t2 = createTask(async () => {
      sem.release();
      sem.release();
      sem.release();
      // Two permits are free, but t1 was woken first and has not run.
      assert.equal(sem.locked(), true);
      await sem.acquire();
      result.push(2);
    });
    const t3 = createTask(async () => {
      await sem.acquire();
      assert.equal(sem.locked(), true);
      result.push(3);
    });
    await t1;
    await t2;
    await t3;
    await t4;
    assert.deepEqual(result, [1, 2, 3, 4]);
  }, clock());
});

Deno.test("Semaphore.release() beyond the initial value is allowed", async () => {
  await run(async () => {
    const sem = new Semaphore(1);
    sem.release();
    assert.equal(String(sem), "<Semaphore [unlocked, value:2]>");
  }, clock());
});

Deno.test("BoundedSemaphore.release() beyond the initial value throws InvalidStateError", async () => {
  await run(async () => {
    const sem = new BoundedSemaphore(2);
    assert.throws(() => sem.release(), {
      name: "InvalidStateError",
      message:
        "Cannot release semaphore: released more times than acquired (value 2)",
    });
    await sem.acquire();
    await sem.acquire();
    sem.release();
    sem.release();
    assert.throws(() => sem.release(), InvalidStateError);
    assert.equal(String(sem), "<BoundedSemaphore [unlocked, value:2]>");
  }, clock());
});

Deno.test("BoundedSemaphore.release() hands a permit to a waiter without counting it free", async () => {
  await run(async () => {
    const sem = new BoundedSemaphore(1);
    await sem.acquire();
    const waiter = createTask(() => sem.acquire());
    await waitAllTasksBlocked();
    sem.release(); // handed to the waiter
    assert.equal(await waiter, true);
    sem.release();
    assert.throws(() => sem.release(), InvalidStateError);
  }, clock());
});

Deno.test("Semaphore.hold() and withPermit() give the permit back on every exit path", async () => {
  await run(async () => {
    const sem = new Semaphore(2);
    let active = 0;
    let peak = 0;
    const work = async (ms: number) => {
      using _ = await sem.hold();
      peak = Math.max(peak, ++active);
      try {
        await sleep(ms);
        if (ms === 30) throw new Error("failed");
      } finally {
        active--;
      }
    };
    const tasks = [10, 20, 30, 40, 50].map((ms) => createTask(() => work(ms)));
    await sleep(15);
    tasks[4].cancel(); // still waiting for a permit
    await tasks[0];
    await tasks[1];
    await assert.rejects(tasks[2], { message: "failed" });
    await tasks[3];
    await assert.rejects(tasks[4], CancelledError);
    assert.equal(peak, 2);
    assert.equal(
      await sem.withPermit(() => String(sem)),
      "<Semaphore [unlocked, value:1]>",
    );
    await assert.rejects(
      sem.withPermit(() => Promise.reject(new Error("x"))),
      { message: "x" },
    );
    assert.equal(String(sem), "<Semaphore [unlocked, value:2]>");
  }, clock());
});

Deno.test("Semaphore refuses bad arguments at the call, naming them", async () => {
  for (const Class of [Semaphore, BoundedSemaphore]) {
    await assertRefuses(`new ${Class.name}()`, "value", (v) => new Class(v), {
      TypeError: [null, "5", true, Symbol("s"), 5n, {}, PROMISE],
      RangeError: [NaN, -1, 1.5, Infinity],
    });
  }
  await run(async () => {
    const sem = new Semaphore(2);
    await assertRefuses("withPermit()", "fn", (v) => sem.withPermit(v), {
      TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}, PROMISE],
    });
    assert.equal(String(sem), "<Semaphore [unlocked, value:2]>");
    assert.equal(
      await sem.withPermit(() => String(sem)),
      "<Semaphore [unlocked, value:1]>",
    );
  }, clock());
});
