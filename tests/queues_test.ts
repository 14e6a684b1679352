import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  getRunningLoop,
  InvalidStateError,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  run,
  sleep,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const clock = () => ({ clock: new VirtualClock() });

const QUEUE_CLASSES = [Queue, LifoQueue, PriorityQueue] as const;

Deno.test("Queue() checks maxsize", () => {
  assert.equal(new Queue().maxsize, 0);
  assert.equal(new Queue(-1).full(), false);
  assert.equal(new Queue(Infinity).maxsize, Infinity);
  assert.throws(() => new Queue(1.3), {
    name: "RangeError",
    message:
      "Cannot create Queue: expected maxsize as an integer or Infinity, got 1.3",
  });
  assert.throws(() => new Queue(NaN), RangeError);
  assert.throws(() => new Queue("2" as never), TypeError);
  assert.throws(() => new PriorityQueue(0.5), RangeError);
  assert.throws(() => new LifoQueue(null as never), TypeError);
  assert.throws(
    () => new PriorityQueue(0, { compare: 1 as never }),
    TypeError,
  );
  // A failed subclass construction leaves no state behind.
  const queue = new Queue<number>();
  for (const n of [3, 1, 2]) queue.putNowait(n);
  assert.equal(queue.getNowait(), 3);
});

Deno.test("Queue.empty(), full() and qsize() follow the items", () => {
  const queue = new Queue<number>(2);
  assert.ok(queue.empty());
  assert.ok(!queue.full());
  queue.putNowait(1);
  assert.ok(!queue.empty());
  queue.putNowait(2);
  assert.ok(queue.full());
  assert.equal(queue.qsize(), 2);
  assert.equal(String(queue), "<Queue maxsize=2 qsize=2 tasks=2>");
  const unbounded = new Queue<number>();
  for (let i = 0; i < 1000; i++) unbounded.putNowait(i);
  assert.ok(!unbounded.full());
});

Deno.test("Queue, LifoQueue and PriorityQueue hand out items in their order", async () => {
  await run(async () => {
    const expected = new Map<unknown, number[]>([
      [Queue, [1, 3, 2]],
      [LifoQueue, [2, 3, 1]],
      [PriorityQueue, [1, 2, 3]],
    ]);
    for (const QueueClass of QUEUE_CLASSES) {
      const queue = new QueueClass<number>();
      for (const n of [1, 3, 2]) await queue.put(n);
      const items = [await queue.get(), await queue.get(), await queue.get()];
      assert.deepEqual(items, expected.get(QueueClass), QueueClass.name);
    }
  }, clock());
});

Deno.test("Queue.putNowait() on a full queue throws QueueFull and getNowait() on an empty one QueueEmpty", () => {
  const queue = new Queue<number>(1);
  assert.throws(() => queue.getNowait(), {
    name: "QueueEmpty",
    message: "Cannot get item: queue is empty",
  });
  queue.putNowait(1);
  assert.throws(() => queue.putNowait(2), {
    name: "QueueFull",
    message: "Cannot put item: queue is full",
  });
  assert.ok(new QueueFull() instanceof Error);
  assert.ok(new QueueEmpty() instanceof Error);
});

Deno.test("Queue.get() waits for an item", async () => {
  await run(async () => {
    const queue = new Queue<number>();
    getRunningLoop().callLater(10, () => queue.putNowait(1));
    assert.equal(await queue.get(), 1);
    assert.equal(getRunningLoop().time(), 10);
  }, clock());
});

Deno.test("Queue.put() waits for room in a bounded queue", async () => {
  // asyncio's test_blocking_put_wait.
  await run(async () => {
    const queue = new Queue<number>(1);
    let finished = false;
    getRunningLoop().callLater(10, () => queue.getNowait());
    const putter = createTask(async () => {
      await queue.put(1);
      await queue.put(2);
      finished = true;
    });
    await waitAllTasksBlocked();
    assert.equal(finished, false);
    await putter;
    assert.ok(finished);
    assert.equal(getRunningLoop().time(), 10);
  }, clock());
});

