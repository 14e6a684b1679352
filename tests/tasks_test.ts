import assert from "node:assert/strict";
import {
  allTasks,
  asCompleted,
  CancelledError,
  createTask,
  currentTask,
  ensureFuture,
  Future,
  gather,
  getRunningLoop,
  InvalidStateError,
  newEventLoop,
  run,
  shield,
  sleep,
  Task,
  waitFor,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const clock = () => ({ clock: new VirtualClock() });

Deno.test("createTask() names tasks Task-N and setName() renames", async () => {
  await run(async () => {
    const a = createTask(() => sleep(0));
    const b = createTask(() => sleep(0), { name: "worker" });
    assert.match(a.getName(), /^Task-\d+$/);
    assert.equal(b.getName(), "worker");
    b.setName("renamed");
    assert.equal(b.getName(), "renamed");
    assert.match(String(b), /Task name='renamed' pending/);
    await a;
    await b;
  }, clock());
});

Deno.test("createTask() given a started promise throws a TypeError that shows the fix", async () => {
  await run(async () => {
    const work = async () => 1;
    const promise = work();
    assert.throws(
      () => createTask(promise as never),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message.includes("createTask(() => work())"),
    );
    assert.throws(() => createTask(42 as never), TypeError);
    await promise;
  }, clock());
});

Deno.test("createTask() outside a running loop throws InvalidStateError that says to use run()", () => {
  assert.throws(
    () => createTask(async () => {}),
    (error) =>
      error instanceof InvalidStateError &&
      /^No running event loop: .*run\(main\)/.test(error.message),
  );
});

Deno.test("Task starts on the next iteration; eager starts at once", async () => {
  await run(async () => {
    const order: string[] = [];
    const lazy = createTask(async () => {
      order.push("lazy");
    });
    const eager = createTask(async () => {
      order.push("eager");
    }, { eager: true });
    order.push("after createTask");
    await lazy;
    await eager;
    assert.deepEqual(order, ["eager", "after createTask", "lazy"]);
    assert.ok(eager.done());
  }, clock());
});

Deno.test("Task.cancel() throws CancelledError at the awaited sleep", async () => {
  await run(async () => {
    const seen: unknown[] = [];
    const task = createTask(async () => {
      try {
        await sleep(10_000);
      } catch (e) {
        seen.push(e);
        throw e;
      }
    });
    await sleep(1);
    assert.equal(task.cancel("stop it"), true);
    await assert.rejects(task, CancelledError);
    assert.ok(task.cancelled());
    assert.equal(seen.length, 1);
    assert.ok(seen[0] instanceof CancelledError);
    assert.equal((seen[0] as Error).message, "stop it");
    assert.equal(getRunningLoop().time(), 1);
  }, clock());
});

Deno.test("Task.cancel() before the task starts: the body never runs", async () => {
  await run(async () => {
    let ran = false;
    const task = createTask(async () => {
      ran = true;
    });
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(ran, false);
    assert.ok(task.cancelled());
  }, clock());
});

Deno.test("Task that swallows CancelledError completes normally", async () => {
  await run(async () => {
    const task = createTask(async () => {
      try {
        await sleep(1000);
      } catch (e) {
        assert.ok(e instanceof CancelledError);
      }
      await sleep(5);
      return "survived";
    });
    await sleep(1);
    task.cancel();
    assert.equal(await task, "survived");
    assert.ok(!task.cancelled());
    assert.equal(task.cancelling(), 1);
  }, clock());
});

Deno.test("Task.cancel() on a done task returns false", async () => {
  await run(async () => {
    const task = createTask(async () => 5);
    assert.equal(await task, 5);
    assert.equal(task.cancel(), false);
    assert.equal(task.cancelling(), 0);
  }, clock());
});

Deno.test("Task.cancel() cancels the Task or Future it awaits", async () => {
  await run(async () => {
    const inner = createTask(() => sleep(10_000));
    const future = new Future<number>();
    const outerOnTask = createTask(() => inner);
    const outerOnFuture = createTask(() => future);
    await waitAllTasksBlocked();
    outerOnTask.cancel();
    outerOnFuture.cancel();
    await assert.rejects(outerOnTask, CancelledError);
    await assert.rejects(outerOnFuture, CancelledError);
    assert.ok(inner.cancelled());
    assert.ok(future.cancelled());
  }, clock());
});

Deno.test("Task.cancel() while awaiting a plain promise is delivered at the next loop await", async () => {
  await run(async () => {
    let resolvePlain!: () => void;
    const plain = new Promise<void>((r) => (resolvePlain = r));
    const steps: string[] = [];
    const task = createTask(async () => {
      await plain;
      steps.push("plain resolved");
      try {
        await sleep(100);
        steps.push("not cancelled");
      } catch (e) {
        steps.push(e instanceof CancelledError ? "cancelled" : "other");
        throw e;
      }
    });
    await waitAllTasksBlocked();
    task.cancel();
    resolvePlain();
    await assert.rejects(task, CancelledError);
    assert.deepEqual(steps, ["plain resolved", "cancelled"]);
  }, clock());
});

Deno.test("Task.cancel() after the awaited future completed replaces its result", async () => {
  await run(async () => {
    const future = new Future<string>();
    const results: string[] = [];
    const task = createTask(async () => {
      try {
        results.push(await future);
      } catch (e) {
        results.push(e instanceof CancelledError ? "cancelled" : "other");
      }
    });
    await waitAllTasksBlocked();
    future.setResult("value"); // the wake-up is scheduled, not run
    task.cancel();
    await task;
    assert.deepEqual(results, ["cancelled"]);
  }, clock());
});

Deno.test("Task.cancel() reaches every promise chain the task started", async () => {
  await run(async () => {
    let cancelled = 0;
    const task = createTask(async () => {
      const chain = async (ms: number) => {
        try {
          await sleep(ms);
        } catch (e) {
          if (e instanceof CancelledError) cancelled++;
          throw e;
        }
      };
      await Promise.all([chain(100), chain(200)]);
    });
    await sleep(1);
    task.cancel();
    await assert.rejects(task, CancelledError);
    await sleep(0);
    assert.equal(cancelled, 2);
  }, clock());
});

Deno.test("Task.signal aborts on cancel() and is created lazily", async () => {
  await run(async () => {
    let signal: AbortSignal | undefined;
    const task = createTask(async () => {
      signal = currentTask()!.signal;
      await sleep(1000);
    });
    await sleep(1);
    assert.equal(signal!.aborted, false);
    task.cancel("abort");
    assert.equal(signal!.aborted, true);
    assert.ok(signal!.reason instanceof CancelledError);
    await assert.rejects(task, CancelledError);
    assert.equal(task.signal.aborted, true);
  }, clock());
});

Deno.test("Task.uncancel() withdraws a request and renews the signal", async () => {
  await run(async () => {
    const task = createTask(async () => {
      const me = currentTask()!;
      const first = me.signal;
      try {
        await sleep(100);
      } catch {
        assert.equal(me.cancelling(), 1);
        assert.equal(me.uncancel(), 0);
      }
      assert.ok(first.aborted);
      assert.ok(!me.signal.aborted);
      await sleep(100);
      return "done";
    });
    await sleep(1);
    task.cancel();
    assert.equal(await task, "done");
  }, clock());
});

Deno.test("Task.uncancel() drops a cancellation not yet delivered", async () => {
  await run(async () => {
    const task = createTask(async () => {
      const me = currentTask()!;
      me.cancel();
      assert.equal(me.cancelling(), 1);
      me.uncancel();
      await sleep(10);
      return "kept going";
    });
    assert.equal(await task, "kept going");
  }, clock());
});

Deno.test("Task cancelled right before its coroutine returns ends cancelled", async () => {
  await run(async () => {
    const task = createTask(async () => {
      currentTask()!.cancel();
      return 1;
    });
    await assert.rejects(task, CancelledError);
    assert.ok(task.cancelled());
  }, clock());
});

Deno.test("Task.setResult() and setException() are not allowed", async () => {
  await run(async () => {
    const task = createTask(() => sleep(1));
    assert.throws(() => task.setResult(undefined), InvalidStateError);
    assert.throws(() => task.setException(new Error()), InvalidStateError);
    await task;
  }, clock());
});

Deno.test("Task result and exception come from the coroutine", async () => {
  await run(async () => {
    const ok = createTask(async () => {
      await sleep(1);
      return { data: 1 };
    });
    const bad = createTask(async () => {
      await sleep(1);
      throw new RangeError("bad");
    });
    const sync = createTask(() => 3);
    assert.deepEqual(await ok, { data: 1 });
    await assert.rejects(bad, RangeError);
    assert.ok(bad.exception() instanceof RangeError);
    assert.equal(await sync, 3);
  }, clock());
});

Deno.test("currentTask() and allTasks() see the running tasks", async () => {
  await run(async () => {
    const main = currentTask()!;
    assert.ok(main instanceof Task);
    const child: Task<void> = createTask(async () => {
      assert.equal(currentTask(), child);
      await sleep(5);
    });
    assert.deepEqual(allTasks(), new Set([main, child]));
    await child;
    assert.deepEqual(allTasks(), new Set([main]));
  }, clock());
  assert.equal(currentTask(), undefined);
});

Deno.test("ensureFuture() passes futures through, runs functions, wraps promises", async () => {
  await run(async () => {
    const future = new Future<number>();
    assert.equal(ensureFuture(future), future);
    const task = ensureFuture(async () => 2);
    assert.ok(task instanceof Task);
    assert.equal(await task, 2);
    const wrapped = ensureFuture(Promise.reject(new Error("boom")));
    await assert.rejects(wrapped, /boom/);
    assert.throws(() => ensureFuture(5 as never), TypeError);
    future.cancel();
  }, clock());
});

Deno.test("Task awaiting itself gets InvalidStateError instead of hanging", async () => {
  await run(async () => {
    const task: Task<void> = createTask(async () => {
      await assert.rejects(async () => await task, /cannot await itself/);
    });
    await task;
  }, clock());
});

/** A future whose cancel() refuses, as asyncio allows subclasses to. */
class Uncancellable<T> extends Future<T> {
  override cancel(_message?: string): boolean {
    return false;
  }
}

Deno.test("Task.cancel() while awaiting a future that refuses cancel() is delivered when it completes", async () => {
  await run(async () => {
    const future = new Uncancellable<number>();
    const steps: string[] = [];
    const task = createTask(async () => {
      const value = await future; // throws CancelledError, as in asyncio
      steps.push(`got ${value}`);
      await sleep(10);
      steps.push("ran on");
    });
    await waitAllTasksBlocked();
    assert.equal(task.cancel(), true);
    future.setResult(1);
    await assert.rejects(task, CancelledError);
    assert.deepEqual(steps, []);
    assert.ok(task.cancelled());
  }, clock());
});

/** A CancelledError of the user's own, with fields, a cause and a stack. */
class ShutdownCancelled extends CancelledError {
  constructor(readonly code: number, cause: unknown) {
    super("shutting down");
    this.cause = cause;
  }
}

Deno.test("Task keeps the very CancelledError its coroutine raised, for every reader", async () => {
  await run(async () => {
    const cause = new Error("why");
    let raised: ShutdownCancelled | undefined;
    // Named, not an arrow: JavaScriptCore (Bun) leaves an arrow's inferred
    // name out of stack traces.
    async function body(): Promise<never> {
      await sleep(10);
      raised = new ShutdownCancelled(7, cause);
      throw raised;
    }
    const task = createTask(body);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(task, (error) => error === raised);
    }
    assert.ok(task.cancelled());
    assert.throws(() => task.result(), (error) => error === raised);
    assert.throws(() => task.exception(), (error) => error === raised);
    assert.equal(raised!.code, 7);
    assert.equal(raised!.cause, cause);
    assert.match(raised!.stack!, /body/);
    // Combinators hand the same object on.
    const second = createTask(body);
    await assert.rejects(gather(second), (error) => error === raised);
    const third = createTask(body);
    const [settled] = await gather([third], { returnExceptions: true });
    assert.equal(settled, raised);
    const fourth = createTask(body);
    await assert.rejects(waitFor(fourth, 1000), (error) => error === raised);
    const fifth = createTask(body);
    await assert.rejects(shield(fifth), (error) => error === raised);
    const sixth = createTask(body);
    await assert.rejects(async () => {
      for await (const _ of asCompleted([sixth]));
    }, (error) => error === raised);
  }, { clock: new VirtualClock() });
});

