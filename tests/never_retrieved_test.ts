/**
 * "Exception was never retrieved" is reported for errors truly lost, and
 * only for them: an error that was read, or handed to a task (even one
 * being cancelled), or dropped by a `cancel()` of its own future, is not
 * reported. Each case was checked against CPython 3.13's asyncio.
 */
import assert from "node:assert/strict";
import {
  asCompleted,
  CancelledError,
  createTask,
  type EventLoop,
  type ExceptionContext,
  Future,
  gather,
  getRunningLoop,
  newEventLoop,
  shield,
  sleep,
  StreamReader,
  taskGroup,
  TaskGroupError,
  timeout,
  TimeoutError,
  wait,
  waitFor,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";

/**
 * Runs `main` on a fresh virtual-time loop, closes the loop, and returns
 * what reached the exception handler, the closing reports included.
 */
async function reports(
  main: () => Promise<void>,
): Promise<ExceptionContext[]> {
  const loop: EventLoop = newEventLoop({ clock: new VirtualClock() });
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((_, context) => contexts.push(context));
  try {
    await loop.runUntilComplete(main);
  } finally {
    loop.close();
  }
  return contexts;
}

function failing(message: string, ms = 10): () => Promise<never> {
  return async () => {
    await sleep(ms);
    throw new Error(message);
  };
}

/** Fails, after asking (first) for `then` to run in the same iteration. */
function failingThen(then: () => void, message: string): () => Promise<never> {
  return async () => {
    await sleep(10);
    getRunningLoop().callSoon(then);
    throw new Error(message);
  };
}

Deno.test("gather(returnExceptions) cancelled in the iteration a child fails reads the child's error", async () => {
  const contexts = await reports(async () => {
    const gathering: Future<unknown[]> = gather(
      failingThen(() => gathering.cancel(), "child"),
      () => sleep(1000),
      { returnExceptions: true },
    );
    await assert.rejects(gathering, CancelledError);
  });
  assert.deepEqual(contexts, []);
});

Deno.test("gather() cancelled after every child failed, in that iteration, keeps their errors as results", async () => {
  const contexts = await reports(async () => {
    const gathering: Future<unknown[]> = gather(
      failing("one"),
      failingThen(() => assert.equal(gathering.cancel(), false), "two"),
      { returnExceptions: true },
    );
    // Nothing was left to cancel: the results stand.
    const results = await gathering;
    assert.equal((results[0] as Error).message, "one");
    assert.equal((results[1] as Error).message, "two");
  });
  assert.deepEqual(contexts, []);
});

Deno.test("gather(returnExceptions) cancelled reads the error of a child that fails in its cleanup", async () => {
  const contexts = await reports(async () => {
    const gathering = gather(
      async () => {
        try {
          await sleep(1000);
        } catch {
          throw new Error("cleanup failed");
        }
      },
      () => sleep(1000),
      { returnExceptions: true },
    );
    await sleep(10);
    gathering.cancel();
    await assert.rejects(gathering, CancelledError);
  });
  assert.deepEqual(contexts, []);
});

Deno.test("A future that fails as its awaiting task is cancelled hands its error over", async () => {
  const contexts = await reports(async () => {
    const future = new Future<void>();
    const waiter = createTask(() => future);
    await sleep(0);
    future.setException(new Error("failed while cancelled"));
    waiter.cancel();
    await assert.rejects(waiter, CancelledError);
  });
  assert.deepEqual(contexts, []);
});

Deno.test("A task that fails as the task awaiting it is cancelled hands its error over", async () => {
  const contexts = await reports(async () => {
    const inner = createTask(failing("inner"));
    const outer = createTask(() => inner);
    await sleep(10); // inner fails in this iteration, before outer wakes
    outer.cancel();
    await assert.rejects(outer, CancelledError);
  });
  assert.deepEqual(contexts, []);
});

Deno.test("Future.cancel() and Task.cancel() on a failed one mark the error retrieved", async () => {
  const contexts = await reports(async () => {
    const future = new Future<void>();
    future.setException(new Error("future"));
    assert.equal(future.cancel(), false);
    const task = createTask(failing("task", 0));
    await sleep(1);
    assert.equal(task.cancel(), false);
    assert.equal(task.cancelled(), false);
  });
  assert.deepEqual(contexts, []);
});

Deno.test("An error nobody retrieved is still reported, once", async () => {
  const contexts = await reports(async () => {
    createTask(failing("lost"));
    const future = new Future<void>();
    future.setException(new Error("lost future"));
    await sleep(100);
  });
  assert.deepEqual(
    contexts.map((c) => (c.exception as Error).message).sort(),
    ["lost", "lost future"],
  );
});

Deno.test("shield(): the error of work that outlives its cancelled waiter is reported, as asyncio", async () => {
  const contexts = await reports(async () => {
    const waiter = createTask(() => shield(failing("shielded", 50)));
    await sleep(10);
    waiter.cancel();
    await assert.rejects(waiter, CancelledError);
    await sleep(100); // the shielded work fails with nobody waiting
  });
  assert.equal(contexts.length, 1);
  assert.equal((contexts[0].exception as Error).message, "shielded");
});

Deno.test("shield(): a shielded error the caller awaits, or that fails as the caller is cancelled, is not reported", async () => {
  const contexts = await reports(async () => {
    await assert.rejects(shield(failing("awaited")), /awaited/);
    const work = createTask(failing("held", 10));
    const waiter = createTask(() => shield(work));
    await sleep(10); // work fails in this iteration
    waiter.cancel();
    await assert.rejects(waiter, CancelledError);
    await assert.rejects(work, /held/);
  });
  assert.deepEqual(contexts, []);
});

Deno.test("waitFor(): a child that fails as the deadline passes hands its error over", async () => {
  const contexts = await reports(async () => {
    // The child fails in the iteration in which the deadline passes.
    await assert.rejects(waitFor(failing("late", 10), 10), (error) => {
      return error instanceof Error;
    });
    // Cancelled from outside while the child fails.
    const waiter = createTask(() => waitFor(failing("cut", 10), 1000));
    await sleep(10);
    waiter.cancel();
    await assert.rejects(waiter, CancelledError);
  });
  assert.deepEqual(contexts, []);
});

Deno.test("timeout(): a future that fails as the scope expires hands its error over", async () => {
  const contexts = await reports(async () => {
    const loop = getRunningLoop();
    const future = new Future<void>();
    loop.callLater(10, () => future.setException(new Error("at deadline")));
    await assert.rejects(timeout(10, () => future), TimeoutError);
  });
  assert.deepEqual(contexts, []);
});

Deno.test("wait(): children whose errors the caller reads, or cancels, are not reported", async () => {
  const contexts = await reports(async () => {
    const a = createTask(failing("a", 10));
    const b = createTask(failing("b", 20));
    const [done, pending] = await wait([a, b], {
      returnWhen: "FIRST_EXCEPTION",
    });
    assert.deepEqual([...done], [a]);
    assert.equal((a.exception() as Error).message, "a");
    for (const task of pending) task.cancel();
    // A cancelled wait leaves its children to the caller, who cancels them
    // after one failed: that failure is read by the cancel.
    const c = createTask(failing("c", 10));
    const waiter = createTask(() => wait([c]));
    await sleep(10);
    waiter.cancel();
    c.cancel();
    await assert.rejects(waiter, CancelledError);
  });
  assert.deepEqual(contexts, []);
});

Deno.test("asCompleted(): a failure it hands to a cancelled iteration is not reported", async () => {
  const contexts = await reports(async () => {
    const a = createTask(failing("a", 10));
    const waiter = createTask(async () => {
      for await (const _ of asCompleted([a])) {
        // unreachable: a fails
      }
    });
    await sleep(10);
    waiter.cancel();
    await assert.rejects(waiter, CancelledError);
    await assert.rejects(a, /a/);
  });
  assert.deepEqual(contexts, []);
});

Deno.test("taskGroup(): children failing while the group is cancelled are collected, not reported", async () => {
  const contexts = await reports(async () => {
    const host = createTask(() =>
      taskGroup((group) => {
        group.createTask(failing("one", 10));
        group.createTask(failing("two", 10));
        return sleep(1000);
      })
    );
    await sleep(10);
    host.cancel();
    await assert.rejects(host, (error) => {
      assert.ok(error instanceof TaskGroupError);
      assert.equal(error.errors.length, 2);
      return true;
    });
  });
  assert.deepEqual(contexts, []);
});

Deno.test("StreamReader: an error handed to a read whose task is cancelled is not reported", async () => {
  const contexts = await reports(async () => {
    let fail: (error: Error) => void = () => {};
    const reader = new StreamReader({
      source: {
        read: () => new Promise((_, reject) => (fail = reject)),
      },
    });
    const loop = getRunningLoop();
    const readTask = createTask(() => reader.read(10));
    await sleep(0);
    // The source fails, and the read's task is cancelled, in one iteration.
    loop.callSoon(() => readTask.cancel());
    fail(new Error("source broke"));
    await assert.rejects(readTask, CancelledError);
    // The reader keeps the error for the next read.
    await assert.rejects(reader.read(10), /source broke/);
  });
  assert.deepEqual(contexts, []);
});
