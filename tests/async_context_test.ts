/**
 * The host behaviour the core relies on, checked where it can differ
 * between Deno, Node and Bun (this file runs on all three, see
 * `tests/runtimes/run.ts`): the current task travels with
 * `AsyncLocalStorage` through every await shape the module meets, so
 * `currentTask()` is right there and `cancel()` reaches the await; the
 * loop yields to the host while it is busy; an adapter called where Deno's
 * API is missing says so.
 */
import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  currentTask,
  Future,
  Queue,
  run,
  sleep,
  type Task,
  TaskGroup,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";

const clock = () => ({ clock: new VirtualClock() });

async function* ticks(log: string[]): AsyncGenerator<number> {
  for (let i = 0;; i++) {
    log.push(`tick ${i} in ${currentTask()?.getName()}`);
    await sleep(1000);
    yield i;
  }
}

/** Await shapes, each suspending its task until cancelled. */
const SHAPES: Record<string, (log: string[]) => Promise<unknown>> = {
  "a Future (a thenable)": () => new Future<void>(),
  "sleep()": () => sleep(1000),
  "Promise.all of loop awaitables": () =>
    Promise.all([sleep(1000), new Future<void>()]),
  "Promise.race of loop awaitables": () =>
    Promise.race([sleep(1000), new Future<void>()]),
  "a promise chain started in the task": () =>
    Promise.resolve().then(() => sleep(1000)),
  "for await over an async generator": async (log) => {
    for await (const _ of ticks(log)) {
      log.push(`body in ${currentTask()?.getName()}`);
    }
  },
  "for await over a Queue": async (log) => {
    const queue = new Queue<number>();
    queue.putNowait(1);
    for await (const item of queue) {
      log.push(`item ${item} in ${currentTask()?.getName()}`);
    }
  },
  "await using a TaskGroup": async (log) => {
    await using group = new TaskGroup();
    group.createTask(async () => {
      try {
        await sleep(1000);
      } finally {
        log.push(`child cancelled in ${currentTask()?.getName()}`);
      }
    }, { name: "child" });
    await sleep(1000);
  },
  "a host timer, then a loop await": async (log) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    log.push(`after the timer in ${currentTask()?.getName()}`);
    await sleep(1000);
  },
};

for (const [shape, wait] of Object.entries(SHAPES)) {
  Deno.test(`cancel() reaches a task awaiting ${shape}, and currentTask() is right after it`, async () => {
    await run(async () => {
      const log: string[] = [];
      const task: Task<void> = createTask(async () => {
        try {
          await wait(log);
        } catch (error) {
          log.push(
            `${(error as Error).name} in ${currentTask()?.getName()}`,
          );
          throw error;
        }
      }, { name: "waiter" });
      await sleep(10);
      task.cancel();
      await assert.rejects(task, CancelledError);
      assert.ok(task.cancelled());
      assert.equal(log.at(-1), "CancelledError in waiter");
      for (const line of log) assert.match(line, / in (waiter|child)$/);
    }, clock());
  });
}

Deno.test("the loop yields to the host while a task keeps it busy", async () => {
  await run(async () => {
    let fired = false;
    setTimeout(() => (fired = true), 0);
    const start = performance.now();
    // sleep(0) never idles the loop: only its own host yields let the timer
    // run. Bounded at 2 s of real time.
    while (!fired && performance.now() - start < 2000) await sleep(0);
    assert.ok(fired, "a host timer never ran while the loop was busy");
  });
});