Deno.test("Task.uncancel() withdraws a cancel aimed at a wait whose future already finished", async () => {
  await run(async () => {
    const future = new Future<string>();
    const task = createTask(() => future);
    await sleep(0); // the task awaits the future
    future.setResult("done");
    assert.equal(task.cancel(), true);
    assert.equal(task.uncancel(), 0);
    assert.equal(await task, "done");
    // With a request left, the cancel stands.
    const again = new Future<string>();
    const second = createTask(() => again);
    await sleep(0);
    again.setResult("done");
    second.cancel();
    second.cancel();
    assert.equal(second.uncancel(), 1);
    await assert.rejects(second, CancelledError);
  }, { clock: new VirtualClock() });
});

Deno.test("createTask() and Task refuse bad names and options at the call, naming them", async () => {
  await run(async () => {
    const body = () => sleep(1);
    await assertRefuses(
      "createTask() name",
      "name",
      (v) => createTask(body, { name: v }),
      {
        TypeError: [null, 5, true, Symbol("s"), 5n, {}, PROMISE],
      },
    );
    await assertRefuses(
      "createTask() eager",
      "eager",
      (v) => createTask(body, { eager: v }),
      {
        TypeError: [null, "yes", 1, Symbol("s"), {}],
      },
    );
    await assertRefuses(
      "createTask() options",
      "options",
      (v) => createTask(body, v),
      {
        TypeError: [null, "5", true, Symbol("s"), 5n, PROMISE],
      },
    );
    await assertRefuses("createTask() fn", "function", (v) => createTask(v), {
      TypeError: [undefined, null, "5", Symbol("s"), 5n, {}],
    });
    const task = createTask(body, { name: "kept" });
    await assertRefuses("Task.setName()", "name", (v) => task.setName(v), {
      TypeError: [undefined, null, Symbol("s"), 5n, {}],
    });
    assert.equal(task.getName(), "kept");
    assert.match(String(task), /name='kept'/);
    await task;
  }, { clock: new VirtualClock() });
});