Deno.test("Queue.get() wakes a waiting putter", async () => {
  // asyncio's test_get_with_waiting_putters.
  await run(async () => {
    const queue = new Queue<string>(1);
    createTask(() => queue.put("a"));
    createTask(() => queue.put("b"));
    assert.equal(await queue.get(), "a");
    assert.equal(await queue.get(), "b");
  }, clock());
});

Deno.test("Queue between a producer and a consumer through maxsize 1", async () => {
  // asyncio's test_why_are_getters_waiting / test_why_are_putters_waiting.
  await run(async () => {
    const queue = new Queue<number>(1);
    const got: number[] = [];
    const consumer = createTask(async () => {
      for (let i = 0; i < 5; i++) got.push(await queue.get());
    });
    const producer = createTask(async () => {
      for (let i = 0; i < 5; i++) await queue.put(i);
    });
    await producer;
    await consumer;
    assert.deepEqual(got, [0, 1, 2, 3, 4]);

    const two = new Queue<number>(2);
    const putters = [0, 1, 2, 3].map((n) => createTask(() => two.put(n)));
    const getter = createTask(async () => {
      await sleep(0);
      const n = two.qsize();
      for (let i = 0; i < n; i++) two.getNowait();
    });
    await getter;
    for (const putter of putters) await putter;
    assert.equal(two.qsize(), 2);
  }, clock());
});

Deno.test("Queue.get() cancelled while waiting takes no item and leaves no getter", async () => {
  // asyncio's test_get_cancelled_race and
  // test_cancelled_getters_not_being_held_in_self_getters.
  await run(async () => {
    const queue = new Queue<string>();
    const t1 = createTask(() => queue.get());
    const t2 = createTask(() => queue.get());
    await waitAllTasksBlocked();
    assert.equal(String(queue), "<Queue maxsize=0 getters[2]>");
    t1.cancel();
    await assert.rejects(t1, CancelledError);
    assert.equal(String(queue), "<Queue maxsize=0 getters[1]>");
    await queue.put("a");
    assert.equal(await t2, "a");
    assert.equal(String(queue), "<Queue maxsize=0 tasks=1>");
  }, clock());
});

Deno.test("Queue.get() cancelled after wake-up does not lose the item", async () => {
  // asyncio's test_get_cancel_drop_one_pending_reader.
  await run(async () => {
    const queue = new Queue<number>();
    const reader = createTask(() => queue.get());
    await waitAllTasksBlocked();
    queue.putNowait(1);
    queue.putNowait(2);
    reader.cancel();
    await assert.rejects(reader, CancelledError);
    assert.equal(await queue.get(), 1); // 2 here would mean 1 was dropped
    assert.equal(queue.qsize(), 1);
  }, clock());
});

Deno.test("Queue.get() cancelled after wake-up passes the item to the next getter", async () => {
  // asyncio's test_get_cancel_drop_many_pending_readers.
  await run(async () => {
    const queue = new Queue<number>();
    const readers = [0, 1, 2].map(() => createTask(() => queue.get()));
    await waitAllTasksBlocked();
    queue.putNowait(1);
    queue.putNowait(2);
    readers[0].cancel(); // woken by the first put, then cancelled
    await assert.rejects(readers[0], CancelledError);
    assert.deepEqual(
      new Set([await readers[1], await readers[2]]),
      new Set([1, 2]),
    );
    assert.ok(queue.empty());
  }, clock());
});

Deno.test("Queue.put() cancelled after wake-up adds nothing and lets the next putter in", async () => {
  // asyncio's test_put_cancel_drop and test_put_cancelled_race.
  await run(async () => {
    const queue = new Queue<string>(1);
    queue.putNowait("first");
    const writer = createTask(() => queue.put("cancelled"));
    const next = createTask(() => queue.put("second"));
    await waitAllTasksBlocked();
    assert.equal(queue.getNowait(), "first"); // wakes writer
    writer.cancel();
    await assert.rejects(writer, CancelledError);
    await next;
    assert.equal(queue.getNowait(), "second");
    assert.equal(queue.qsize(), 0);
    assert.equal(String(queue), "<Queue maxsize=1 tasks=2>");
  }, clock());
});

