import assert from "node:assert/strict";
import {
  CancelledError,
  captureCallGraph,
  createTask,
  formatCallGraph,
  type Future,
  InvalidStateError,
  run,
  type Task,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { WaiterList } from "../src/_waiters.ts";

const clock = () => ({ clock: new VirtualClock() });

function parkAll(list: WaiterList, names: string[]): Task<string>[] {
  return names.map((name) => createTask(() => list.park(name), { name }));
}

Deno.test("WaiterList.statistics() counts parked and woken waiters", async () => {
  await run(async () => {
    const list = new WaiterList("test");
    assert.deepEqual(list.statistics(), {
      parked: 0,
      woken: 0,
      broken: false,
    });
    const tasks = parkAll(list, ["a", "b"]);
    await waitAllTasksBlocked();
    assert.deepEqual(list.statistics(), {
      parked: 2,
      woken: 0,
      broken: false,
    });
    list.wake();
    assert.deepEqual(list.statistics(), {
      parked: 1,
      woken: 1,
      broken: false,
    });
    assert.equal(await tasks[0], "a");
    assert.deepEqual(list.statistics(), {
      parked: 1,
      woken: 0,
      broken: false,
    });
    tasks[1].cancel();
    await assert.rejects(tasks[1], CancelledError);
    assert.deepEqual(list.statistics(), {
      parked: 0,
      woken: 0,
      broken: false,
    });
  }, clock());
});

Deno.test("WaiterList.wakeN() wakes that many, longest-parked first", async () => {
  await run(async () => {
    const list = new WaiterList("test");
    const order: string[] = [];
    const tasks = ["a", "b", "c", "d"].map((name) =>
      createTask(async () => order.push(await list.park(name)))
    );
    await waitAllTasksBlocked();
    assert.equal(list.wakeN(3), 3);
    await waitAllTasksBlocked();
    assert.deepEqual(order, ["a", "b", "c"]);
    assert.equal(list.wakeN(5), 1);
    await Promise.all(tasks);
    assert.deepEqual(order, ["a", "b", "c", "d"]);
  }, clock());
});

Deno.test("WaiterList.repark() moves waiters in order without waking them", async () => {
  await run(async () => {
    const from = new WaiterList("condition");
    const to = new WaiterList("lock");
    const order: string[] = [];
    const first = parkAll(to, ["x"]);
    const moved = ["a", "b", "c"].map((name) =>
      createTask(async () => order.push(await from.park(name)))
    );
    await waitAllTasksBlocked();
    assert.equal(from.repark(to, 2), 2);
    assert.equal(from.parked, 1);
    assert.equal(to.parked, 3);
    await waitAllTasksBlocked();
    assert.deepEqual(order, [], "nobody was woken");
    assert.equal(to.wakeAll(), 3);
    assert.equal(to.woken, 3);
    assert.equal(await first[0], "x");
    await waitAllTasksBlocked();
    assert.deepEqual(order, ["a", "b"]);
    assert.equal(to.size, 0, "the moved waiters counted in `to`");
    assert.equal(from.size, 1);
    assert.equal(from.reparkAll(to), 1);
    assert.equal(to.wake(), true);
    await Promise.all(moved);
    assert.deepEqual(order, ["a", "b", "c"]);
    assert.equal(from.size + to.size, 0);
  }, clock());
});

Deno.test("WaiterList.repark(): a moved waiter is the target's to cancel and to abandon", async () => {
  await run(async () => {
    let fromAbandoned = 0;
    let toAbandoned = 0;
    const from = new WaiterList("from", { onAbandon: () => fromAbandoned++ });
    const to = new WaiterList("to", {
      onAbandon: () => toAbandoned++,
      describe: () => "waiting in to",
    });
    const tasks = parkAll(from, ["a", "b"]);
    await waitAllTasksBlocked();
    assert.equal(from.reparkAll(to), 2);
    assert.match(formatCallGraph(tasks[0]), /waiting in to/);
    tasks[1].cancel(); // parked in `to`: leaves it at once
    assert.equal(to.parked, 1);
    assert.equal(from.parked, 0);
    assert.equal(to.wake(), true);
    tasks[0].cancel(); // cancelled in the same iteration it was woken
    await assert.rejects(tasks[0], CancelledError);
    await assert.rejects(tasks[1], CancelledError);
    assert.equal(toAbandoned, 1, "the wake-up is handed on by `to`");
    assert.equal(fromAbandoned, 0);
    assert.equal(to.size, 0);
  }, clock());
});

Deno.test("WaiterList.repark() refuses a broken target and moves nothing", async () => {
  await run(async () => {
    const from = new WaiterList("condition");
    const to = new WaiterList("lock");
    to.break(new Error("gone"));
    const [task] = parkAll(from, ["a"]);
    await waitAllTasksBlocked();
    assert.throws(
      () => from.repark(to),
      new InvalidStateError(
        "Cannot move waiters from condition to lock: it is broken",
      ),
    );
    assert.equal(from.parked, 1);
    assert.equal(from.repark(from), 0);
    from.wake();
    assert.equal(await task, "a");
  }, clock());
});

Deno.test("WaiterList.break() fails every parked waiter and every later park", async () => {
  await run(async () => {
    let left = 0;
    const list = new WaiterList("test", { onLeave: () => left++ });
    const tasks = parkAll(list, ["a", "b", "c"]);
    await waitAllTasksBlocked();
    list.wake(); // "a" keeps its wake-up
    const error = new Error("connection lost");
    assert.equal(list.break(error), 2);
    assert.equal(list.statistics().broken, true);
    assert.equal(await tasks[0], "a");
    await assert.rejects(tasks[1], (e) => e === error);
    await assert.rejects(tasks[2], (e) => e === error);
    await assert.rejects(list.park("d"), (e) => e === error);
    assert.equal(left, 3);
    assert.equal(list.size, 0);
    assert.equal(list.break(new Error("again")), 0);
    await assert.rejects(list.park("e"), (e) => e === error);
  }, clock());
});

Deno.test("WaiterList.waiters() lists the parked waiters, whose graph leads to their tasks", async () => {
  await run(async () => {
    const list = new WaiterList("test");
    const tasks = parkAll(list, ["a", "b"]);
    await waitAllTasksBlocked();
    const waiters = [...list.waiters()];
    assert.equal(waiters.length, 2);
    for (const [i, waiter] of waiters.entries()) {
      const graph = captureCallGraph(waiter as Future<void>)!;
      assert.equal(graph.awaitedBy[0].future, tasks[i]);
    }
    assert.equal(list.headTask(), tasks[0]);
    list.wakeAll();
    assert.deepEqual([...list.waiters()], []);
    await Promise.all(tasks);
  }, clock());
});