Deno.test("Task.cancel() of tasks awaiting each other in a circle says it is a deadlock, without overflowing the stack", async () => {
  const loop = newEventLoop({ clock: new VirtualClock() });
  let a: Task<unknown> | undefined;
  let b: Task<unknown> | undefined;
  await loop.runUntilComplete(async () => {
    a = createTask(async () => {
      await sleep(1);
      return await b!;
    });
    b = createTask(async () => {
      await sleep(1);
      return await a!;
    });
    await sleep(10); // each now awaits the other
    for (const task of [a, b]) {
      assert.throws(
        () => task.cancel(),
        (error) =>
          error instanceof InvalidStateError &&
          /in a circle of tasks that await each other \(a deadlock\)/.test(
            error.message,
          ),
      );
    }
    assert.ok(!a.done() && !b.done()); // a deadlock stays one
  });
  loop.close(); // the pair is still pending: nothing more to run
});

Deno.test("A body that returns a Future, a promise or a thenable finishes its task with the outcome, eager or not", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const other = newEventLoop();
    try {
      for (const eager of [false, true]) {
        const ok = new Future<number>();
        const bad = new Future<number>();
        const results = [
          createTask(() => ok, { eager }),
          createTask(() => bad, { eager }),
          createTask(() => Promise.resolve(3), { eager }),
          createTask(() => Promise.reject(new RangeError("four")), { eager }),
          createTask(
            () =>
              ({ then: (f: (v: number) => void) => f(5) }) as PromiseLike<
                number
              >,
            { eager },
          ),
          // Refused at once: bound to a loop that is not the task's.
          createTask(() => other.createFuture<number>(), { eager }),
        ].map((task) => task.then((v) => v, (e) => (e as Error).message));
        loop.callSoon(() => ok.setResult(1));
        loop.callSoon(() => bad.setException(new TypeError("two")));
        const settled = await gather(...results);
        assert.deepEqual(settled.slice(0, 5), [1, "two", 3, "four", 5]);
        assert.match(String(settled[5]), /another event loop/);
      }
    } finally {
      other.close();
    }
  });
});

Deno.test("Cancelling a task whose body returned a Future cancels that Future", async () => {
  await run(async () => {
    for (const eager of [false, true]) {
      const future = new Future<number>();
      const task = createTask(() => future, { eager });
      await sleep(0);
      task.cancel("stop");
      await assert.rejects(task, (e) => e instanceof CancelledError);
      assert.ok(future.cancelled());
      assert.ok(task.cancelled());
    }
  });
});

Deno.test("A body that returns a Future subclass with its own then() goes through that then()", async () => {
  const seen: string[] = [];
  class Traced<T> extends Future<T> {
    override then<R1 = T, R2 = never>(
      onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
      onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
    ): Promise<R1 | R2> {
      seen.push("then");
      return super.then(onFulfilled, onRejected);
    }
  }
  await run(async () => {
    const future = new Traced<number>();
    const task = createTask(() => future);
    await sleep(0);
    future.setResult(7);
    assert.equal(await task, 7);
    assert.deepEqual(seen, ["then"]); // the task awaited it through then()
  });
});
