import assert from "node:assert/strict";
import {
  allTasks,
  CancelledError,
  createEagerTaskFactory,
  createTask,
  currentTask,
  eagerTaskFactory,
  gather,
  getRunningLoop,
  newEventLoop,
  run,
  sleep,
  Task,
  taskGroup,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const clock = () => ({ clock: new VirtualClock() });

Deno.test("eagerTaskFactory starts the body inside createTask", async () => {
  await run(async () => {
    getRunningLoop().setTaskFactory(eagerTaskFactory);
    const order: string[] = [];
    let inside: Task<unknown> | undefined;
    const task = createTask(async () => {
      inside = currentTask();
      order.push("body start");
      await sleep(10);
      order.push("body end");
    });
    order.push("createTask returned");
    assert.equal(inside, task, "the body runs as the task");
    await task;
    assert.deepEqual(order, ["body start", "createTask returned", "body end"]);
  }, clock());
});

Deno.test("eagerTaskFactory a plain-function body is done when createTask returns", async () => {
  await run(async () => {
    getRunningLoop().setTaskFactory(eagerTaskFactory);
    const task = createTask(() => "at once");
    assert.ok(task.done());
    assert.equal(task.result(), "at once");
    // An async body settles a microtask later: not done yet, unlike asyncio.
    const asyncTask = createTask(async () => "soon");
    assert.ok(!asyncTask.done());
    assert.equal(await asyncTask, "soon");
  }, clock());
});

Deno.test("eagerTaskFactory makes gather of work done at once done at once", async () => {
  await run(async () => {
    getRunningLoop().setTaskFactory(eagerTaskFactory);
    const outer = gather(() => 1, () => 2, () => 3);
    assert.ok(outer.done());
    assert.deepEqual(outer.result(), [1, 2, 3]);
  }, clock());
});

Deno.test("eagerTaskFactory with a TaskGroup", async () => {
  await run(async () => {
    getRunningLoop().setTaskFactory(eagerTaskFactory);
    const order: string[] = [];
    await taskGroup((group) => {
      const t = group.createTask(() => {
        order.push("eager child");
        return 1;
      });
      assert.ok(t.done());
      group.createTask(async () => {
        order.push("eager async child");
        await sleep(5);
      });
      order.push("body");
    });
    assert.deepEqual(order, ["eager child", "eager async child", "body"]);
  }, clock());
});

Deno.test("eagerTaskFactory an eager task is cancelled at its first await", async () => {
  await run(async () => {
    getRunningLoop().setTaskFactory(eagerTaskFactory);
    const seen: string[] = [];
    const task = createTask(async () => {
      seen.push("started");
      try {
        await sleep(1000);
      } catch (error) {
        seen.push((error as Error).name);
        throw error;
      }
    });
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.deepEqual(seen, ["started", "CancelledError"]);
  }, clock());
});

Deno.test("eagerTaskFactory a body that throws at once fails the task", async () => {
  await run(async () => {
    getRunningLoop().setTaskFactory(eagerTaskFactory);
    const task = createTask(() => {
      throw new RangeError("at once");
    });
    assert.ok(task.done());
    await assert.rejects(task, RangeError);
  }, clock());
});

Deno.test("eagerTaskFactory unset with setTaskFactory(undefined) returns to lazy tasks", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    loop.setTaskFactory(eagerTaskFactory);
    assert.equal(loop.getTaskFactory(), eagerTaskFactory);
    loop.setTaskFactory(undefined);
    let started = false;
    const task = createTask(async () => {
      started = true;
    });
    assert.ok(!started);
    await task;
    assert.ok(started);
  }, clock());
});

Deno.test("createEagerTaskFactory() builds tasks of the given class, with their name", async () => {
  class NamedTask<T> extends Task<T> {
    readonly tag = "mine";
  }
  await run(async () => {
    getRunningLoop().setTaskFactory(createEagerTaskFactory(NamedTask));
    const task = createTask(() => sleep(1, "x"), { name: "custom" });
    assert.ok(task instanceof NamedTask);
    assert.equal(task.getName(), "custom");
    assert.equal(task.getLoop(), getRunningLoop());
    assert.equal(await task, "x");
  }, clock());
});

Deno.test("createEagerTaskFactory() rejects what is not a class", () => {
  assert.throws(() => createEagerTaskFactory(5 as never), {
    name: "TypeError",
    message:
      "Cannot create eager task factory: expected taskConstructor as a Task class, got a number",
  });
});

Deno.test("An eager task made before the loop runs starts inside the loop, on its first iteration", async () => {
  const loop = newEventLoop({ clock: new VirtualClock() });
  let started = false;
  const main = loop.createTask(async () => {
    started = true;
    assert.equal(allTasks().size, 1); // inside the running loop
    await sleep(10);
    return "done";
  }, { eager: true });
  assert.equal(started, false);
  assert.equal(await loop.runUntilComplete(main), "done");
  loop.setTaskFactory(eagerTaskFactory);
  const second = loop.createTask(() => "plain", { name: "lazy" });
  assert.equal(second.done(), false);
  assert.equal(await loop.runUntilComplete(second), "plain");
  loop.close();
});

Deno.test("createEagerTaskFactory() refuses a non-class at the call, naming it", async () => {
  await assertRefuses(
    "createEagerTaskFactory()",
    "taskConstructor",
    (v) => createEagerTaskFactory(v),
    { TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}, PROMISE] },
  );
  assert.equal(typeof createEagerTaskFactory(Task), "function");
});