Deno.test("Queue.put() cancelled while waiting leaves no putter", async () => {
  // asyncio's test_cancelled_puts_not_being_held_in_self_putters.
  await run(async () => {
    const queue = new Queue<number>(1);
    queue.putNowait(1);
    const putTask = createTask(() => queue.put(1));
    await waitAllTasksBlocked();
    assert.equal(String(queue), "<Queue maxsize=1 qsize=1 putters[1] tasks=1>");
    putTask.cancel();
    await assert.rejects(putTask, CancelledError);
    assert.equal(String(queue), "<Queue maxsize=1 qsize=1 tasks=1>");
  }, clock());
});

Deno.test("Queue.get() woken but beaten to the item waits again", async () => {
  await run(async () => {
    const queue = new Queue<string>();
    const slow = createTask(() => queue.get());
    await waitAllTasksBlocked();
    queue.putNowait("x"); // wakes slow...
    assert.equal(queue.getNowait(), "x"); // ...but main takes the item
    await waitAllTasksBlocked();
    assert.ok(!slow.done());
    queue.putNowait("y");
    assert.equal(await slow, "y");
  }, clock());
});

Deno.test("Queue.taskDone() called too often throws InvalidStateError", () => {
  for (const QueueClass of QUEUE_CLASSES) {
    const queue = new QueueClass<number>();
    assert.throws(() => queue.taskDone(), {
      name: "InvalidStateError",
      message:
        "Cannot mark task done: taskDone() called more times than items were put",
    });
    assert.ok(new InvalidStateError() instanceof Error);
  }
});

Deno.test("Queue.join() returns once every item is marked done", async () => {
  // asyncio's test_task_done, for each queue class.
  await run(async () => {
    for (const QueueClass of QUEUE_CLASSES) {
      const queue = new QueueClass<number>();
      for (let i = 0; i < 100; i++) queue.putNowait(i);
      let total = 0;
      const workers = [0, 1].map(() =>
        createTask(async () => {
          for await (const item of queue) {
            await sleep(1);
            total += item;
            queue.taskDone();
          }
        })
      );
      await queue.join();
      assert.equal(total, 4950, QueueClass.name);
      queue.shutdown();
      for (const worker of workers) await worker;
    }
  }, clock());
});

Deno.test("Queue.join() on a queue with no unfinished items returns at once", async () => {
  await run(async () => {
    for (const QueueClass of QUEUE_CLASSES) {
      const queue = new QueueClass<number>();
      await queue.join();
      await queue.join();
    }
    assert.equal(getRunningLoop().time(), 0);
  }, clock());
});

Deno.test("Queue.join() cancelled while waiting throws CancelledError", async () => {
  await run(async () => {
    const queue = new Queue<number>();
    queue.putNowait(1);
    const joiner = createTask(() => queue.join());
    await waitAllTasksBlocked();
    joiner.cancel();
    await assert.rejects(joiner, CancelledError);
  }, clock());
});

