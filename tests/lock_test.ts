import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  EventLoop,
  getRunningLoop,
  InvalidStateError,
  Lock,
  run,
  sleep,
  type Task,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { WaiterList } from "../src/_waiters.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const clock = () => ({ clock: new VirtualClock() });

Deno.test("Lock.acquire() takes a free lock at once and release() frees it", async () => {
  await run(async () => {
    const lock = new Lock();
    assert.equal(lock.locked(), false);
    assert.equal(await lock.acquire(), true);
    assert.equal(lock.locked(), true);
    lock.release();
    assert.equal(lock.locked(), false);
  }, clock());
});

Deno.test("Lock.acquire() wakes waiters in FIFO order", async () => {
  await run(async () => {
    const lock = new Lock();
    const order: number[] = [];
    await lock.acquire();
    const tasks = [1, 2, 3, 4, 5].map((n) =>
      createTask(async () => {
        await lock.acquire();
        order.push(n);
        await sleep(1);
        lock.release();
      })
    );
    await waitAllTasksBlocked();
    assert.equal(String(lock), "<Lock [locked, waiters:5]>");
    lock.release();
    for (const task of tasks) await task;
    assert.deepEqual(order, [1, 2, 3, 4, 5]);
    assert.equal(String(lock), "<Lock [unlocked]>");
  }, clock());
});

Deno.test("Lock.acquire() after release() waits behind earlier waiters", async () => {
  await run(async () => {
    const lock = new Lock();
    const order: string[] = [];
    await lock.acquire();
    const waiter = createTask(async () => {
      await lock.acquire();
      order.push("waiter");
      lock.release();
    });
    await waitAllTasksBlocked();
    lock.release();
    // The lock went to the waiter: the releasing task queues behind it.
    assert.equal(lock.locked(), true);
    await lock.acquire();
    order.push("releaser");
    lock.release();
    await waiter;
    assert.deepEqual(order, ["waiter", "releaser"]);
  }, clock());
});

Deno.test("Lock.release() of an unlocked lock throws InvalidStateError", async () => {
  await run(async () => {
    const lock = new Lock();
    assert.throws(() => lock.release(), {
      name: "InvalidStateError",
      message: "Cannot release lock: lock is not acquired",
    });
    await lock.acquire();
    lock.release();
    assert.throws(() => lock.release(), InvalidStateError);
  }, clock());
});

Deno.test("Lock.acquire() cancelled while waiting leaves the queue", async () => {
  await run(async () => {
    const lock = new Lock();
    await lock.acquire();
    const task = createTask(() => lock.acquire());
    await waitAllTasksBlocked();
    assert.equal(String(lock), "<Lock [locked, waiters:1]>");
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(String(lock), "<Lock [locked]>");
    lock.release();
    assert.equal(lock.locked(), false);
  }, clock());
});

Deno.test("Lock.acquire() cancelled after wake-up hands the lock to the next waiter", async () => {
  await run(async () => {
    const lock = new Lock();
    await lock.acquire();
    const b = createTask(() => lock.acquire());
    const c = createTask(() => lock.acquire());
    await waitAllTasksBlocked();
    lock.release(); // b is woken with the lock...
    b.cancel(); // ...and cancelled before it resumes
    await assert.rejects(b, CancelledError);
    assert.equal(await c, true);
    assert.equal(lock.locked(), true);
    lock.release();
    assert.equal(lock.locked(), false);
    assert.equal(String(lock), "<Lock [unlocked]>");
  }, clock());
});

Deno.test("Lock.acquire() cancelled after wake-up with nobody behind unlocks the lock", async () => {
  await run(async () => {
    const lock = new Lock();
    await lock.acquire();
    const b = createTask(() => lock.acquire());
    await waitAllTasksBlocked();
    lock.release();
    assert.equal(lock.locked(), true); // handed to b
    b.cancel();
    await assert.rejects(b, CancelledError);
    assert.equal(lock.locked(), false);
    assert.equal(await lock.acquire(), true);
  }, clock());
});

Deno.test("Lock.acquire() cancelled in the same step as a release skips to the next waiter", async () => {
  // asyncio's test_cancel_race: A releases while B is being cancelled.
  await run(async () => {
    const lock = new Lock();
    const order: string[] = [];
    const lockit = async (name: string, blocker?: PromiseLike<void>) => {
      await lock.acquire();
      try {
        order.push(name);
        if (blocker) await blocker;
      } finally {
        lock.release();
      }
    };
    const gate = getRunningLoop().createFuture<void>();
    const a = createTask(() => lockit("A", gate));
    await waitAllTasksBlocked();
    const b = createTask(() => lockit("B"));
    const c = createTask(() => lockit("C"));
    await waitAllTasksBlocked();
    gate.setResult();
    b.cancel();
    await a;
    await assert.rejects(b, CancelledError);
    await c;
    assert.deepEqual(order, ["A", "C"]);
    assert.equal(lock.locked(), false);
  }, clock());
});

Deno.test("Lock.release() racing a cancel takes the lock only once", async () => {
  // asyncio's test_cancel_release_race (bpo-32734).
  await run(async (): Promise<void> => {
    const lock = new Lock();
    let lockCount = 0;
    const lockit = async () => {
      await lock.acquire();
      lockCount++;
    };
    await lock.acquire();
    const t1 = createTask(lockit);
    const t2 = createTask(lockit);
    const t3: Task<void> = createTask(lockit);
    await waitAllTasksBlocked();
    t1.cancel();
    lock.release();
    await assert.rejects(t1, CancelledError);
    await t2;
    assert.equal(lockCount, 1);
    t3.cancel();
    await assert.rejects(t3, CancelledError);
    assert.equal(lockCount, 1);
    lock.release();
    assert.equal(lock.locked(), false);
  }, clock());
});

