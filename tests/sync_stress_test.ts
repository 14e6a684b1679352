/**
 * Stress tests: many tasks on one primitive, cancelled at random moments
 * (seeded, so every run is the same), on virtual time. A chaos task also
 * cancels a task in the same step as it hands it a wake-up, to hit the
 * "cancelled after wake-up" case on purpose, not only by luck.
 */
import assert from "node:assert/strict";
import {
  BoundedSemaphore,
  CancelledError,
  Condition,
  createTask,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  QueueShutDown,
  run,
  sleep,
  type Task,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clock = () => ({ clock: new VirtualClock() });

/** Ignores the CancelledError of a task we cancelled. */
async function settle(task: Task<unknown>): Promise<void> {
  try {
    await task;
  } catch (error) {
    if (!(error instanceof CancelledError)) throw error;
  }
}

for (const QueueClass of [Queue, LifoQueue, PriorityQueue]) {
  Deno.test(`${QueueClass.name} delivers every item exactly once under random cancellation`, async () => {
    const random = prng(0x5eed + QueueClass.name.length);
    const ITEMS = 8000;
    const SLOTS = 8;
    const stats = { producersCancelled: 0, consumersCancelled: 0 };
    await run(async () => {
      const queue = new QueueClass<number>(4);
      let nextId = 0;
      const sent = new Set<number>();
      const received: number[] = [];

      const producer = async () => {
        while (nextId < ITEMS) {
          const id = nextId++;
          await queue.put(id); // throws CancelledError: not enqueued
          sent.add(id);
          if (random() < 0.5) await sleep(Math.floor(random() * 3));
        }
      };
      const consumer = async () => {
        for (;;) {
          let item: number;
          try {
            item = await queue.get(); // throws CancelledError: took nothing
          } catch (error) {
            if (error instanceof QueueShutDown) return;
            throw error;
          }
          received.push(item);
          if (random() < 0.5) await sleep(Math.floor(random() * 3));
        }
      };

      const producers: Task<void>[] = [];
      const consumers: Task<void>[] = [];
      for (let i = 0; i < SLOTS; i++) {
        producers.push(createTask(producer));
        consumers.push(createTask(consumer));
      }

      // Chaos: cancel random tasks and replace them, until every id is
      // handed out.
      while (nextId < ITEMS) {
        await sleep(Math.floor(random() * 2));
        const roll = random();
        if (roll < 0.3) {
          // Hand a wake-up to a parked getter, then cancel a consumer in
          // the same step: often the one just woken.
          if (!queue.full()) {
            const id = nextId++;
            queue.putNowait(id);
            sent.add(id);
          }
          const i = Math.floor(random() * SLOTS);
          consumers[i].cancel();
          stats.consumersCancelled++;
          await settle(consumers[i]);
          consumers[i] = createTask(consumer);
        } else if (roll < 0.6) {
          // Free a slot for a parked putter, then cancel a producer.
          if (!queue.empty()) received.push(queue.getNowait());
          const i = Math.floor(random() * SLOTS);
          producers[i].cancel();
          stats.producersCancelled++;
          await settle(producers[i]);
          producers[i] = createTask(producer);
        }
      }
      for (const task of producers) await settle(task);
      queue.shutdown(); // consumers drain what is left, then stop
      for (const task of consumers) await settle(task);
      // Anything a cancelled consumer left behind is still queued.
      while (!queue.empty()) received.push(queue.getNowait());

      const unique = new Set(received);
      assert.equal(unique.size, received.length, "an item was duplicated");
      assert.deepEqual(
        [...unique].sort((a, b) => a - b),
        [...sent].sort((a, b) => a - b),
        "an item was lost, or one whose put was cancelled was delivered",
      );
      assert.ok(sent.size > ITEMS * 0.9, `only ${sent.size} items were sent`);
      assert.equal(
        String(queue),
        `<${QueueClass.name} maxsize=4 tasks=${sent.size} shutdown>`,
      );
    }, clock());
    assert.ok(stats.producersCancelled > 100, JSON.stringify(stats));
    assert.ok(stats.consumersCancelled > 100, JSON.stringify(stats));
  });
}

Deno.test("Lock keeps mutual exclusion and never strands a waiter under random cancellation", async () => {
  const random = prng(42);
  await run(async () => {
    const lock = new Lock();
    const TASKS = 40;
    let inside = 0;
    let sections = 0;
    let cancelled = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        if (random() < 0.5) {
          using _ = await lock.hold();
          assert.equal(++inside, 1, "two tasks inside the lock");
          try {
            await sleep(Math.floor(random() * 3));
          } finally {
            inside--;
          }
        } else {
          await lock.withLock(async () => {
            assert.equal(++inside, 1, "two tasks inside the lock");
            try {
              if (random() < 0.5) await sleep(0);
            } finally {
              inside--;
            }
          });
        }
        sections++;
        await sleep(Math.floor(random() * 2));
      }
    };
    const tasks = Array.from({ length: TASKS }, () => createTask(worker));
    for (let round = 0; round < 600; round++) {
      await sleep(Math.floor(random() * 3));
      const i = Math.floor(random() * TASKS);
      if (random() < 0.5 && lock.locked()) {
        // Release-and-cancel in one step: the owner inside releases only
        // through its own code, so cancel whoever is first in line right
        // after a release is likely to hand it the lock.
        await sleep(0);
      }
      tasks[i].cancel();
      cancelled++;
      await settle(tasks[i]);
      tasks[i] = createTask(worker);
    }
    stop = true;
    // A stranded waiter or a lock left held would hang here.
    for (const task of tasks) await settle(task);
    assert.equal(inside, 0);
    assert.equal(lock.locked(), false);
    assert.equal(String(lock), "<Lock [unlocked]>");
    assert.ok(sections > 1000, `only ${sections} critical sections ran`);
    assert.equal(cancelled, 600);
  }, clock());
});

