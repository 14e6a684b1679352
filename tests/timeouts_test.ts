import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  currentTask,
  Future,
  getRunningLoop,
  InvalidStateError,
  run,
  sleep,
  taskGroup,
  TaskGroupError,
  Timeout,
  timeout,
  timeoutAt,
  TimeoutError,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { assertRefuses, NOT_FUNCTIONS, PROMISE } from "./_bad_args.ts";

const clock = () => ({ clock: new VirtualClock() });
const now = () => getRunningLoop().time();

Deno.test("timeout() throws TimeoutError when the deadline cuts fn short", async () => {
  await run(async () => {
    let scope: Timeout | undefined;
    const error = await timeout(10, async (t) => {
      scope = t;
      await sleep(10_000);
    }).catch((e) => e);
    assert.ok(error instanceof TimeoutError);
    assert.ok(error.cause instanceof CancelledError);
    assert.ok(scope!.expired());
    assert.equal(now(), 10);
    assert.equal(currentTask()!.cancelling(), 0);
  }, clock());
});

Deno.test("timeout() fn sees CancelledError at its await", async () => {
  await run(async () => {
    const seen: string[] = [];
    await assert.rejects(
      timeout(10, async () => {
        try {
          await sleep(10_000);
        } catch (error) {
          seen.push((error as Error).name);
          await sleep(5); // cleanup may await
          seen.push("cleaned up");
          throw error;
        }
      }),
      TimeoutError,
    );
    assert.deepEqual(seen, ["CancelledError", "cleaned up"]);
    assert.equal(now(), 15);
  }, clock());
});

Deno.test("timeoutAt() uses an absolute deadline, which when() returns", async () => {
  await run(async () => {
    await sleep(100);
    const deadline = now() + 10;
    let scope: Timeout | undefined;
    await assert.rejects(
      timeoutAt(deadline, async (t) => {
        scope = t;
        assert.equal(t.when(), deadline);
        await sleep(10_000);
      }),
      TimeoutError,
    );
    assert.ok(scope!.expired());
    assert.equal(scope!.when(), deadline);
    assert.equal(now(), 110);
  }, clock());
});

Deno.test("timeout() returns fn's result when in time", async () => {
  await run(async () => {
    let scope: Timeout | undefined;
    const result = await timeout(10_000, async (t) => {
      scope = t;
      await sleep(10);
      return "in time";
    });
    assert.equal(result, "in time");
    assert.ok(!scope!.expired());
    assert.ok(scope!.when()! > now());
    assert.equal(await timeout(10, () => "sync"), "sync");
  }, clock());
});

Deno.test("timeout(null) and timeoutAt(null) never expire", async () => {
  await run(async () => {
    for (const scope of [timeout, timeoutAt]) {
      let t: Timeout | undefined;
      await scope(null, async (s) => {
        t = s;
        await sleep(3_600_000);
      });
      assert.ok(!t!.expired());
      assert.equal(t!.when(), null);
    }
    await timeout(undefined, () => sleep(1));
    await timeout(Infinity, () => sleep(1));
  }, clock());
});

Deno.test("timeout(0) and negative delays expire on the next iteration", async () => {
  await run(async () => {
    for (const ms of [0, -11]) {
      for (const sleepMs of [10_000, 0]) {
        const start = now();
        let t: Timeout | undefined;
        await assert.rejects(
          timeout(ms, async (s) => {
            t = s;
            await sleep(sleepMs);
          }),
          TimeoutError,
        );
        assert.ok(t!.expired());
        assert.equal(t!.when(), start + ms);
        assert.equal(now(), start);
      }
    }
  }, clock());
});

Deno.test("timeout() lets an error thrown by fn through", async () => {
  await run(async () => {
    let t: Timeout | undefined;
    await assert.rejects(
      timeout(10, (s) => {
        t = s;
        throw new RangeError("foreign");
      }),
      RangeError,
    );
    assert.ok(!t!.expired());
  }, clock());
});

Deno.test("timeout() an error thrown while handling the cut propagates as is", async () => {
  await run(async () => {
    let t: Timeout | undefined;
    await assert.rejects(
      timeout(10, async (s) => {
        t = s;
        try {
          await sleep(1000);
        } finally {
          // deno-lint-ignore no-unsafe-finally
          throw new RangeError("crash in cleanup");
        }
      }),
      RangeError,
    );
    assert.ok(t!.expired());
    assert.equal(currentTask()!.cancelling(), 0);
  }, clock());
});