Deno.test("Lock.acquire() with a cancel pending before it waits throws and takes nothing", async () => {
  await run(async () => {
    const lock = new Lock();
    await lock.acquire();
    let resolvePlain!: () => void;
    const plain = new Promise<void>((resolve) => (resolvePlain = resolve));
    const task = createTask(async () => {
      await plain; // not a loop await: the cancel waits for the next one
      await lock.acquire();
    });
    await waitAllTasksBlocked();
    task.cancel();
    resolvePlain();
    await assert.rejects(task, CancelledError);
    assert.equal(String(lock), "<Lock [locked]>");
    lock.release();
    assert.equal(lock.locked(), false);
  }, clock());
});

Deno.test("Lock.hold() releases the lock on return, throw and cancellation", async () => {
  await run(async () => {
    const lock = new Lock();
    const critical = async (action: "return" | "throw" | "sleep") => {
      using _ = await lock.hold();
      assert.ok(lock.locked());
      if (action === "throw") throw new Error("boom");
      if (action === "sleep") await sleep(1000);
      return action;
    };
    assert.equal(await critical("return"), "return");
    assert.equal(lock.locked(), false);
    await assert.rejects(critical("throw"), { message: "boom" });
    assert.equal(lock.locked(), false);
    const task = createTask(() => critical("sleep"));
    await sleep(10);
    assert.equal(lock.locked(), true);
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(lock.locked(), false);
  }, clock());
});

Deno.test("Lock.hold() disposes once even if disposed twice", async () => {
  await run(async () => {
    const lock = new Lock();
    const held = await lock.hold();
    held[Symbol.dispose]();
    held[Symbol.dispose]();
    assert.equal(lock.locked(), false);
  }, clock());
});

Deno.test("Lock.hold() cancelled while waiting leaves nothing to release", async () => {
  await run(async () => {
    const lock = new Lock();
    await lock.acquire();
    const task = createTask(async () => {
      using _ = await lock.hold();
      return "never";
    });
    await waitAllTasksBlocked();
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(String(lock), "<Lock [locked]>");
    lock.release();
  }, clock());
});

Deno.test("Lock.withLock() returns fn's result and releases when fn throws", async () => {
  await run(async () => {
    const lock = new Lock();
    assert.equal(await lock.withLock(() => 7), 7);
    await assert.rejects(
      lock.withLock(async () => {
        await sleep(1);
        throw new TypeError("bad");
      }),
      TypeError,
    );
    assert.equal(lock.locked(), false);
  }, clock());
});

Deno.test("Lock serves one run() after another", async () => {
  const lock = new Lock();
  for (let i = 0; i < 2; i++) {
    await run(async () => {
      await lock.acquire();
      const waiter = createTask(() => lock.withLock(() => "ok"));
      await sleep(1);
      lock.release();
      assert.equal(await waiter, "ok");
    }, clock());
  }
  assert.equal(lock.locked(), false);
});

Deno.test("Lock.acquire() from another loop while tasks wait throws InvalidStateError", async () => {
  const lock = new Lock();
  const first = new EventLoop({ clock: new VirtualClock() });
  const second = new EventLoop({ clock: new VirtualClock() });
  // The first loop holds the lock and parks a waiter, then stops (one
  // loop runs at a time) with the waiter still parked.
  let waiter: Task<boolean> | undefined;
  await first.runUntilComplete(async () => {
    await lock.acquire();
    waiter = first.createTask(() => lock.acquire());
    await sleep(1);
    assert.match(String(lock), /waiters:1/);
  });
  await second.runUntilComplete(async () => {
    await assert.rejects(lock.acquire(), {
      name: "InvalidStateError",
      message: "Cannot wait on lock: it is in use by another event loop",
    });
  });
  await first.runUntilComplete(async () => {
    lock.release();
    await waiter!;
    lock.release();
  });
  first.close();
  second.close();
  assert.equal(lock.locked(), false);
});

Deno.test("WaiterList counts parked and woken waiters and unlinks cancelled ones at once", async () => {
  await run(async () => {
    let abandoned = 0;
    const list = new WaiterList("test", { onAbandon: () => abandoned++ });
    const tasks = ["a", "b", "c"].map((name) =>
      createTask(() => list.park(name))
    );
    await waitAllTasksBlocked();
    assert.equal(list.parked, 3);
    tasks[1].cancel(); // leaves at once, before its task resumes
    assert.equal(list.parked, 2);
    assert.equal(list.wake(), true);
    assert.equal(list.parked, 1);
    assert.equal(list.woken, 1);
    tasks[0].cancel(); // cancelled after its wake-up
    assert.equal(list.wakeAll(), 1);
    await assert.rejects(tasks[0], CancelledError);
    await assert.rejects(tasks[1], CancelledError);
    assert.equal(await tasks[2], "c");
    assert.equal(abandoned, 1);
    assert.equal(list.size, 0);
    assert.equal(list.wake(), false);
  }, clock());
});

Deno.test("Lock.withLock() refuses a non-function before taking the lock", async () => {
  await run(async () => {
    const lock = new Lock();
    await assertRefuses("Lock.withLock()", "fn", (v) => lock.withLock(v), {
      TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}, PROMISE],
    });
    assert.equal(lock.locked(), false);
    assert.equal(await lock.withLock(() => "held"), "held");
    assert.equal(lock.locked(), false);
  }, clock());
});