for (const QueueClass of QUEUE_CLASSES) {
  const name = QueueClass.name;

  Deno.test(`${name}.shutdown() of an empty queue wakes getters with QueueShutDown`, async () => {
    // asyncio's test_shutdown_empty.
    await run(async () => {
      const queue = new QueueClass<string>();
      const getTask = createTask(() => queue.get());
      await waitAllTasksBlocked();
      queue.shutdown();
      assert.equal(queue.qsize(), 0);
      await queue.join();
      await assert.rejects(getTask, {
        name: "QueueShutDown",
        message: "Cannot get item: queue is shut down",
      });
      await assert.rejects(queue.put("data"), {
        name: "QueueShutDown",
        message: "Cannot put item: queue is shut down",
      });
      assert.throws(() => queue.putNowait("data"), QueueShutDown);
      await assert.rejects(queue.get(), QueueShutDown);
      assert.throws(() => queue.getNowait(), QueueShutDown);
      assert.equal(String(queue), `<${name} maxsize=0 shutdown>`);
    }, clock());
  });

  Deno.test(`${name}.shutdown() of a non-empty queue lets gets drain it`, async () => {
    // asyncio's test_shutdown_nonempty.
    await run(async () => {
      const queue = new QueueClass<string>(1);
      queue.putNowait("data");
      const joinTask = createTask(() => queue.join());
      const putTask = createTask(() => queue.put("data2"));
      await waitAllTasksBlocked();
      assert.ok(!putTask.done());
      queue.shutdown(false);
      assert.equal(queue.qsize(), 1);
      await assert.rejects(putTask, QueueShutDown);
      assert.equal(await queue.get(), "data");
      await waitAllTasksBlocked();
      assert.ok(!joinTask.done());
      await assert.rejects(queue.put("data"), QueueShutDown);
      assert.throws(() => queue.putNowait("data"), QueueShutDown);
      await assert.rejects(queue.get(), QueueShutDown);
      assert.throws(() => queue.getNowait(), QueueShutDown);
      queue.taskDone();
      await joinTask;
      assert.throws(() => queue.taskDone(), InvalidStateError);
    }, clock());
  });

  Deno.test(`${name}.shutdown({ immediate: true }) drops the items and releases join()`, async () => {
    // asyncio's test_shutdown_immediate.
    await run(async () => {
      const queue = new QueueClass<string>();
      queue.putNowait("data");
      const joinTask = createTask(() => queue.join());
      queue.shutdown({ immediate: true });
      assert.equal(queue.qsize(), 0);
      await joinTask;
      await assert.rejects(queue.put("data"), QueueShutDown);
      assert.throws(() => queue.putNowait("data"), QueueShutDown);
      await assert.rejects(queue.get(), QueueShutDown);
      assert.throws(() => queue.getNowait(), QueueShutDown);
      assert.throws(() => queue.taskDone(), InvalidStateError);
    }, clock());
  });

  Deno.test(`${name}.shutdown(true) counts only the dropped items done`, async () => {
    // asyncio's test_shutdown_immediate_with_unfinished.
    await run(async () => {
      const queue = new QueueClass<string>();
      queue.putNowait("data");
      queue.putNowait("data");
      const joinTask = createTask(() => queue.join());
      assert.equal(await queue.get(), "data");
      queue.shutdown(true);
      assert.equal(queue.qsize(), 0);
      await waitAllTasksBlocked();
      assert.ok(!joinTask.done());
      await assert.rejects(queue.get(), QueueShutDown);
      queue.taskDone();
      assert.throws(() => queue.taskDone(), InvalidStateError);
      await joinTask;
    }, clock());
  });
}

Deno.test("Queue.shutdown() wakes every waiting putter and getter", async () => {
  await run(async () => {
    const full = new Queue<number>(1);
    full.putNowait(0);
    const putters = [1, 2, 3].map((n) => createTask(() => full.put(n)));
    const empty = new Queue<number>();
    const getters = [1, 2, 3].map(() => createTask(() => empty.get()));
    await waitAllTasksBlocked();
    full.shutdown();
    empty.shutdown();
    for (const task of [...putters, ...getters]) {
      await assert.rejects(task, QueueShutDown);
    }
    assert.equal(full.getNowait(), 0);
  }, clock());
});

Deno.test("Queue async iteration yields items until shutdown, across waits", async () => {
  await run(async () => {
    const queue = new Queue<number>();
    const seen: number[] = [];
    const consumer = createTask(async () => {
      for await (const item of queue) seen.push(item);
      return "ended";
    });
    for (const n of [1, 2, 3]) {
      await sleep(10);
      queue.putNowait(n);
    }
    await sleep(10);
    assert.deepEqual(seen, [1, 2, 3]);
    queue.shutdown();
    assert.equal(await consumer, "ended");
  }, clock());
});