Deno.test("Lock hands over correctly when each release is raced by a cancel of the next waiter", async () => {
  const random = prng(7);
  await run(async () => {
    const lock = new Lock();
    const acquired: number[] = [];
    let next = 0;
    const waiters = new Map<number, Task<void>>();
    const spawn = () => {
      const id = next++;
      waiters.set(
        id,
        createTask(async () => {
          await lock.acquire();
          acquired.push(id); // holds it until main releases
        }),
      );
    };
    await lock.acquire();
    for (let i = 0; i < 20; i++) spawn();
    await sleep(1);
    for (let round = 0; round < 500; round++) {
      lock.release(); // hands the lock to the first waiter...
      // ...and cancel one or two waiters at once, often that first one.
      const ids = [...waiters.keys()];
      for (let k = 0; k < 1 + Math.floor(random() * 2); k++) {
        const id = ids[Math.floor(random() * Math.min(3, ids.length))];
        waiters.get(id)?.cancel();
      }
      spawn();
      spawn();
      await sleep(1);
      for (const [id, task] of waiters) if (task.done()) waiters.delete(id);
      // Whoever got it holds it, unless every woken waiter was cancelled.
      if (!lock.locked()) await lock.acquire();
    }
    for (const task of waiters.values()) task.cancel();
    for (const task of waiters.values()) await settle(task);
    lock.release();
    assert.equal(String(lock), "<Lock [unlocked]>");
    assert.equal(new Set(acquired).size, acquired.length);
    assert.ok(acquired.length > 100, `only ${acquired.length} hand-offs`);
  }, clock());
});

Deno.test("BoundedSemaphore never exceeds its permits nor leaks one under random cancellation", async () => {
  const random = prng(99);
  await run(async () => {
    const PERMITS = 3;
    const sem = new BoundedSemaphore(PERMITS);
    const TASKS = 30;
    let active = 0;
    let peak = 0;
    let stop = false;
    let done = 0;
    const worker = async () => {
      while (!stop) {
        await sem.withPermit(async () => {
          peak = Math.max(peak, ++active);
          assert.ok(active <= PERMITS, "too many tasks inside");
          try {
            await sleep(Math.floor(random() * 4));
          } finally {
            active--;
          }
        });
        done++;
      }
    };
    const tasks = Array.from({ length: TASKS }, () => createTask(worker));
    for (let round = 0; round < 500; round++) {
      await sleep(Math.floor(random() * 3));
      const i = Math.floor(random() * TASKS);
      tasks[i].cancel();
      await settle(tasks[i]);
      tasks[i] = createTask(worker);
    }
    stop = true;
    for (const task of tasks) await settle(task);
    assert.equal(active, 0);
    assert.equal(peak, PERMITS);
    assert.equal(
      String(sem),
      `<BoundedSemaphore [unlocked, value:${PERMITS}]>`,
    );
    assert.throws(() => sem.release()); // every permit is back
    assert.ok(done > 500, `only ${done} sections ran`);
  }, clock());
});

Deno.test("Condition hands every item to exactly one consumer under random cancellation", async () => {
  const random = prng(1234);
  await run(async () => {
    const cond = new Condition();
    const buffer: number[] = [];
    const received: number[] = [];
    const ITEMS = 1500;
    let produced = 0;
    let finished = false;
    const consumer = async () => {
      using _ = await cond.hold();
      for (;;) {
        await cond.waitFor(() => buffer.length > 0 || finished);
        if (buffer.length === 0) return;
        received.push(buffer.shift()!);
      }
    };
    const consumers = Array.from({ length: 6 }, () => createTask(consumer));
    while (produced < ITEMS) {
      await sleep(Math.floor(random() * 2));
      await cond.withLock(() => {
        const n = 1 + Math.floor(random() * 3);
        for (let k = 0; k < n && produced < ITEMS; k++) buffer.push(produced++);
        cond.notify(n);
        if (random() < 0.4) {
          // Cancel a consumer in the same step: perhaps one just notified.
          const i = Math.floor(random() * consumers.length);
          consumers[i].cancel();
        }
      });
      for (let i = 0; i < consumers.length; i++) {
        if (consumers[i].done()) {
          await settle(consumers[i]);
          consumers[i] = createTask(consumer);
        }
      }
    }
    await cond.withLock(() => {
      finished = true;
      cond.notifyAll();
    });
    for (const task of consumers) await settle(task);
    received.push(...buffer.splice(0)); // left by cancelled consumers
    assert.equal(received.length, ITEMS);
    assert.deepEqual(
      [...received].sort((a, b) => a - b),
      Array.from({ length: ITEMS }, (_, i) => i),
    );
    assert.equal(cond.locked(), false);
  }, clock());
});