Deno.test("timeout() a cancellation from outside stays a CancelledError", async () => {
  await run(async () => {
    let t: Timeout | undefined;
    await assert.rejects(
      timeout(10_000, async (s) => {
        t = s;
        currentTask()!.cancel();
        await sleep(10_000);
      }),
      CancelledError,
    );
    assert.ok(!t!.expired());
    currentTask()!.uncancel();

    const task = createTask(() => timeout(10_000, () => sleep(20_000)));
    await sleep(10);
    task.cancel("outside");
    await assert.rejects(task, { name: "CancelledError", message: "outside" });
    assert.ok(task.cancelled());
  }, clock());
});

Deno.test("timeout() an outside cancel arriving with the deadline stays a CancelledError", async () => {
  await run(async () => {
    const task = createTask(() => timeout(10, () => sleep(20_000)));
    // Fires in the same iteration as the deadline.
    getRunningLoop().callLater(10, () => task.cancel("outside"));
    await assert.rejects(task, CancelledError);
    assert.ok(task.cancelled());
  }, clock());
});

Deno.test("timeout() leaves the task not cancelled once it expired", async () => {
  await run(async () => {
    const task = createTask(async () => {
      await assert.rejects(timeout(1, () => sleep(10_000)), TimeoutError);
      await sleep(10); // not cancelled
      return currentTask()!.cancelling();
    });
    assert.equal(await task, 0);
    assert.ok(!task.cancelled());
  }, clock());
});

Deno.test("timeout() nested with the same deadline: the outer throws TimeoutError, the inner sees CancelledError", async () => {
  await run(async () => {
    const deadline = now() + 10;
    let inner: Timeout | undefined;
    let outer: Timeout | undefined;
    let innerSaw: unknown;
    await assert.rejects(
      timeoutAt(deadline, async (t1) => {
        outer = t1;
        try {
          await timeoutAt(deadline, async (t2) => {
            inner = t2;
            await sleep(10_000);
          });
        } catch (error) {
          innerSaw = error;
          throw error;
        }
      }),
      TimeoutError,
    );
    assert.ok(innerSaw instanceof CancelledError);
    assert.ok(outer!.expired() && inner!.expired());
  }, clock());
});

Deno.test("timeout() an outer deadline firing through an inner scope is the outer's", async () => {
  await run(async () => {
    const seen: string[] = [];
    await assert.rejects(
      timeout(10, async () => {
        try {
          await timeout(100, () => sleep(10_000));
        } catch (error) {
          seen.push(`inner scope threw ${(error as Error).name}`);
          throw error;
        }
      }),
      TimeoutError,
    );
    assert.deepEqual(seen, ["inner scope threw CancelledError"]);
    assert.equal(now(), 10);
  }, clock());
});

Deno.test("timeout() an inner scope expiring first is the inner's; the outer goes on", async () => {
  await run(async () => {
    const seen: string[] = [];
    await assert.rejects(
      timeout(100, async () => {
        await assert.rejects(timeout(10, () => sleep(10_000)), TimeoutError);
        seen.push(`inner expired at ${now()}`);
        await sleep(10_000); // cut by the outer deadline
      }),
      TimeoutError,
    );
    seen.push(`outer expired at ${now()}`);
    assert.deepEqual(seen, ["inner expired at 10", "outer expired at 100"]);
  }, clock());
});

Deno.test("timeout() two deadlines firing in the same iteration: the outer's TimeoutError", async () => {
  await run(async () => {
    // As CPython when a busy loop let both deadlines pass: the inner scope
    // sees a cancellation that is not only its own and lets it through.
    const seen: string[] = [];
    await assert.rejects(
      timeoutAt(now() - 1, async () => {
        try {
          await timeoutAt(now() - 2, () => sleep(1000));
        } catch (error) {
          seen.push(`inner ${(error as Error).name}`);
          throw error;
        }
        seen.push("not reached");
      }),
      TimeoutError,
    );
    assert.deepEqual(seen, ["inner CancelledError"]);
    assert.equal(currentTask()!.cancelling(), 0);
  }, clock());
});

