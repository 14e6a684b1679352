import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  Event,
  getRunningLoop,
  run,
  sleep,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";

const clock = () => ({ clock: new VirtualClock() });

Deno.test("Event.wait() returns at once when the event is set", async () => {
  await run(async () => {
    const event = new Event();
    assert.equal(event.isSet(), false);
    event.set();
    assert.equal(event.isSet(), true);
    assert.equal(await event.wait(), true);
    assert.equal(getRunningLoop().time(), 0);
  }, clock());
});

Deno.test("Event.set() wakes every waiter, in the order they waited", async () => {
  await run(async () => {
    const event = new Event();
    const woke: number[] = [];
    const tasks = [1, 2, 3].map((n) =>
      createTask(async () => {
        assert.equal(await event.wait(), true);
        woke.push(n);
      })
    );
    await waitAllTasksBlocked();
    assert.equal(String(event), "<Event [unset, waiters:3]>");
    assert.deepEqual(woke, []);
    event.set();
    for (const task of tasks) await task;
    assert.deepEqual(woke, [1, 2, 3]);
    assert.equal(String(event), "<Event [set]>");
  }, clock());
});

Deno.test("Event.set() twice is harmless", async () => {
  await run(async () => {
    const event = new Event();
    const waiter = createTask(() => event.wait());
    await waitAllTasksBlocked();
    event.set();
    event.set();
    assert.equal(await waiter, true);
  }, clock());
});

Deno.test("Event.clear() makes later waits block until the next set()", async () => {
  await run(async () => {
    const event = new Event();
    event.set();
    event.clear();
    assert.equal(event.isSet(), false);
    const waiter = createTask(() => event.wait());
    await sleep(100);
    assert.equal(waiter.done(), false);
    event.set();
    assert.equal(await waiter, true);
  }, clock());
});

Deno.test("Event.clear() right after set() still lets woken waiters return", async () => {
  // asyncio's test_clear_with_waiters.
  await run(async () => {
    const event = new Event();
    const waiter = createTask(() => event.wait());
    await waitAllTasksBlocked();
    event.set();
    event.clear();
    assert.equal(event.isSet(), false);
    assert.equal(await waiter, true);
    assert.equal(String(event), "<Event [unset]>");
  }, clock());
});

Deno.test("Event.wait() cancelled while waiting leaves no waiter behind", async () => {
  await run(async () => {
    const event = new Event();
    const waiter = createTask(() => event.wait());
    const other = createTask(() => event.wait());
    await waitAllTasksBlocked();
    waiter.cancel("stop");
    await assert.rejects(waiter, { name: "CancelledError", message: "stop" });
    assert.equal(String(event), "<Event [unset, waiters:1]>");
    event.set();
    assert.equal(await other, true);
  }, clock());
});

Deno.test("Event.wait() cancelled after set() throws CancelledError, the others still wake", async () => {
  await run(async () => {
    const event = new Event();
    const a = createTask(() => event.wait());
    const b = createTask(() => event.wait());
    await waitAllTasksBlocked();
    event.set();
    a.cancel();
    await assert.rejects(a, CancelledError);
    assert.equal(await b, true);
    assert.equal(String(event), "<Event [set]>");
  }, clock());
});

Deno.test("Event.wait() times out by cancellation on virtual time", async () => {
  await run(async () => {
    const event = new Event();
    const waiter = createTask(() => event.wait());
    getRunningLoop().callLater(5000, () => waiter.cancel());
    await assert.rejects(waiter, CancelledError);
    assert.equal(getRunningLoop().time(), 5000);
  }, clock());
});
