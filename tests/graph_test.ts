/**
 * Call graphs (asyncio 3.14's `asyncio.graph`): for each shape a task can
 * wait in — a task awaiting a task, gather, TaskGroup, shield, waitFor,
 * wait, asCompleted, and the primitives — the graph says what awaits what,
 * in the words a user reads, on virtual time.
 */
import assert from "node:assert/strict";
import {
  allTasks,
  asCompleted,
  Barrier,
  BoundedSemaphore,
  captureCallGraph,
  Condition,
  createSubprocessExec,
  createTask,
  Event,
  FIRST_COMPLETED,
  formatCallGraph,
  Future,
  gather,
  getRunningLoop,
  InvalidStateError,
  Lock,
  newEventLoop,
  openConnection,
  PIPE,
  printCallGraph,
  PriorityQueue,
  Queue,
  run,
  shield,
  sleep,
  startServer,
  StreamReader,
  StreamWriter,
  type Task,
  taskGroup,
  timeout,
  wait,
  waitFor,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { HOST, virtual as virtualNet } from "./_net.ts";
import { hexId } from "../src/_awaits.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const THIS_FILE = new URL(import.meta.url).pathname;

function virtual<T>(fn: () => Promise<T>, debug = false): Promise<T> {
  return run(fn, { clock: new VirtualClock(), debug });
}

/** The `* Task(...)` line of a task, as the graph prints it. */
function taskLine(task: Task<unknown>): string {
  return `* Task(name='${task.getName()}', id=${hexId(task)})`;
}

/** Where a task waits, as the graph says it: the `+ Awaiting:` line. */
function awaiting(task: Task<unknown>): string {
  const line = formatCallGraph(task).split("\n")[1];
  assert.match(line, /^ {2}\+ Awaiting: /);
  return line.replace(/^ {2}\+ Awaiting: /, "");
}

Deno.test("captureCallGraph() of a task awaited by a task: awaitedBy names the awaiting task", async () => {
  await virtual(async () => {
    const child = createTask(() => sleep(500), { name: "child" });
    const parent = createTask(() => child, { name: "parent" });
    await sleep(100);
    const graph = captureCallGraph(child)!;
    assert.equal(graph.future, child);
    assert.deepEqual(graph.callStack, []); // suspended, not in debug mode
    assert.equal(graph.awaitedBy.length, 1);
    assert.equal(graph.awaitedBy[0].future, parent);
    assert.deepEqual(graph.awaitedBy[0].awaitedBy, []);
    assert.equal(
      formatCallGraph(child),
      [
        taskLine(child),
        "  + Awaiting: sleep(500 ms), due in 400 ms",
        "  + Awaited by:",
        `    ${taskLine(parent)}`,
        "      + Awaiting: Task 'child'",
      ].join("\n"),
    );
    await parent;
  });
});

Deno.test("captureCallGraph() follows gather: the child is awaited by the gather, the gather by its task", async () => {
  await virtual(async () => {
    const a = createTask(() => sleep(500), { name: "a" });
    const b = createTask(() => sleep(300), { name: "b" });
    const both = createTask(() => gather(a, b, sleep(100)), { name: "both" });
    await sleep(200);
    const gathering = captureCallGraph(a)!.awaitedBy[0].future;
    assert.equal(
      formatCallGraph(a),
      [
        taskLine(a),
        "  + Awaiting: sleep(500 ms), due in 300 ms",
        "  + Awaited by:",
        `    * Future(id=${hexId(gathering)}) gather of 3 (1 done)`,
        "      + Awaited by:",
        `        ${taskLine(both)}`,
        "          + Awaiting: gather of 3 (1 done)",
      ].join("\n"),
    );
    await both;
  });
});

Deno.test("captureCallGraph() follows a TaskGroup: its tasks are awaited by the group's parent", async () => {
  await virtual(async () => {
    let child: Task<unknown> | undefined;
    const parent = createTask(() =>
      taskGroup(async (group) => {
        child = group.createTask(() => sleep(500), { name: "child" });
        await sleep(100); // the body runs: the parent awaits its sleep
      }), { name: "parent" });
    await sleep(50);
    assert.deepEqual(
      captureCallGraph(child!)!.awaitedBy.map((g) => g.future),
      [parent],
    );
    assert.equal(awaiting(parent), "sleep(100 ms), due in 50 ms");
    await sleep(100); // the body is done: the parent waits at the exit
    assert.equal(
      formatCallGraph(child!),
      [
        taskLine(child!),
        "  + Awaiting: sleep(500 ms), due in 350 ms",
        "  + Awaited by:",
        `    ${taskLine(parent)}`,
        "      + Awaiting: TaskGroup exit: waiting for 1 task",
      ].join("\n"),
    );
    await parent;
  });
});

Deno.test("captureCallGraph() follows shield: the inner task is awaited by the shield, the shield by the caller", async () => {
  await virtual(async () => {
    const save = createTask(() => sleep(500), { name: "save" });
    const caller = createTask(() => shield(save), { name: "caller" });
    await sleep(10);
    const graph = captureCallGraph(save)!;
    const outer = graph.awaitedBy[0].future;
    assert.equal(graph.awaitedBy[0].awaitedBy[0].future, caller);
    assert.equal(
      formatCallGraph(save).split("\n")[3],
      `    * Future(id=${hexId(outer)}) shield(<Task name='save' pending>)`,
    );
    // Cancelling the caller leaves the shielded task, no longer awaited.
    caller.cancel();
    await sleep(1);
    assert.deepEqual(captureCallGraph(save)!.awaitedBy, []);
    await save;
  });
});

Deno.test("captureCallGraph() follows waitFor: the caller awaits the task directly, under the deadline", async () => {
  await virtual(async () => {
    const slow = createTask(() => sleep(500), { name: "slow" });
    const caller = createTask(() => waitFor(slow, 1000), { name: "caller" });
    const inline = createTask(
      () => waitFor(() => sleep(700), 1000),
      { name: "inline" },
    );
    await sleep(100);
    assert.deepEqual(
      captureCallGraph(slow)!.awaitedBy.map((g) => g.future),
      [caller],
    );
    assert.equal(awaiting(caller), "Task 'slow'");
    // A function runs in the awaiting task itself.
    assert.equal(awaiting(inline), "sleep(700 ms), due in 600 ms");
    await gather(caller, inline);
  });
});

Deno.test("captureCallGraph() follows wait(): the futures are awaited by wait's future, with its condition and deadline", async () => {
  await virtual(async () => {
    const a = createTask(() => sleep(500), { name: "a" });
    const b = createTask(() => sleep(900), { name: "b" });
    const waiter = createTask(
      () => wait([a, b], { returnWhen: FIRST_COMPLETED, timeout: 2000 }),
      { name: "waiter" },
    );
    await sleep(100);
    const viaWait = captureCallGraph(b)!.awaitedBy[0];
    assert.equal(viaWait.awaitedBy[0].future, waiter);
    assert.equal(
      awaiting(waiter),
      "wait(2, FIRST_COMPLETED; 0 done), timeout in 1.9 s",
    );
    await waiter;
    // Once wait() returned, nothing awaits the future still pending.
    assert.deepEqual(captureCallGraph(b)!.awaitedBy, []);
    await b;
  });
});

Deno.test("captureCallGraph() follows asCompleted: the pending futures are awaited by the iterating task", async () => {
  await virtual(async () => {
    const tasks = [300, 100, 200].map((ms) =>
      createTask(() => sleep(ms), { name: `t${ms}` })
    );
    const seen: number[] = [];
    const consumer = createTask(async () => {
      for await (const _ of asCompleted(tasks)) {
        seen.push(getRunningLoop().time());
      }
    }, { name: "consumer" });
    await sleep(150);
    assert.equal(awaiting(consumer), "asCompleted: next of 2 running");
    const graph = captureCallGraph(tasks[0])!;
    assert.equal(graph.awaitedBy[0].awaitedBy[0].future, consumer);
    await consumer;
    assert.deepEqual(seen, [100, 200, 300]);
  });
});

Deno.test("formatCallGraph() says what a task waits for on each primitive", async () => {
  await virtual(async () => {
    const lock = new Lock();
    await lock.acquire();
    const event = new Event();
    const condition = new Condition();
    const semaphore = new BoundedSemaphore(1);
    await semaphore.acquire();
    const barrier = new Barrier(3);
    const queue = new Queue<number>(1);
    const full = new PriorityQueue<number>(1);
    full.putNowait(1);
    const reader = new StreamReader();
    const tasks = {
      lock: createTask(() => lock.acquire()),
      event: createTask(() => event.wait()),
      condition: createTask(() => condition.withLock(() => condition.wait())),
      semaphore: createTask(() => semaphore.acquire()),
      barrier: createTask(() => barrier.wait()),
      get: createTask(() => queue.get()),
      put: createTask(() => full.put(2)),
      join: createTask(() => full.join()),
      readLine: createTask(() => reader.readLine()),
      read: createTask(async () => {
        await sleep(1);
        return await new StreamReader().read(10);
      }),
      sleep: createTask(() => sleep(1500)),
      forever: createTask(() => sleep(Infinity)),
      future: createTask(() => new Future<void>()),
    };
    await sleep(10);
    const described = Object.fromEntries(
      Object.entries(tasks).map(([name, task]) => [name, awaiting(task)]),
    );
    assert.deepEqual(described, {
      lock: "Lock.acquire() on <Lock [locked, waiters:1]>",
      event: "Event.wait() on <Event [unset, waiters:1]>",
      condition: "Condition.wait() on <Condition [unlocked, waiters:1]>",
      semaphore:
        "BoundedSemaphore.acquire() on <BoundedSemaphore [locked, waiters:1]>",
      barrier: "Barrier.wait() on <Barrier [filling, waiters:1/3]>",
      join:
        "PriorityQueue.join() on <PriorityQueue maxsize=1 qsize=1 putters[1] tasks=1>",
      get: "Queue.get() on <Queue maxsize=1 getters[1]>",
      put:
        "PriorityQueue.put() on <PriorityQueue maxsize=1 qsize=1 putters[1] tasks=1>",
      readLine: "StreamReader.readLine()",
      read: "StreamReader.read()",
      sleep: "sleep(1500 ms), due in 1.5 s",
      forever: "sleep(Infinity), until cancelled",
      future: "<Future pending>",
    });
    for (const task of Object.values(tasks)) task.cancel();
    await gather(Object.values(tasks) as Task<unknown>[], {
      returnExceptions: true,
    });
  });
});

Deno.test("formatCallGraph() names a lock's holder while tasks are recorded (debug mode)", async () => {
  await virtual(async () => {
    const lock = new Lock();
    const holder = createTask(async () => {
      await lock.acquire();
      await sleep(1000);
      lock.release();
    }, { name: "holder" });
    await sleep(1);
    const waiter = createTask(() => lock.acquire(), { name: "waiter" });
    await sleep(1);
    assert.equal(
      awaiting(waiter),
      "Lock.acquire() on <Lock [locked, waiters:1]> held by 'holder'",
    );
    await holder;
    // Handed over on release: the waiter holds it now.
    const third = createTask(() => lock.acquire(), { name: "third" });
    await sleep(1);
    assert.match(awaiting(third), /held by 'waiter'/);
    third.cancel();
  }, true);
});

Deno.test("formatCallGraph() of the running task shows its live call stack, from the caller down", async () => {
  await virtual(async () => {
    async function inner(): Promise<string> {
      await sleep(1);
      return formatCallGraph();
    }
    async function outer(): Promise<string> {
      return await inner();
    }
    const reporter = createTask(outer, { name: "reporter" });
    const main = createTask(() => reporter, { name: "main" });
    const text = await main;
    const lines = text.split("\n");
    assert.equal(lines[0], `* Task(name='reporter', id=${hexId(reporter)})`);
    assert.equal(lines[1], "  + Call stack:");
    assert.match(
      lines[2],
      new RegExp(`^ {2}\\| {3}File '${THIS_FILE}', line \\d+, in inner\\(\\)$`),
    );
    assert.match(
      lines[3],
      /^ {2}\| {3}File '.*', line \d+, in async outer\(\)$/,
    );
    assert.equal(lines[4], "  + Awaited by:");
    assert.equal(lines[5], `    * Task(name='main', id=${hexId(main)})`);
    await main;
  });
});

Deno.test("captureCallGraph() depth skips frames from the top and limit keeps some of each stack", async () => {
  await virtual(async () => {
    function a() {
      return b();
    }
    function b() {
      return c();
    }
    function c() {
      return {
        all: captureCallGraph()!.callStack.map((f) => f.functionName),
        depth2: captureCallGraph(undefined, { depth: 2 })!.callStack.map((f) =>
          f.functionName
        ),
        outer2: captureCallGraph(undefined, { limit: 2 })!.callStack.map((f) =>
          f.functionName
        ),
        inner2: captureCallGraph(undefined, { limit: -2 })!.callStack.map((
          f,
        ) => f.functionName),
        none: captureCallGraph(undefined, { limit: 0 })!.callStack.length,
      };
    }
    const stacks = await createTask(async () => {
      await sleep(1);
      return a();
    });
    assert.deepEqual(stacks.all.slice(0, 3), ["c", "b", "a"]);
    assert.deepEqual(stacks.depth2.slice(0, 2), ["b", "a"]);
    assert.deepEqual(stacks.outer2, stacks.all.slice(-2));
    assert.deepEqual(stacks.inner2, ["c", "b"]);
    assert.equal(stacks.none, 0);
  });
});

Deno.test("captureCallGraph() in debug mode gives a suspended task the coroutine stack of its await", async () => {
  await virtual(async () => {
    async function leaf() {
      await sleep(500);
    }
    async function middle() {
      await leaf();
    }
    const worker = createTask(middle, { name: "worker" });
    await sleep(10);
    const stack = captureCallGraph(worker)!.callStack;
    assert.deepEqual(
      stack.map((f) => [f.functionName, f.isAsync, f.fileName]),
      [
        ["leaf", true, import.meta.url],
        ["middle", true, import.meta.url],
      ],
    );
    assert.ok(stack.every((f) => f.lineNumber > 0 && f.columnNumber > 0));
    const text = formatCallGraph(worker, { limit: 1 });
    assert.deepEqual(text.split("\n").slice(1), [
      "  + Awaiting: sleep(500 ms), due in 490 ms",
      "  + Call stack:",
      `  |   File '${THIS_FILE}', line ${
        stack[1].lineNumber
      }, in async middle()`,
    ]);
    await worker;
  }, true);
});

Deno.test("formatCallGraph() stops at an await cycle and says it is a deadlock", async () => {
  // A cycle never ends, and cancelling it cannot end it either (as in
  // asyncio): the loop is closed with the two tasks still pending.
  const loop = newEventLoop({ clock: new VirtualClock() });
  const later: { b?: Task<unknown> } = {};
  const a = loop.createTask(async () => {
    await sleep(1);
    await later.b;
  }, { name: "a" });
  const b = loop.createTask(() => gather(a), { name: "b" });
  later.b = b;
  await loop.runUntilComplete(() => sleep(10));
  const gathering = captureCallGraph(a)!.awaitedBy[0].future;
  assert.deepEqual(formatCallGraph(a).split("\n"), [
    taskLine(a),
    "  + Awaiting: Task 'b'",
    "  + Awaited by:",
    `    * Future(id=${hexId(gathering)}) gather of 1 (0 done)`,
    "      + Awaited by:",
    `        ${taskLine(b)}`,
    `          + Awaiting: gather of 1 (0 done)`,
    "          + Awaited by:",
    `            ${taskLine(a)}`,
    "              + Await cycle: this task awaits itself through the tasks above (a deadlock)",
  ]);
  loop.close();
});

Deno.test("captureCallGraph() of a future outside a running loop still works; without one it needs a future", async () => {
  const loop = newEventLoop({ clock: new VirtualClock() });
  const future = loop.createFuture<number>();
  const task = loop.createTask(() => future, { name: "waiter" });
  await loop.runUntilComplete(() => sleep(1));
  assert.deepEqual(
    captureCallGraph(future)!.awaitedBy.map((g) => g.future),
    [task],
  );
  assert.throws(() => captureCallGraph(), InvalidStateError);
  future.setResult(1);
  await loop.runUntilComplete(task);
  loop.close();
});

Deno.test("captureCallGraph() outside any task returns undefined; printCallGraph() prints the text", async () => {
  const loop = newEventLoop({ clock: new VirtualClock() });
  let graph: unknown = "unset";
  loop.callSoon(() => {
    graph = captureCallGraph();
    loop.stop();
  });
  await loop.runForever();
  assert.equal(graph, undefined);
  loop.close();

  const printed: string[] = [];
  const original = console.log;
  console.log = (text: string) => printed.push(text);
  try {
    await virtual(async () => {
      const task = createTask(() => sleep(10), { name: "sleeper" });
      await sleep(1);
      printCallGraph(task);
      assert.deepEqual(printed, [formatCallGraph(task)]);
      await task;
    });
  } finally {
    console.log = original;
  }
  assert.match(
    printed[0],
    /^\* Task\(name='sleeper', id=0x[0-9a-f]+\)\n {2}\+ Awaiting: sleep\(10 ms\), due in 9 ms$/,
  );
});

Deno.test("captureCallGraph() and friends refuse bad arguments, naming them", async () => {
  await virtual(async () => {
    for (const fn of [captureCallGraph, formatCallGraph, printCallGraph]) {
      await assertRefuses(fn.name, "future", (v) => fn(v), {
        TypeError: [null, "5", 5, {}, PROMISE],
      });
      await assertRefuses(
        fn.name,
        "depth",
        (v) => fn(undefined, { depth: v }),
        {
          TypeError: ["5", null, 5n],
          RangeError: [0, -1, 1.5, NaN],
        },
      );
      await assertRefuses(
        fn.name,
        "limit",
        (v) => fn(undefined, { limit: v }),
        {
          TypeError: ["5", 5n, {}],
          RangeError: [1.5, NaN, Infinity],
        },
      );
      await assertRefuses(fn.name, "options", (v) => fn(undefined, v), {
        TypeError: ["5", 5],
      });
    }
  });
});

Deno.test("captureCallGraph() inside a timeout scope follows the task's own awaits", async () => {
  await virtual(async () => {
    const task = createTask(() => timeout(1000, () => sleep(600)), {
      name: "scoped",
    });
    await sleep(100);
    assert.equal(awaiting(task), "sleep(600 ms), due in 500 ms");
    await task;
  });
});

Deno.test("formatCallGraph() names the peer a stream read or drain waits on", async () => {
  await virtualNet(async () => {
    const connected = Promise.withResolvers<void>();
    const server = await startServer(async (reader) => {
      connected.resolve();
      await reader.readLine();
    }, { hostname: HOST, port: 0 });
    const [reader, writer] = await openConnection({
      hostname: HOST,
      port: (server.addr as Deno.NetAddr).port,
    });
    await connected.promise;
    await sleep(1);
    const local = writer.getExtraInfo<Deno.NetAddr>("sockname")!;
    const handler = [...allTasks()].find((t) =>
      t.getName().startsWith("Client ")
    )!;
    assert.equal(
      awaiting(handler),
      `StreamReader.readLine() from ${HOST}:${local.port}`,
    );
    const client = createTask(() => reader.read(100), { name: "client" });
    await sleep(1);
    assert.equal(
      awaiting(client),
      `StreamReader.read() from ${HOST}:${(server.addr as Deno.NetAddr).port}`,
    );
    client.cancel();
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });
});

Deno.test("formatCallGraph() names the process Process.wait() waits for", async () => {
  await virtual(async () => {
    const proc = await createSubprocessExec("sh", ["-c", "cat >/dev/null"], {
      stdin: PIPE,
    });
    const waiter = createTask(() => proc.wait(), { name: "waiter" });
    await sleep(1);
    assert.equal(awaiting(waiter), `Process.wait() pid ${proc.pid}`);
    proc.stdin.close();
    assert.equal(await waiter, 0);
  });
});

Deno.test("formatCallGraph() says how much a StreamWriter.drain() waits to hand over, and to whom", async () => {
  await virtual(async () => {
    const never = new Promise<number>(() => {});
    const writer = new StreamWriter({ write: () => never }, {
      highWaterMark: 4,
      extraInfo: { peername: { hostname: "::1", port: 8080 } },
    });
    writer.write("0123456789");
    const drainer = createTask(() => writer.drain(), { name: "drainer" });
    await sleep(1);
    assert.equal(
      awaiting(drainer),
      "StreamWriter.drain() to [::1]:8080, 10 bytes buffered",
    );
    drainer.cancel();
    await drainer.then(() => {}, () => {});
    writer.abort();
  });
});