Deno.test("Timeout.reschedule() moves the deadline; null removes it", async () => {
  await run(async () => {
    const deadline1 = now() + 10;
    const deadline2 = deadline1 + 20;
    const entered = new Future<Timeout>();
    const task = createTask(() =>
      timeoutAt(deadline1, async (t) => {
        entered.setResult(t);
        await sleep(50);
        return "finished";
      })
    );
    const t = await entered;
    assert.equal(t.when(), deadline1);
    t.reschedule(deadline2);
    assert.equal(t.when(), deadline2);
    t.reschedule(null);
    assert.equal(t.when(), null);
    assert.equal(await task, "finished");
    assert.ok(!t.expired());
    assert.equal(now(), 50);
  }, clock());
});

Deno.test("Timeout.reschedule() can extend a deadline or make it expire at once", async () => {
  await run(async () => {
    await timeout(10, async (t) => {
      await sleep(8);
      t.reschedule(now() + 10);
      await sleep(8);
    });
    assert.equal(now(), 16);
    const start = now();
    await assert.rejects(
      timeout(1000, async (t) => {
        t.reschedule(now() - 5);
        await sleep(1000);
      }),
      TimeoutError,
    );
    assert.equal(now(), start);
  }, clock());
});

Deno.test("Timeout.reschedule() throws InvalidStateError once expiring, expired or finished", async () => {
  await run(async () => {
    let finished: Timeout | undefined;
    await timeout(10, (t) => {
      finished = t;
    });
    assert.throws(() => finished!.reschedule(20), {
      name: "InvalidStateError",
      message: "Cannot reschedule timeout: it is finished",
    });
    let expired: Timeout | undefined;
    await assert.rejects(
      timeout(10, async (t) => {
        expired = t;
        try {
          await sleep(1000);
        } catch (error) {
          assert.throws(() => t.reschedule(20), /it is expiring/);
          throw error;
        }
      }),
      TimeoutError,
    );
    assert.throws(() => expired!.reschedule(20), /it is expired/);
  }, clock());
});

Deno.test("Timeout.reschedule() rejects a bad deadline", async () => {
  await run(async () => {
    await timeout(10, (t) => {
      assert.throws(() => t.reschedule("soon" as never), TypeError);
      assert.throws(() => t.reschedule(NaN), RangeError);
    });
  }, clock());
});

Deno.test("Timeout.toString() shows the state as asyncio's repr", async () => {
  await run(async () => {
    let t: Timeout | undefined;
    await timeout(10, (s) => {
      t = s;
      assert.equal(String(s), "<Timeout [active] when=10>");
    });
    assert.equal(String(t), "<Timeout [finished]>");
    await timeout(null, (s) => {
      assert.equal(String(s), "<Timeout [active] when=null>");
    });
    await assert.rejects(
      timeout(10, (s) => {
        t = s;
        return sleep(1000);
      }),
      TimeoutError,
    );
    assert.equal(String(t), "<Timeout [expired]>");
  }, clock());
});

Deno.test("timeout() after the task was cancelled still expires as TimeoutError", async () => {
  await run(async () => {
    const task = createTask(async () => {
      try {
        currentTask()!.cancel();
        await sleep(1000); // work that is cancelled
      } catch {
        // handled; cancelling() stays 1
      }
      await assert.rejects(timeout(0, () => sleep(1000)), TimeoutError);
      return currentTask()!.cancelling();
    });
    assert.equal(await task, 1);
  }, clock());
});

Deno.test("timeout() a cancel inside the scope after an earlier cancellation stays CancelledError", async () => {
  await run(async () => {
    const task = createTask(async () => {
      try {
        currentTask()!.cancel();
        await sleep(1000);
      } catch {
        // handled
      }
      await assert.rejects(
        timeout(1000, async () => {
          currentTask()!.cancel();
          await sleep(2000);
        }),
        CancelledError,
      );
      return "done";
    });
    assert.equal(await task, "done");
  }, clock());
});

Deno.test("timeout() cuts every promise chain of fn", async () => {
  await run(async () => {
    const cut: number[] = [];
    const chain = async (ms: number) => {
      try {
        await sleep(ms);
      } catch (error) {
        cut.push(ms);
        throw error;
      }
    };
    await assert.rejects(
      timeout(10, () => Promise.all([chain(100), chain(200)])),
      TimeoutError,
    );
    await waitAllTasksBlocked();
    assert.deepEqual(cut.sort(), [100, 200]);
  }, clock());
});

