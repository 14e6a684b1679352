import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  getRunningLoop,
  run,
  sleep,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

Deno.test("sleep() on virtual time returns at once with the clock advanced exactly", async () => {
  const clock = new VirtualClock();
  const wallStart = performance.now();
  const value = await run(async () => {
    const start = getRunningLoop().time();
    const result = await sleep(3_600_000, "later");
    assert.equal(getRunningLoop().time() - start, 3_600_000);
    return result;
  }, { clock });
  assert.equal(value, "later");
  assert.ok(performance.now() - wallStart < 1000);
});

Deno.test("sleep(0) yields to other tasks for one iteration", async () => {
  await run(async () => {
    const order: string[] = [];
    const other = createTask(async () => {
      order.push("other 1");
      await sleep(0);
      order.push("other 2");
    });
    await sleep(0);
    order.push("main 1");
    await sleep(0);
    order.push("main 2");
    await other;
    assert.deepEqual(order, ["other 1", "main 1", "other 2", "main 2"]);
    assert.equal(getRunningLoop().time(), 0);
  }, { clock: new VirtualClock() });
});

Deno.test("sleep(0) resumes the task in its place among callbacks, as asyncio does", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const order: string[] = [];
    loop.callSoon(() => {
      order.push("cb1");
      loop.callSoon(() => order.push("cb2"));
    });
    await sleep(0);
    order.push("task");
    await sleep(0);
    order.push("task again");
    // CPython 3.12 prints ['cb1', 'task', 'cb2', 'task again'].
    assert.deepEqual(order, ["cb1", "task", "cb2", "task again"]);
  }, { clock: new VirtualClock() });
});

Deno.test("sleep() wakes concurrent sleepers in deadline order, ties in call order", async () => {
  await run(async () => {
    const order: string[] = [];
    const sleeper = (ms: number, name: string) =>
      createTask(async () => {
        await sleep(ms);
        order.push(name);
      });
    const tasks = [
      sleeper(30, "30"),
      sleeper(10, "10a"),
      sleeper(20, "20"),
      sleeper(10, "10b"),
    ];
    for (const task of tasks) await task;
    assert.deepEqual(order, ["10a", "10b", "20", "30"]);
  }, { clock: new VirtualClock() });
});

Deno.test("sleep() cancelled removes its timer so virtual time does not jump to it", async () => {
  await run(async () => {
    const task = createTask(() => sleep(1_000_000));
    await sleep(1);
    task.cancel();
    await assert.rejects(task, CancelledError);
    await sleep(5);
    assert.equal(getRunningLoop().time(), 6);
  }, { clock: new VirtualClock() });
});

Deno.test("sleep(Infinity) sleeps until cancelled", async () => {
  await run(async () => {
    const task = createTask(() => sleep(Infinity));
    await sleep(100);
    assert.equal(task.done(), false);
    task.cancel();
    await assert.rejects(task, CancelledError);
  }, { clock: new VirtualClock() });
});

Deno.test("sleep() rejects a non-number or NaN", async () => {
  await run(async () => {
    assert.throws(() => sleep("10" as never), TypeError);
    assert.throws(() => sleep(NaN), RangeError);
    assert.equal(await sleep(-5, "negative is zero"), "negative is zero");
  }, { clock: new VirtualClock() });
});

Deno.test("sleep() refuses bad arguments at the call, naming them", async () => {
  await run(async () => {
    await assertRefuses("sleep()", "ms", (v) => sleep(v), {
      TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}, PROMISE],
      RangeError: [NaN],
    });
    assert.equal(await sleep(10, "still sleeps"), "still sleeps");
  }, { clock: new VirtualClock() });
});
