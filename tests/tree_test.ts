/**
 * The task tree and table of a whole loop (asyncio's `ps` and `pstree`):
 * every task with its state and what it awaits, nested under what awaits
 * it, await cycles reported as deadlocks, and snapshots that stay
 * consistent while tasks are being cancelled.
 */
import assert from "node:assert/strict";
import {
  captureTaskTree,
  createTask,
  currentTask,
  formatTaskTable,
  formatTaskTree,
  gather,
  InvalidStateError,
  Lock,
  newEventLoop,
  Queue,
  run,
  sleep,
  type Task,
  taskGroup,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { hexId } from "../src/_awaits.ts";
import { assertRefuses } from "./_bad_args.ts";

function virtual<T>(fn: () => Promise<T>, debug = false): Promise<T> {
  return run(fn, { clock: new VirtualClock(), debug, handleSigint: false });
}

/** Makes a tree's text stable: each task's id becomes `#name`. */
function stable(text: string, tasks: readonly Task<unknown>[]): string {
  let result = text;
  for (const task of tasks) {
    result = result.replaceAll(hexId(task), `#${task.getName()}`);
  }
  return result;
}

/** A table without its id column (ids depend on what ran before). */
function withoutIds(table: string): string {
  return table.split("\n").map((line) => line.replace(/^\S+ +/, "")).join(
    "\n",
  );
}

/** Where this file's lines are, as sites print them. */
const HERE = new URL(import.meta.url).pathname;

Deno.test("formatTaskTree() nests tasks under what awaits them and says what each awaits", async () => {
  await virtual(async () => {
    currentTask()!.setName("main");
    const a = createTask(() => sleep(500), { name: "a" });
    const b = createTask(() => sleep(900), { name: "b" });
    const both = createTask(() => gather(a, b), { name: "both" });
    const jobs = new Queue<string>();
    const workers = createTask(() =>
      taskGroup((group) => {
        group.createTask(() => jobs.get(), { name: "worker-1" });
        group.createTask(() => jobs.get(), { name: "worker-2" });
      }), { name: "workers" });
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    const idle = createTask(() => promise, { name: "idle" });
    await sleep(100);
    const late = createTask(() => sleep(1), { name: "late" });
    const tree = captureTaskTree();
    const tasks = tree.tasks.map((info) => info.task);
    // Ended however the assertions go, so that run() can end.
    const cleanup = async () => {
      workers.cancel();
      resolve();
      await gather(both, late, workers, idle, { returnExceptions: true });
    };
    try {
      assert.equal(
        stable(formatTaskTree(tree), tasks),
        [
          "├── (T) main [#main, running] running now",
          "├── (T) both [#both, waiting] awaits gather of 2 (0 done)",
          "│   ├── (T) a [#a, waiting] awaits sleep(500 ms), due in 400 ms",
          "│   └── (T) b [#b, waiting] awaits sleep(900 ms), due in 800 ms",
          "├── (T) workers [#workers, waiting] awaits TaskGroup exit: waiting for 2 tasks",
          "│   ├── (T) worker-1 [#worker-1, waiting] awaits Queue.get() on <Queue maxsize=0 getters[2]>",
          "│   └── (T) worker-2 [#worker-2, waiting] awaits Queue.get() on <Queue maxsize=0 getters[2]>",
          "├── (T) idle [#idle, suspended] a promise that is not a loop awaitable",
          "└── (T) late [#late, pending] not started yet",
        ].join("\n"),
      );
      assert.equal(
        withoutIds(formatTaskTable(tree)),
        [
          "name      state      age  created by  awaited by  awaits",
          "--------  ---------  ---  ----------  ----------  -------------------------------------------",
          "main      running    -    -           -           running now",
          "a         waiting    -    -           both        sleep(500 ms), due in 400 ms",
          "b         waiting    -    -           both        sleep(900 ms), due in 800 ms",
          "both      waiting    -    -           -           gather of 2 (0 done)",
          "workers   waiting    -    -           -           TaskGroup exit: waiting for 2 tasks",
          "idle      suspended  -    -           -           a promise that is not a loop awaitable",
          "worker-1  waiting    -    -           workers     Queue.get() on <Queue maxsize=0 getters[2]>",
          "worker-2  waiting    -    -           workers     Queue.get() on <Queue maxsize=0 getters[2]>",
          "late      pending    -    -           -           not started yet",
        ].join("\n"),
      );
    } finally {
      await cleanup();
    }
    assert.equal(captureTaskTree().tasks.length, 1);
  });
});

Deno.test("captureTaskTree() records creators, ages and sites in debug mode, and nests spawned tasks", async () => {
  await virtual(async () => {
    currentTask()!.setName("main");
    await sleep(1000);
    const server = createTask(async () => {
      createTask(() => sleep(5000), { name: "handler" });
      await sleep(5000);
    }, { name: "server" });
    await sleep(250);
    const tree = captureTaskTree();
    const byName = new Map(tree.tasks.map((info) => [info.name, info]));
    const handler = byName.get("handler")!;
    assert.equal(handler.createdBy, server);
    assert.equal(handler.age, 250);
    assert.ok(handler.spawned);
    assert.match(handler.createdAt!, new RegExp(`^${HERE}:\\d+$`));
    // The handler's body returned the sleep: no async frame awaits it.
    assert.equal(handler.awaiting[0].site, undefined);
    assert.match(
      byName.get("server")!.awaiting[0].site!,
      new RegExp(`^${HERE}:\\d+$`),
    );
    assert.equal(byName.get("server")!.age, 250);
    assert.equal(byName.get("server")!.createdBy, currentTask());
    const lines = stable(formatTaskTree(tree), tree.tasks.map((i) => i.task))
      .replaceAll(HERE, "HERE").replace(/:\d+/g, ":N").split("\n");
    assert.deepEqual(lines, [
      "└── (T) main [#main, running, age 1.3 s] running now; created at HERE:N",
      "    └── (T) server [spawned, #server, waiting, age 250 ms] awaits sleep(5000 ms), due in 4.8 s (at HERE:N); created at HERE:N",
      "        └── (T) handler [spawned, #handler, waiting, age 250 ms] awaits sleep(5000 ms), due in 4.8 s; created at HERE:N",
    ]);
    server.cancel();
    await sleep(5000);
  }, true);
});

Deno.test("captureTaskTree() finds tasks that await each other in a circle, through gather too", async () => {
  // A cycle never ends, and cancelling it cannot end it either (as in
  // asyncio): the loop is closed with the tasks still pending.
  const loop = newEventLoop({ clock: new VirtualClock() });
  const later: { b?: Task<unknown>; c?: Task<unknown> } = {};
  const a = loop.createTask(async () => {
    await sleep(1);
    await gather(later.b!);
  }, { name: "a" });
  later.b = loop.createTask(async () => {
    await sleep(1);
    await later.c;
  }, { name: "b" });
  later.c = loop.createTask(async () => {
    await sleep(1);
    await a;
  }, { name: "c" });
  loop.createTask(() => a, { name: "bystander" });
  const free = loop.createTask(() => sleep(5), { name: "free" });
  await loop.runUntilComplete(() => sleep(10));
  {
    assert.ok(free.done());
    const tree = captureTaskTree({ loop });
    assert.deepEqual(
      tree.deadlocks.map((cycle) => cycle.map((info) => info.name)),
      [["a", "b", "c"]],
    );
    const text = stable(formatTaskTree(tree), tree.tasks.map((i) => i.task));
    assert.deepEqual(text.split("\n").slice(0, 6), [
      "Deadlock: these tasks await each other in a circle:",
      "  'a' (#a) → 'b' (#b) → 'c' (#c) → 'a' (#a)",
      "  'a' awaits gather of 1 (0 done)",
      "  'b' awaits Task 'c'",
      "  'c' awaits Task 'a'",
      "",
    ]);
    // Every task is still shown once in the tree.
    for (const name of ["a", "b", "c", "bystander"]) {
      assert.equal(text.split(`(T) ${name} [`).length - 1, 1, name);
    }
    assert.deepEqual(
      formatTaskTable(tree).split("\n").slice(0, 2),
      formatTaskTree(tree).split("\n").slice(0, 2),
    );
  }
  loop.close();
});

Deno.test("captureTaskTree() reports a lock-order deadlock while tasks are recorded", async () => {
  await virtual(async () => {
    const first = new Lock();
    const second = new Lock();
    const ab = createTask(async () => {
      using _a = await first.hold();
      await sleep(10);
      using _b = await second.hold();
    }, { name: "ab" });
    const ba = createTask(async () => {
      using _b = await second.hold();
      await sleep(10);
      using _a = await first.hold();
    }, { name: "ba" });
    await sleep(100);
    const tree = captureTaskTree();
    assert.deepEqual(
      tree.deadlocks.map((cycle) => cycle.map((info) => info.name)),
      [["ab", "ba"]],
    );
    assert.match(
      tree.deadlocks[0][0].awaiting[0].description,
      /^Lock\.acquire\(\) on <Lock \[locked, waiters:1\]> held by 'ba'$/,
    );
    ab.cancel();
    await gather(ab, ba, { returnExceptions: true });
    assert.ok(!first.locked() && !second.locked());
  }, true);
});

Deno.test("captureTaskTree() is a consistent snapshot while tasks are being cancelled", async () => {
  await virtual(async () => {
    const sleepers = Array.from(
      { length: 5 },
      (_, i) => createTask(() => sleep(1000), { name: `s${i}` }),
    );
    const parent = createTask(() => gather(sleepers), { name: "parent" });
    await sleep(10);
    // Cancel requested: the tasks are still waiting until the next
    // iteration delivers it, and the snapshot says so.
    parent.cancel();
    const during = captureTaskTree();
    const states = new Map(
      during.tasks.map((info) => [info.name, [info.state, info.cancelling]]),
    );
    assert.deepEqual(states.get("parent"), ["waiting", 1]);
    assert.deepEqual(states.get("s0"), ["waiting", 1]);
    assert.match(formatTaskTable(during), /s0 +waiting, cancelling/);
    // The snapshot keeps what it saw after the tasks are gone.
    await gather(parent).then(() => {}, () => {});
    await sleep(1);
    assert.equal(during.tasks.length, 7);
    assert.equal(captureTaskTree().tasks.length, 1);
    assert.match(
      formatTaskTree(during),
      /\(T\) s4 \[0x[0-9a-f]+, waiting, cancelling\]/,
    );

    // A task cleaning up after its cancellation: the dump shows it in its
    // cleanup, still cancelling.
    const cleaning = createTask(async () => {
      try {
        await sleep(1000);
      } finally {
        await sleep(50); // the cleanup
      }
    }, { name: "cleaning" });
    await sleep(1);
    cleaning.cancel();
    await sleep(10);
    const info = captureTaskTree().tasks.find((i) => i.name === "cleaning")!;
    assert.deepEqual(
      [info.state, info.cancelling, info.awaiting[0].description],
      ["waiting", 1, "sleep(50 ms), due in 40 ms"],
    );
    await cleaning.then(() => {}, () => {});
  });
});

Deno.test("captureTaskTree() of a loop given by option, outside a running loop, and of a closed loop", async () => {
  const loop = newEventLoop({ clock: new VirtualClock() });
  const task = loop.createTask(() => sleep(100), { name: "later" });
  assert.deepEqual(
    captureTaskTree({ loop }).tasks.map((info) => [info.name, info.state]),
    [["later", "pending"]],
  );
  assert.throws(() => captureTaskTree(), InvalidStateError);
  assert.throws(() => formatTaskTree(), InvalidStateError);
  await loop.runUntilComplete(task);
  loop.close();
  assert.deepEqual(captureTaskTree({ loop }).tasks, []);
});

Deno.test("captureTaskTree(), formatTaskTable() and formatTaskTree() refuse bad arguments", async () => {
  await virtual(async () => {
    await assertRefuses("captureTaskTree", "options", captureTaskTree, {
      TypeError: ["5", 5, null],
    });
    for (const fn of [formatTaskTable, formatTaskTree]) {
      await assertRefuses(fn.name, "TaskTree", fn, {
        TypeError: ["5", 5, null, {}, { tasks: [] }],
      });
    }
  });
});