Deno.test("timeout() fn awaiting a plain promise is cut at its next loop await", async () => {
  await run(async () => {
    const steps: string[] = [];
    let resolvePlain!: () => void;
    const plain = new Promise<void>((resolve) => (resolvePlain = resolve));
    getRunningLoop().callLater(50, () => resolvePlain());
    await assert.rejects(
      timeout(10, async () => {
        await plain;
        steps.push(`plain resolved at ${now()}`);
        await sleep(1000);
        steps.push("not reached");
      }),
      TimeoutError,
    );
    assert.deepEqual(steps, ["plain resolved at 50"]);
    assert.equal(now(), 50);
  }, clock());
});

Deno.test("timeout() expiring after fn returned without awaiting leaves the result", async () => {
  await run(async () => {
    let resolvePlain!: (value: string) => void;
    const plain = new Promise<string>((resolve) => (resolvePlain = resolve));
    getRunningLoop().callLater(50, () => resolvePlain("value"));
    let t: Timeout | undefined;
    const result = await timeout(10, (s) => {
      t = s;
      return plain;
    });
    assert.equal(result, "value");
    assert.ok(t!.expired());
    await sleep(1); // the withdrawn cancellation is not delivered
    assert.equal(currentTask()!.cancelling(), 0);
  }, clock());
});

Deno.test("timeout() around a TaskGroup whose child crashes in cleanup", async () => {
  await run(async () => {
    const error = await timeout(10, () =>
      taskGroup(async (group) => {
        group.createTask(async () => {
          try {
            await sleep(2000);
          } finally {
            // deno-lint-ignore no-unsafe-finally
            throw new RangeError("crash in cleanup");
          }
        });
        await sleep(1000);
      })).catch((e) => e);
    assert.ok(error instanceof TaskGroupError);
    assert.equal(error.errors.length, 1);
    assert.ok(error.errors[0] instanceof RangeError);
    assert.equal(now(), 10);
  }, clock());
});

Deno.test("timeout() outside a task throws InvalidStateError", async () => {
  await assert.rejects(
    timeout(10, () => {}),
    (e: unknown) =>
      e instanceof InvalidStateError && /not inside a task/.test(e.message),
  );
  await assert.rejects(timeoutAt(10, () => {}), InvalidStateError);
});

Deno.test("timeout() and timeoutAt() reject bad arguments", async () => {
  await run(async () => {
    await assert.rejects(timeout("10" as never, () => {}), {
      name: "TypeError",
      message: /^Cannot set timeout: expected ms as a number/,
    });
    await assert.rejects(timeout(NaN, () => {}), RangeError);
    await assert.rejects(timeoutAt(NaN, () => {}), RangeError);
    await assert.rejects(timeout(10, "fn" as never), {
      name: "TypeError",
      message: "Cannot set timeout: expected fn as a function, got a string",
    });
    await assert.rejects(timeoutAt({} as never, () => {}), TypeError);
  }, clock());
});

Deno.test("Timeout cannot be constructed directly", () => {
  assert.throws(() => new Timeout(), {
    name: "TypeError",
    message: /use timeout\(ms, fn\) or timeoutAt\(when, fn\)/,
  });
});

Deno.test("timeout(), timeoutAt() and reschedule() refuse bad arguments at the call, naming them", async () => {
  await run(async () => {
    const badTimes = {
      TypeError: ["5", true, Symbol("s"), 5n, {}, PROMISE],
      RangeError: [NaN],
    };
    await assertRefuses(
      "timeout(ms)",
      "ms",
      (v) => timeout(v, () => 1),
      badTimes,
    );
    await assertRefuses("timeout(ms, fn)", "fn", (v) => timeout(10, v), {
      TypeError: NOT_FUNCTIONS,
    });
    await assertRefuses(
      "timeoutAt(when)",
      "when",
      (v) => timeoutAt(v, () => 1),
      badTimes,
    );
    await assertRefuses("timeoutAt(when, fn)", "fn", (v) => timeoutAt(10, v), {
      TypeError: NOT_FUNCTIONS,
    });
    const result = await timeout(100, async (scope) => {
      await assertRefuses(
        "reschedule()",
        "when",
        (v) => scope.reschedule(v),
        badTimes,
      );
      assert.equal(scope.when(), now() + 100);
      return "in time";
    });
    assert.equal(result, "in time");
  }, clock());
});