Deno.test("Queue async iteration left early takes no further item", async () => {
  await run(async () => {
    const queue = new Queue<number>();
    for (const n of [1, 2, 3]) queue.putNowait(n);
    for await (const item of queue) {
      if (item === 2) break;
    }
    assert.equal(queue.qsize(), 1);
    assert.equal(queue.getNowait(), 3);
  }, clock());
});

Deno.test("Queue async iteration cancelled while waiting throws CancelledError", async () => {
  await run(async () => {
    const queue = new Queue<number>();
    const consumer = createTask(async () => {
      for await (const _ of queue) { /* nothing arrives */ }
    });
    await waitAllTasksBlocked();
    consumer.cancel();
    await assert.rejects(consumer, CancelledError);
    assert.equal(String(queue), "<Queue maxsize=0>");
  }, clock());
});

Deno.test("PriorityQueue breaks ties in the same order as Python's heapq", () => {
  // The expected order comes from CPython 3.13: items with these
  // priorities, compared by priority only, pushed with a pop after every
  // fifth push, then drained.
  const priorities = [
    3,
    1,
    4,
    1,
    5,
    9,
    2,
    6,
    5,
    3,
    5,
    8,
    9,
    7,
    9,
    3,
    2,
    3,
    8,
    4,
    6,
    2,
    6,
    4,
    3,
    3,
    8,
    3,
    2,
    7,
    9,
    5,
  ];
  const python = [
    1,
    3,
    6,
    16,
    21,
    28,
    15,
    17,
    0,
    24,
    27,
    25,
    9,
    2,
    23,
    19,
    8,
    4,
    31,
    10,
    7,
    22,
    20,
    13,
    29,
    11,
    18,
    26,
    30,
    5,
    12,
    14,
  ];
  const queue = new PriorityQueue<{ p: number; i: number }>(0, {
    compare: (a, b) => a.p - b.p,
  });
  const out: number[] = [];
  priorities.forEach((p, i) => {
    queue.putNowait({ p, i });
    if (i % 5 === 4) out.push(queue.getNowait().i);
  });
  while (!queue.empty()) out.push(queue.getNowait().i);
  assert.deepEqual(out, python);
});

Deno.test("PriorityQueue orders tuples and strings as Python does", () => {
  const tuples = new PriorityQueue<unknown[]>();
  for (
    const item of [
      [2, "b"],
      [1, "z"],
      [2, "a"],
      [1, "a"],
      [0, "q"],
      [2, "a", 1],
      [1],
      [3, "x"],
    ]
  ) tuples.putNowait(item);
  const out: unknown[] = [];
  while (!tuples.empty()) out.push(tuples.getNowait());
  // CPython 3.13's heapq, for the same tuples.
  assert.deepEqual(out, [
    [0, "q"],
    [1],
    [1, "a"],
    [1, "z"],
    [2, "a"],
    [2, "a", 1],
    [2, "b"],
    [3, "x"],
  ]);

  const strings = new PriorityQueue<string>();
  for (const s of ["b", "a", "\uffff", "\u{10000}", "ab", "", "A", "é"]) {
    strings.putNowait(s);
  }
  const sorted: string[] = [];
  while (!strings.empty()) sorted.push(strings.getNowait());
  // By code point, as Python: U+FFFF before U+10000 (JS's < disagrees).
  assert.deepEqual(sorted, [
    "",
    "A",
    "a",
    "ab",
    "b",
    "é",
    "\uffff",
    "\u{10000}",
  ]);

  const mixed = new PriorityQueue<number | boolean | bigint>();
  for (const n of [1, true, 0.5, false, 2n]) mixed.putNowait(n);
  const numbers: unknown[] = [];
  while (!mixed.empty()) numbers.push(mixed.getNowait());
  assert.deepEqual(numbers.slice(0, 2), [false, 0.5]);
  assert.deepEqual(numbers.at(-1), 2n);

  const dates = new PriorityQueue<[Date, string]>();
  dates.putNowait([new Date(2000, 1, 1), "later"]);
  dates.putNowait([new Date(1999, 1, 1), "sooner"]);
  assert.equal(dates.getNowait()[1], "sooner");
});

