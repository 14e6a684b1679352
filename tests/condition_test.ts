import assert from "node:assert/strict";
import {
  CancelledError,
  Condition,
  createTask,
  InvalidStateError,
  Lock,
  run,
  sleep,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { assertRefuses, NOT_FUNCTIONS, PROMISE } from "./_bad_args.ts";

const clock = () => ({ clock: new VirtualClock() });

/** A task that takes the lock, waits once and records `n` if notified. */
function waiterTask(cond: Condition, result: number[], n: number) {
  return createTask(async () => {
    await cond.acquire();
    if (await cond.wait()) result.push(n);
    cond.release();
    return true;
  });
}

Deno.test("Condition.wait() releases the lock and returns holding it after notify()", async () => {
  // asyncio's test_wait: notified tasks return one at a time, as the lock
  // passes from one to the next.
  await run(async () => {
    const cond = new Condition();
    const result: number[] = [];
    const tasks = [1, 2, 3].map((n) =>
      createTask(async () => {
        await cond.acquire();
        if (await cond.wait()) result.push(n);
        return true; // keeps the lock: the next release is main's
      })
    );
    await waitAllTasksBlocked();
    assert.deepEqual(result, []);
    assert.equal(cond.locked(), false);

    assert.equal(await cond.acquire(), true);
    cond.notify();
    await waitAllTasksBlocked();
    assert.deepEqual(result, []); // notified, but main holds the lock
    assert.equal(cond.locked(), true);

    cond.release();
    await waitAllTasksBlocked();
    assert.deepEqual(result, [1]);
    assert.equal(cond.locked(), true);

    cond.notify(2);
    await waitAllTasksBlocked();
    assert.deepEqual(result, [1]);

    cond.release();
    await waitAllTasksBlocked();
    assert.deepEqual(result, [1, 2]);

    cond.release();
    await waitAllTasksBlocked();
    assert.deepEqual(result, [1, 2, 3]);
    assert.equal(cond.locked(), true);
    for (const task of tasks) assert.equal(await task, true);
    cond.release();
  }, clock());
});

Deno.test("Condition.wait() without the lock throws InvalidStateError", async () => {
  await run(async () => {
    const cond = new Condition();
    await assert.rejects(cond.wait(), {
      name: "InvalidStateError",
      message: "Cannot wait on condition: lock is not acquired",
    });
  }, clock());
});

Deno.test("Condition.wait() cancelled while waiting re-acquires the lock and leaves no waiter", async () => {
  // asyncio's test_wait_cancel.
  await run(async () => {
    const cond = new Condition();
    await cond.acquire();
    const wait = createTask(() => cond.wait());
    await waitAllTasksBlocked();
    assert.equal(cond.locked(), false);
    wait.cancel();
    await assert.rejects(wait, CancelledError);
    assert.equal(String(cond), "<Condition [locked]>");
    cond.release();
  }, clock());
});

Deno.test("Condition.wait() notified, then cancelled while the lock is contested, still returns", async () => {
  // asyncio's test_wait_cancel_contested: the cancel arrives while the
  // task waits for the lock after being notified; it keeps trying, gets
  // the lock and throws CancelledError holding it.
  await run(async () => {
    const cond = new Condition();
    await cond.acquire();
    const waitTask = createTask(() => cond.wait());
    await waitAllTasksBlocked();
    assert.equal(cond.locked(), false);
    await cond.acquire();
    cond.notify();
    await waitAllTasksBlocked(); // now waiting for the lock
    waitTask.cancel();
    cond.release();
    await assert.rejects(waitTask, CancelledError);
    assert.equal(cond.locked(), true); // re-acquired before throwing
    cond.release();
  }, clock());
});

Deno.test("Condition.wait() cancelled after notify() while re-acquiring still runs the caller's finally", async () => {
  // asyncio's test_wait_cancel_after_notify (bpo-32841).
  await run(async () => {
    const cond = new Condition();
    let waited = false;
    const waiter = createTask(async () => {
      using _ = await cond.hold();
      waited = true;
      await cond.wait();
    });
    await waitAllTasksBlocked();
    await cond.acquire();
    cond.notify();
    await waitAllTasksBlocked(); // the waiter is now in acquire()
    waiter.cancel();
    await waitAllTasksBlocked();
    cond.release();
    await assert.rejects(waiter, CancelledError);
    assert.ok(waited);
    assert.equal(cond.locked(), false); // released by the waiter's using
  }, clock());
});

Deno.test("Condition.waitFor() re-checks the predicate after each notify", async () => {
  await run(async () => {
    const cond = new Condition();
    let ready = false;
    const result: number[] = [];
    const task = createTask(async () => {
      await cond.acquire();
      if (await cond.waitFor(() => ready)) {
        result.push(1);
        cond.release();
      }
      return true;
    });
    await waitAllTasksBlocked();
    await cond.withLock(() => cond.notify());
    await waitAllTasksBlocked();
    assert.deepEqual(result, []);
    ready = true;
    await cond.withLock(() => cond.notify());
    await waitAllTasksBlocked();
    assert.deepEqual(result, [1]);
    assert.equal(await task, true);
  }, clock());
});

Deno.test("Condition.waitFor() returns a truthy predicate at once, without the lock", async () => {
  await run(async () => {
    const cond = new Condition();
    assert.deepEqual(await cond.waitFor(() => [1, 2, 3]), [1, 2, 3]);
    await assert.rejects(cond.waitFor(() => false), InvalidStateError);
    await assert.rejects(
      cond.waitFor(42 as never),
      (e: unknown) => e instanceof TypeError && /predicate/.test(e.message),
    );
  }, clock());
});

Deno.test("Condition.notify() wakes n waiters in FIFO order", async () => {
  await run(async () => {
    const cond = new Condition();
    const result: number[] = [];
    const tasks = [1, 2, 3].map((n) => waiterTask(cond, result, n));
    await waitAllTasksBlocked();
    assert.equal(String(cond), "<Condition [unlocked, waiters:3]>");
    await cond.withLock(() => cond.notify(1));
    await waitAllTasksBlocked();
    assert.deepEqual(result, [1]);
    await cond.withLock(() => {
      cond.notify(1);
      cond.notify(2048);
    });
    await waitAllTasksBlocked();
    assert.deepEqual(result, [1, 2, 3]);
    for (const task of tasks) assert.equal(await task, true);
  }, clock());
});

Deno.test("Condition.notifyAll() wakes every waiter", async () => {
  await run(async () => {
    const cond = new Condition();
    const result: number[] = [];
    const tasks = [1, 2].map((n) => waiterTask(cond, result, n));
    await waitAllTasksBlocked();
    await cond.withLock(() => cond.notifyAll());
    for (const task of tasks) await task;
    assert.deepEqual(result, [1, 2]);
  }, clock());
});

Deno.test("Condition.notify() without the lock throws InvalidStateError", () => {
  const cond = new Condition();
  assert.throws(() => cond.notify(), {
    name: "InvalidStateError",
    message: "Cannot notify condition: lock is not acquired",
  });
  assert.throws(() => cond.notifyAll(), InvalidStateError);
});

Deno.test("Condition.notify() rejects a count that is not a non-negative integer", async () => {
  await run(async () => {
    const cond = new Condition();
    await cond.withLock(() => {
      assert.throws(() => cond.notify(-1), RangeError);
      assert.throws(() => cond.notify(1.5), RangeError);
      assert.throws(() => cond.notify(NaN), RangeError);
      assert.throws(() => cond.notify("2" as never), TypeError);
      cond.notify(0);
    });
  }, clock());
});

Deno.test("Condition shares an explicit Lock", async () => {
  // asyncio's test_explicit_lock.
  await run(async () => {
    const lock = new Lock();
    const a = new Condition(lock);
    const b = new Condition(lock);
    {
      using _ = await a.hold();
      assert.ok(lock.locked());
      assert.ok(b.locked());
    }
    assert.ok(!lock.locked() && !a.locked() && !b.locked());
    await lock.withLock(() => {
      assert.ok(a.locked());
    });
    assert.throws(
      () => new Condition({} as Lock),
      {
        name: "TypeError",
        message:
          "Cannot create condition: expected lock as a Lock, got an object",
      },
    );
  }, clock());
});

Deno.test("Condition.wait() cancelled while waiting throws the very CancelledError it got", async () => {
  // asyncio's test_cancelled_error_wakeup.
  await run(async () => {
    const cond = new Condition();
    let raised: unknown;
    const task = createTask(async () => {
      using _ = await cond.hold();
      try {
        await cond.waitFor(() => false);
      } catch (e) {
        raised = e;
        throw e;
      }
    });
    await waitAllTasksBlocked();
    task.cancel("foo");
    const error = await task.then(() => undefined, (e) => e);
    assert.ok(error instanceof CancelledError);
    assert.equal(error.message, "foo");
    assert.ok(raised instanceof CancelledError && raised.message === "foo");
    assert.equal(cond.locked(), false);
  }, clock());
});

Deno.test("Condition.wait() cancelled while re-acquiring throws that CancelledError", async () => {
  // asyncio's test_cancelled_error_re_aquire.
  await run(async () => {
    const cond = new Condition();
    let wake = false;
    let raised: unknown;
    const task = createTask(async () => {
      using _ = await cond.hold();
      try {
        await cond.waitFor(() => wake);
      } catch (e) {
        raised = e;
        throw e;
      }
    });
    await waitAllTasksBlocked();
    await cond.acquire();
    wake = true;
    cond.notify();
    await waitAllTasksBlocked(); // the task now waits for the lock
    task.cancel("foo");
    cond.release();
    await assert.rejects(task, { name: "CancelledError", message: "foo" });
    assert.ok(raised instanceof CancelledError && raised.message === "foo");
    assert.equal(cond.locked(), false);
  }, clock());
});

/** asyncio's consumer for the lost-wake-up tests. */
function consumers(cond: Condition, state: { value: number }) {
  return [0, 1].map(() =>
    createTask(async () => {
      using _ = await cond.hold();
      for (;;) {
        await cond.waitFor(() => state.value !== 0);
        if (state.value < 0) return;
        state.value--;
      }
    })
  );
}

Deno.test("Condition.notify() is not lost when the notified task is cancelled before it resumes", async () => {
  // asyncio's test_cancelled_wakeup.
  await run(async () => {
    const cond = new Condition();
    const state = { value: 0 };
    const [c0, c1] = consumers(cond, state);
    await waitAllTasksBlocked();
    await cond.acquire();
    state.value++;
    cond.notify(1);
    c0.cancel(); // woken, not yet resumed
    cond.release();
    await sleep(10);
    assert.equal(state.value, 0); // c1 got the notification
    await cond.acquire();
    state.value = -1;
    cond.notifyAll();
    cond.release();
    await c1;
    await assert.rejects(c0, CancelledError);
  }, clock());
});

Deno.test("Condition.notify() is not lost when the notified task is cancelled while re-locking", async () => {
  // asyncio's test_cancelled_wakeup_relock.
  await run(async () => {
    const cond = new Condition();
    const state = { value: 0 };
    const [c0, c1] = consumers(cond, state);
    await waitAllTasksBlocked();
    await cond.acquire();
    state.value++;
    cond.notify(1);
    await waitAllTasksBlocked(); // c0 now waits for the lock
    c0.cancel();
    cond.release();
    await sleep(10);
    assert.equal(state.value, 0);
    await cond.acquire();
    state.value = -1;
    cond.notifyAll();
    cond.release();
    await c1;
    await assert.rejects(c0, CancelledError);
  }, clock());
});

Deno.test("Condition.hold() and withLock() release the lock on every exit path", async () => {
  await run(async () => {
    const cond = new Condition();
    await assert.rejects(
      cond.withLock(() => {
        throw new Error("inside");
      }),
      { message: "inside" },
    );
    assert.equal(cond.locked(), false);
    const task = createTask(async () => {
      using _ = await cond.hold();
      await cond.wait();
    });
    await waitAllTasksBlocked();
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(cond.locked(), false);
    assert.equal(String(cond), "<Condition [unlocked]>");
  }, clock());
});

Deno.test("Condition refuses bad arguments at the call, naming them", async () => {
  await assertRefuses("new Condition()", "lock", (v) => new Condition(v), {
    TypeError: [null, "5", true, Symbol("s"), 5n, {}, PROMISE],
  });
  await run(async () => {
    const cond = new Condition();
    await assertRefuses("withLock()", "fn", (v) => cond.withLock(v), {
      TypeError: NOT_FUNCTIONS,
    });
    assert.equal(cond.locked(), false);
    await cond.acquire();
    await assertRefuses("waitFor()", "predicate", (v) => cond.waitFor(v), {
      TypeError: NOT_FUNCTIONS,
    });
    await assertRefuses("notify()", "n", (v) => cond.notify(v), {
      TypeError: [null, "5", true, Symbol("s"), 5n, {}, PROMISE],
      RangeError: [NaN, -1, 1.5, -Infinity],
    });
    cond.notify(Infinity);
    cond.release();
    assert.equal(await cond.withLock(() => cond.locked()), true);
  }, clock());
});
