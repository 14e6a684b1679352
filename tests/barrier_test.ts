import assert from "node:assert/strict";
import {
  Barrier,
  BrokenBarrierError,
  CancelledError,
  createTask,
  run,
  type Task,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const clock = () => ({ clock: new VirtualClock() });
const N = 5;

function spawn<T>(n: number, fn: () => Promise<T>): Task<T>[] {
  return Array.from({ length: n }, () => createTask(fn));
}

async function all<T>(tasks: Task<T>[]): Promise<T[]> {
  const results: T[] = [];
  for (const task of tasks) results.push(await task);
  return results;
}

Deno.test("Barrier() checks parties", () => {
  assert.throws(() => new Barrier(0), {
    name: "RangeError",
    message:
      "Cannot create barrier: expected parties as an integer >= 1, got 0",
  });
  assert.throws(() => new Barrier(-4), RangeError);
  assert.throws(() => new Barrier(1.5), RangeError);
  assert.throws(() => new Barrier("3" as never), TypeError);
  assert.equal(new Barrier(N).parties, N);
});

Deno.test("Barrier.wait() lets all parties through with distinct indexes", async () => {
  await run(async () => {
    const barrier = new Barrier(3);
    const results = await all(spawn(3, () => barrier.wait()));
    assert.deepEqual(results.sort(), [0, 1, 2]);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }, clock());
});

Deno.test("Barrier(1).wait() passes at once, every time", async () => {
  await run(async () => {
    const barrier = new Barrier(1);
    assert.equal(await barrier.wait(), 0);
    const t1 = createTask(() => barrier.wait());
    const t2 = createTask(() => barrier.wait());
    assert.equal(await t1, 0);
    assert.equal(await t2, 0);
    assert.equal(barrier.nWaiting, 0);
  }, clock());
});

Deno.test("Barrier.nWaiting counts tasks as they arrive", async () => {
  // asyncio's test_filling_task_by_task and test_repr.
  await run(async () => {
    const barrier = new Barrier(3);
    assert.equal(String(barrier), "<Barrier [filling, waiters:0/3]>");
    const t1 = createTask(() => barrier.wait());
    await waitAllTasksBlocked();
    assert.equal(barrier.nWaiting, 1);
    const t2 = createTask(() => barrier.wait());
    await waitAllTasksBlocked();
    assert.equal(barrier.nWaiting, 2);
    assert.equal(String(barrier), "<Barrier [filling, waiters:2/3]>");
    const t3 = createTask(() => barrier.wait());
    assert.deepEqual((await all([t1, t2, t3])).sort(), [0, 1, 2]);
    assert.equal(barrier.nWaiting, 0);
  }, clock());
});

Deno.test("Barrier is draining until the last task of a round leaves", async () => {
  // asyncio's test_draining_state.
  await run(async () => {
    const barrier = new Barrier(N);
    const seen: boolean[] = [];
    await all(spawn(N, async () => {
      await barrier.wait();
      seen.push(String(barrier).includes("draining"));
    }));
    assert.deepEqual(seen, [true, true, true, true, false]);
  }, clock());
});

Deno.test("Barrier.wait() twice in a row fills two rounds", async () => {
  // asyncio's test_filling_tasks_wait_twice and check_return_value.
  await run(async () => {
    const barrier = new Barrier(N);
    const results = await all(spawn(N, async () => {
      await barrier.wait();
      return await barrier.wait();
    }));
    assert.deepEqual(results.sort(), [0, 1, 2, 3, 4]);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }, clock());
});

Deno.test("Barrier.wait() while a round drains waits for the next round", async () => {
  // asyncio's test_blocking_tasks_while_draining.
  await run(async () => {
    const rewait = 2;
    const barrier = new Barrier(N);
    const nowaiting = new Barrier(N - rewait);
    let rewaitLeft = rewait;
    await all(spawn(N, async () => {
      await barrier.wait();
      if (rewaitLeft > 0) {
        rewaitLeft--;
        await barrier.wait();
      } else {
        await nowaiting.wait();
        await barrier.wait();
      }
    }));
    assert.equal(barrier.nWaiting, 0);
  }, clock());
});

Deno.test("Barrier.wait() cancelled while filling leaves the barrier", async () => {
  // asyncio's test_filling_tasks_cancel_one.
  await run(async () => {
    const barrier = new Barrier(3);
    const results: boolean[] = [];
    const coro = async () => {
      await barrier.wait();
      results.push(true);
    };
    const t1 = createTask(coro);
    await waitAllTasksBlocked();
    assert.equal(barrier.nWaiting, 1);
    const t2 = createTask(coro);
    await waitAllTasksBlocked();
    assert.equal(barrier.nWaiting, 2);
    t1.cancel();
    await assert.rejects(t1, CancelledError);
    assert.equal(barrier.nWaiting, 1);
    const t3 = createTask(coro);
    await waitAllTasksBlocked();
    assert.equal(barrier.nWaiting, 2);
    const t4 = createTask(coro);
    await all([t2, t3, t4]);
    assert.deepEqual(results, [true, true, true]);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }, clock());
});

Deno.test("Barrier.reset() of an empty barrier keeps it filling", async () => {
  await run(async () => {
    const barrier = new Barrier(1);
    await barrier.reset();
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }, clock());
});

Deno.test("Barrier.reset() throws BrokenBarrierError in the waiting tasks", async () => {
  // asyncio's test_reset_barrier_while_tasks_waiting.
  await run(async () => {
    const barrier = new Barrier(N);
    let broken = 0;
    const tasks = spawn(N - 1, async () => {
      try {
        await barrier.wait();
      } catch (e) {
        if (e instanceof BrokenBarrierError) broken++;
        else throw e;
      }
    });
    await waitAllTasksBlocked();
    assert.match(String(barrier), /filling, waiters:4\/5/);
    await barrier.reset();
    await all(tasks);
    assert.equal(broken, N - 1);
    assert.equal(barrier.nWaiting, 0);
    assert.doesNotMatch(String(barrier), /resetting/);
    assert.equal(barrier.broken, false);
  }, clock());
});

Deno.test("Barrier.reset() while tasks wait again lets a full round through", async () => {
  // asyncio's test_reset_barrier_while_tasks_waiting_and_waiting_again.
  await run(async () => {
    const barrier = new Barrier(N);
    let broken = 0;
    let passed = 0;
    const tasks = spawn(N - 1, async () => {
      try {
        await barrier.wait();
      } catch (e) {
        if (e instanceof BrokenBarrierError) broken++;
      } finally {
        await barrier.wait();
        passed++;
      }
    });
    await waitAllTasksBlocked();
    await barrier.reset();
    await waitAllTasksBlocked();
    const last = createTask(async () => {
      await barrier.wait();
      passed++;
    });
    await all([...tasks, last]);
    assert.equal(broken, N - 1);
    assert.equal(passed, N);
    assert.equal(barrier.broken, false);
    assert.equal(barrier.nWaiting, 0);
  }, clock());
});

Deno.test("Barrier.reset() by the last task out of a round keeps the next rounds whole", async () => {
  // asyncio's test_reset_barrier_while_tasks_draining: the last task to
  // leave resets the barrier in the same step, before the others re-enter.
  await run(async () => {
    const barrier = new Barrier(N);
    let count = 0;
    let secondOk = 0;
    let secondFailed = 0;
    let thirdOk = 0;
    await all(spawn(N, async () => {
      await barrier.wait();
      count++;
      if (count === N) {
        await barrier.reset();
        await barrier.wait();
      } else {
        try {
          await barrier.wait();
          secondOk++;
        } catch {
          secondFailed++;
        }
      }
      await barrier.wait();
      thirdOk++;
    }));
    assert.equal(barrier.broken, false);
    assert.equal(secondOk, N - 1);
    assert.equal(secondFailed, 0);
    assert.equal(thirdOk, N);
    assert.equal(barrier.nWaiting, 0);
  }, clock());
});

Deno.test("Barrier.reset() breaks tasks waiting in the next round but not the round draining", async () => {
  await run(async () => {
    const barrier = new Barrier(3);
    // Round 1 passes; two tasks then wait in round 2.
    const results = await all(spawn(3, () => barrier.wait()));
    assert.deepEqual(results.sort(), [0, 1, 2]);
    const second = spawn(2, () => barrier.wait());
    await waitAllTasksBlocked();
    assert.equal(barrier.nWaiting, 2);
    await barrier.reset();
    for (const task of second) await assert.rejects(task, BrokenBarrierError);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(String(barrier), "<Barrier [filling, waiters:0/3]>");
    // And the barrier works again.
    assert.deepEqual((await all(spawn(3, () => barrier.wait()))).sort(), [
      0,
      1,
      2,
    ]);
  }, clock());
});

Deno.test("Barrier.abort() breaks the barrier for waiting and later tasks", async () => {
  await run(async () => {
    const barrier = new Barrier(3);
    const waiter = createTask(() => barrier.wait());
    await waitAllTasksBlocked();
    await barrier.abort();
    assert.equal(barrier.broken, true);
    assert.equal(String(barrier), "<Barrier [broken]>");
    await assert.rejects(waiter, {
      name: "BrokenBarrierError",
      message: "Cannot pass barrier: it was reset or aborted while waiting",
    });
    await assert.rejects(barrier.wait(), {
      name: "BrokenBarrierError",
      message: "Cannot pass barrier: it is broken",
    });
    assert.equal(barrier.nWaiting, 0);
  }, clock());
});

Deno.test("Barrier.abort() when one party fails releases the others", async () => {
  // asyncio's test_abort_barrier_when_exception.
  await run(async () => {
    const barrier = new Barrier(N);
    let passedSecond = 0;
    let broken = 0;
    await all(spawn(N, async () => {
      try {
        const i = await barrier.wait();
        if (i === Math.floor(N / 2)) throw new RangeError("failed");
        await barrier.wait();
        passedSecond++;
      } catch (e) {
        if (e instanceof BrokenBarrierError) broken++;
        else if (e instanceof RangeError) await barrier.abort();
        else throw e;
      }
    }));
    assert.equal(barrier.broken, true);
    assert.equal(passedSecond, 0);
    assert.equal(broken, N - 1);
    assert.equal(barrier.nWaiting, 0);
  }, clock());
});

Deno.test("Barrier.reset() after abort() makes the barrier usable again", async () => {
  // asyncio's test_abort_barrier_when_exception_then_resetting.
  await run(async () => {
    const barrier1 = new Barrier(N);
    const barrier2 = new Barrier(N);
    let broken = 0;
    let passed = 0;
    await all(spawn(N, async () => {
      try {
        const i = await barrier1.wait();
        if (i === Math.floor(N / 2)) throw new RangeError("failed");
        await barrier1.wait();
      } catch (e) {
        if (e instanceof BrokenBarrierError) broken++;
        else await barrier1.abort();
      }
      const i = await barrier2.wait();
      if (i === Math.floor(N / 2)) await barrier1.reset();
      await barrier2.wait();
      await barrier1.wait();
      passed++;
    }));
    assert.equal(barrier1.broken, false);
    assert.equal(broken, N - 1);
    assert.equal(passed, N);
    assert.equal(barrier1.nWaiting, 0);
  }, clock());
});

Deno.test("Barrier() refuses bad arguments at the call, naming them", async () => {
  await assertRefuses("new Barrier()", "parties", (v) => new Barrier(v), {
    TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}, PROMISE],
    RangeError: [NaN, -1, 0, 1.5, Infinity],
  });
  assert.equal(new Barrier(3).parties, 3);
});