Deno.test("PriorityQueue with items Python cannot order throws TypeError and stays unchanged", () => {
  const queue = new PriorityQueue<unknown>();
  queue.putNowait(1);
  assert.throws(() => queue.putNowait("a"), {
    name: "TypeError",
    message:
      "Cannot order priority queue items: '<' is not supported between string and number; use [priority, item] pairs with comparable priorities, or pass a compare function",
  });
  assert.equal(queue.qsize(), 1);
  assert.equal(String(queue), "<PriorityQueue maxsize=0 qsize=1 tasks=1>");

  const pairs = new PriorityQueue<[number, object]>();
  pairs.putNowait([1, {}]);
  assert.throws(() => pairs.putNowait([1, {}]), TypeError); // tie on priority
  const shared = {};
  const same = new PriorityQueue<[number, object]>();
  same.putNowait([1, shared]);
  same.putNowait([1, shared]); // identical items are equal, as in Python
  assert.equal(same.qsize(), 2);
});

Deno.test("PriorityQueue.getNowait() with a comparator that throws leaves the queue unchanged", () => {
  let fail = false;
  const queue = new PriorityQueue<number>(0, {
    compare: (a, b) => {
      if (fail) throw new Error("compare failed");
      return a - b;
    },
  });
  for (const n of [5, 3, 8, 1, 9, 2]) queue.putNowait(n);
  fail = true;
  assert.throws(() => queue.getNowait(), { message: "compare failed" });
  assert.equal(queue.qsize(), 6);
  fail = false;
  const out: number[] = [];
  while (!queue.empty()) out.push(queue.getNowait());
  assert.deepEqual(out, [1, 2, 3, 5, 8, 9]);
});

Deno.test("PriorityQueue takes a comparator for objects", async () => {
  await run(async () => {
    const queue = new PriorityQueue<{ name: string; due: number }>(2, {
      compare: (a, b) => a.due - b.due,
    });
    await queue.put({ name: "b", due: 20 });
    await queue.put({ name: "a", due: 10 });
    const blocked = createTask(() => queue.put({ name: "c", due: 5 }));
    await waitAllTasksBlocked();
    assert.ok(queue.full());
    assert.equal((await queue.get()).name, "a");
    await blocked;
    assert.equal((await queue.get()).name, "c");
    assert.equal((await queue.get()).name, "b");
  }, clock());
});

Deno.test("Queues refuse bad arguments at the call, naming them", async () => {
  for (const Class of QUEUE_CLASSES) {
    await assertRefuses(`new ${Class.name}()`, "maxsize", (v) => new Class(v), {
      TypeError: [null, "5", true, Symbol("s"), 5n, {}, PROMISE],
      RangeError: [NaN, 1.5],
    });
  }
  await assertRefuses(
    "new PriorityQueue(0, options)",
    "options",
    (v) => new PriorityQueue(0, v),
    { TypeError: [null, "5", true, Symbol("s"), 5n, 5, PROMISE] },
  );
  await assertRefuses(
    "new PriorityQueue(0, { compare })",
    "compare",
    (v) => new PriorityQueue(0, { compare: v }),
    { TypeError: [null, "5", true, Symbol("s"), 5n, {}, PROMISE] },
  );
  const queue = new Queue<number>();
  queue.putNowait(1);
  await assertRefuses("shutdown()", "options", (v) => queue.shutdown(v), {
    TypeError: [null, "yes", 1, Symbol("s"), 5n, PROMISE],
  });
  await assertRefuses(
    "shutdown({ immediate })",
    "immediate",
    (v) => queue.shutdown({ immediate: v }),
    { TypeError: [null, "yes", 1, Symbol("s"), {}] },
  );
  // Nothing was shut down by the refused calls.
  queue.putNowait(2);
  assert.equal(queue.qsize(), 2);
  queue.shutdown({ immediate: true });
  assert.equal(queue.qsize(), 0);
  assert.equal(new PriorityQueue(0, {}).maxsize, 0);
});
