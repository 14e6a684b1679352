import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  currentTask,
  type ExceptionContext,
  Future,
  getRunningLoop,
  run,
  shield,
  sleep,
  Task,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";

const clock = () => ({ clock: new VirtualClock() });

Deno.test("shield() cancelling the waiter leaves the work running", async () => {
  await run(async () => {
    const work = createTask(() => sleep(100, "saved"));
    const waiter = createTask(() => shield(work));
    await sleep(10);
    waiter.cancel("stop waiting");
    await assert.rejects(waiter, {
      name: "CancelledError",
      message: "stop waiting",
    });
    assert.ok(!work.cancelled());
    assert.equal(await work, "saved");
    assert.equal(getRunningLoop().time(), 100);
  }, clock());
});

Deno.test("shield() cancel() of the returned Future does not reach the work", async () => {
  await run(async () => {
    const work = createTask(() => sleep(100, "saved"));
    const outer = shield(work);
    assert.ok(outer !== work);
    assert.equal(outer.cancel(), true);
    await assert.rejects(outer, CancelledError);
    assert.equal(await work, "saved");
  }, clock());
});

Deno.test("shield() passes the result and the error through", async () => {
  await run(async () => {
    assert.equal(await shield(() => sleep(10, "value")), "value");
    await assert.rejects(
      shield(async () => {
        await sleep(10);
        throw new RangeError("bad");
      }),
      RangeError,
    );
  }, clock());
});

Deno.test("shield() the work cancelled by other means cancels the returned Future", async () => {
  await run(async () => {
    const work = createTask(() => sleep(100));
    const outer = shield(work);
    await sleep(10);
    work.cancel();
    await assert.rejects(outer, CancelledError);
    assert.ok(outer.cancelled());
  }, clock());
});

Deno.test("shield() of a done Future returns it", async () => {
  await run(async () => {
    const done = new Future<number>();
    done.setResult(1);
    assert.equal(shield(done), done);
  }, clock());
});

Deno.test("shield() starts a function as its own task and wraps a promise", async () => {
  await run(async () => {
    let task: Task<unknown> | undefined;
    const outer = shield(async () => {
      task = currentTask();
      await sleep(10);
      return "fn";
    });
    const waiter = createTask(() => outer);
    await sleep(1);
    waiter.cancel();
    await assert.rejects(waiter, CancelledError);
    assert.ok(task instanceof Task);
    assert.equal(await task, "fn");
    assert.equal(await shield(Promise.resolve("promise")), "promise");
  }, clock());
});

Deno.test("shield() with a catch keeps the caller going", async () => {
  await run(async () => {
    const work = createTask(() => sleep(100, "result"));
    const caller = createTask(async () => {
      let result: string | undefined;
      try {
        result = await shield(work);
      } catch (error) {
        assert.ok(error instanceof CancelledError);
        result = await work; // the work was not cancelled
      }
      return result;
    });
    await sleep(10);
    caller.cancel();
    assert.equal(await caller, "result");
  }, clock());
});

Deno.test("shield() a failure after the waiter left is reported, not lost", async () => {
  const reports: ExceptionContext[] = [];
  await run(async () => {
    getRunningLoop().setExceptionHandler((_, context) => reports.push(context));
    const work = createTask(async () => {
      await sleep(100);
      throw new RangeError("nobody waited");
    });
    const outer = shield(work);
    outer.cancel();
    await sleep(200);
    assert.ok(work.done());
  }, clock());
  assert.equal(reports.length, 1);
  assert.ok(reports[0].exception instanceof RangeError);
});

Deno.test("shield() rejects what is not awaitable", () => {
  for (const value of [5, null, undefined, "text", [1]]) {
    assert.throws(() => shield(value as never), {
      name: "TypeError",
      message:
        /^Cannot shield: expected a Future, Task, promise or function, got /,
    });
  }
});
