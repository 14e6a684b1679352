import assert from "node:assert/strict";
import {
  type AbstractEventLoop,
  createTask,
  EventLoop,
  type ExceptionContext,
  getEventLoop,
  getRunningLoop,
  InvalidStateError,
  newEventLoop,
  run,
  setEventLoop,
  sleep,
  Task,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { assertRefuses, NOT_FUNCTIONS, PROMISE } from "./_bad_args.ts";

function virtualLoop(): EventLoop {
  return newEventLoop({ clock: new VirtualClock() });
}

Deno.test("EventLoop.callSoon() runs callbacks FIFO with their arguments", async () => {
  const loop = virtualLoop();
  const calls: unknown[] = [];
  loop.callSoon((a: number, b: string) => calls.push([a, b]), 1, "x");
  loop.callSoon(() => calls.push("second"));
  loop.callSoon(() => {
    calls.push("third");
    loop.callSoon(() => calls.push("scheduled by third"));
  });
  loop.callSoon(() => calls.push("fourth"));
  loop.callSoon(() => loop.callSoon(() => loop.stop()));
  await loop.runForever();
  loop.close();
  assert.deepEqual(calls, [
    [1, "x"],
    "second",
    "third",
    "fourth",
    "scheduled by third",
  ]);
});

Deno.test("EventLoop.callLater() orders by deadline, ties FIFO", async () => {
  const loop = virtualLoop();
  const calls: string[] = [];
  loop.callLater(20, () => calls.push("20a"));
  loop.callLater(10, () => calls.push("10a"));
  loop.callLater(20, () => calls.push("20b"));
  loop.callLater(10, () => calls.push("10b"));
  loop.callAt(loop.time() + 20, () => calls.push("20c"));
  loop.callLater(0, () => calls.push("0"));
  loop.callLater(-5, () => calls.push("-5"));
  loop.callLater(30, () => loop.stop());
  await loop.runForever();
  // A negative delay is a deadline in the past: it sorts first, as in asyncio.
  assert.deepEqual(calls, ["-5", "0", "10a", "10b", "20a", "20b", "20c"]);
  assert.equal(loop.time(), 30);
  loop.close();
});

Deno.test("EventLoop callbacks run after the ones already ready, timers after the ready queue", async () => {
  const loop = virtualLoop();
  const calls: string[] = [];
  loop.callLater(0, () => calls.push("timer 0"));
  loop.callSoon(() => calls.push("soon"));
  loop.callLater(1, () => {
    calls.push("timer 1");
    loop.stop();
  });
  await loop.runForever();
  loop.close();
  assert.deepEqual(calls, ["soon", "timer 0", "timer 1"]);
});

Deno.test("Handle.cancel() and TimerHandle.cancel() keep callbacks from running", async () => {
  const loop = virtualLoop();
  const calls: string[] = [];
  const soon = loop.callSoon(() => calls.push("soon"));
  const later = loop.callLater(5, () => calls.push("later"));
  assert.equal(later.when(), loop.time() + 5);
  soon.cancel();
  later.cancel();
  assert.ok(soon.cancelled());
  assert.ok(later.cancelled());
  loop.callLater(10, () => loop.stop());
  await loop.runForever();
  loop.close();
  assert.deepEqual(calls, []);
});

Deno.test("EventLoop drops many cancelled timers without running them", async () => {
  const loop = virtualLoop();
  let ran = 0;
  const timers = Array.from(
    { length: 1000 },
    (_, i) => loop.callLater(i + 1, () => ran++),
  );
  for (const timer of timers.slice(0, 900)) timer.cancel();
  loop.callLater(2000, () => loop.stop());
  await loop.runForever();
  loop.close();
  assert.equal(ran, 100);
});

Deno.test("EventLoop.runUntilComplete() accepts a promise, a Future, a Task and a function", async () => {
  const loop = virtualLoop();
  assert.equal(await loop.runUntilComplete(Promise.resolve(1)), 1);
  const future = loop.createFuture<number>();
  loop.callLater(5, () => future.setResult(2));
  assert.equal(await loop.runUntilComplete(future), 2);
  assert.equal(await loop.runUntilComplete(async () => 3), 3);
  const task = loop.createTask(() => sleep(5, 4));
  assert.ok(task instanceof Task);
  assert.equal(await loop.runUntilComplete(task), 4);
  await assert.rejects(
    loop.runUntilComplete(async () => {
      throw new SyntaxError("bad");
    }),
    SyntaxError,
  );
  loop.close();
});

Deno.test("EventLoop.runUntilComplete() rejects a future of another loop with a TypeError that shows the fix", async () => {
  const loop = virtualLoop();
  const other = virtualLoop();
  const foreign = other.createFuture<void>();
  await assert.rejects(
    loop.runUntilComplete(foreign),
    (e: unknown) =>
      e instanceof TypeError && e.message.includes("pass a function"),
  );
  loop.close();
  other.close();
});

Deno.test("EventLoop.runUntilComplete() throws if the loop stops first", async () => {
  const loop = virtualLoop();
  const future = loop.createFuture<void>();
  loop.callSoon(() => loop.stop());
  await assert.rejects(loop.runUntilComplete(future), InvalidStateError);
  future.cancel();
  loop.close();
});

Deno.test("EventLoop refuses to run twice at once, to run or schedule once closed, and to close while running", async () => {
  const loop = virtualLoop();
  const running = loop.runUntilComplete(async () => {
    await assert.rejects(loop.runForever(), InvalidStateError);
    assert.throws(() => loop.close(), InvalidStateError);
    assert.ok(loop.isRunning());
  });
  await running;
  assert.ok(!loop.isRunning());
  loop.close();
  loop.close(); // closing twice is harmless
  assert.ok(loop.isClosed());
  assert.throws(() => loop.callSoon(() => {}), InvalidStateError);
  assert.throws(() => loop.callLater(1, () => {}), InvalidStateError);
  assert.throws(() => loop.createTask(async () => {}), InvalidStateError);
  await assert.rejects(loop.runForever(), /event loop is closed/);
  await assert.rejects(
    loop.runUntilComplete(Promise.resolve()),
    InvalidStateError,
  );
});

Deno.test("EventLoop rejects bad arguments with TypeError and RangeError", () => {
  const loop = virtualLoop();
  assert.throws(() => loop.callSoon("nope" as never), TypeError);
  assert.throws(() => loop.callLater("5" as never, () => {}), TypeError);
  assert.throws(() => loop.callLater(NaN, () => {}), RangeError);
  assert.throws(() => loop.callAt(NaN, () => {}), RangeError);
  assert.throws(() => loop.setExceptionHandler(5 as never), TypeError);
  assert.throws(() => loop.setTaskFactory("x" as never), TypeError);
  loop.close();
});

Deno.test("EventLoop reports a throwing callback to the exception handler and keeps going", async () => {
  const loop = virtualLoop();
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((l, context) => {
    assert.equal(l, loop);
    contexts.push(context);
  });
  assert.equal(typeof loop.getExceptionHandler(), "function");
  const calls: string[] = [];
  loop.callSoon(() => {
    throw new Error("boom");
  });
  loop.callSoon(() => calls.push("still running"));
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  loop.close();
  assert.deepEqual(calls, ["still running"]);
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0].message, "Exception in callback");
  assert.equal((contexts[0].exception as Error).message, "boom");
});

Deno.test("EventLoop.defaultExceptionHandler() prints the message and the stack to stderr", () => {
  const loop = virtualLoop();
  const printed: string[] = [];
  const original = console.error;
  console.error = (text: string) => printed.push(text);
  try {
    loop.callExceptionHandler({
      message: "Something failed",
      exception: new Error("why"),
    });
    loop.setExceptionHandler(() => {
      throw new Error("handler broke");
    });
    loop.callExceptionHandler({ message: "Second" });
  } finally {
    console.error = original;
    loop.close();
  }
  assert.match(printed[0], /^Something failed\nError: why\n\s+at /);
  assert.match(printed[1], /^Unhandled error in exception handler/);
  assert.match(printed[1], /handler broke/);
});

Deno.test("EventLoop reports a task exception nobody retrieved when the loop closes", async () => {
  const loop = virtualLoop();
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((_, context) => contexts.push(context));
  await loop.runUntilComplete(async () => {
    createTask(async () => {
      throw new Error("lost");
    }, { name: "forgotten" });
    const retrieved = createTask(async () => {
      throw new Error("seen");
    });
    await sleep(1);
    assert.ok(retrieved.exception() instanceof Error);
  });
  assert.equal(contexts.length, 0);
  loop.close();
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0].message, "Task exception was never retrieved");
  assert.equal((contexts[0].exception as Error).message, "lost");
  assert.match(String(contexts[0].future), /forgotten/);
});

Deno.test("EventLoop reports a Future exception nobody retrieved when the future is collected", async () => {
  const loop = virtualLoop();
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((_, context) => contexts.push(context));
  (() => {
    loop.createFuture().setException(new Error("garbage"));
  })();
  // Scheduled callbacks hold no reference once the loop has run them.
  await loop.runUntilComplete(() => sleep(1));
  // deno-lint-ignore no-explicit-any
  const gc = (globalThis as any).gc as (() => void) | undefined;
  assert.ok(
    gc,
    "run the tests with --v8-flags=--expose-gc (deno task test does)",
  );
  for (let i = 0; i < 20 && contexts.length === 0; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.equal(contexts.length, 1, "reported when collected, before close()");
  loop.close();
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0].message, "Future exception was never retrieved");
});

Deno.test("EventLoop debug mode is off by default and can be toggled", () => {
  const loop = newEventLoop({ debug: true });
  assert.equal(loop.getDebug(), true);
  loop.setDebug(false);
  assert.equal(loop.getDebug(), false);
  loop.close();
});

Deno.test("EventLoop.setTaskFactory() makes createTask use the factory", async () => {
  const loop = virtualLoop();
  const made: string[] = [];
  loop.setTaskFactory((l, fn, options) => {
    made.push(options.name ?? "unnamed");
    return new Task(fn, { ...options, loop: l });
  });
  assert.equal(typeof loop.getTaskFactory(), "function");
  await loop.runUntilComplete(async () => {
    await createTask(() => sleep(1), { name: "child" });
  });
  loop.setTaskFactory(undefined);
  assert.equal(loop.getTaskFactory(), undefined);
  assert.deepEqual(made, ["unnamed", "child"]);
  loop.close();
});

Deno.test("getRunningLoop() finds the loop inside tasks and callbacks, and throws outside", async () => {
  assert.throws(() => getRunningLoop(), InvalidStateError);
  const loop = virtualLoop();
  let inCallback: AbstractEventLoop | undefined;
  loop.callSoon(() => (inCallback = getRunningLoop()));
  const inTask = await loop.runUntilComplete(async () => {
    await sleep(1);
    return getRunningLoop();
  });
  assert.equal(inTask, loop);
  assert.equal(inCallback, loop);
  loop.close();
});

Deno.test("getEventLoop() returns the set loop, creates one when none, and close() clears it", () => {
  const created = getEventLoop();
  assert.equal(getEventLoop(), created);
  created.close();
  const fresh = getEventLoop();
  assert.notEqual(fresh, created);
  const mine = newEventLoop();
  setEventLoop(mine);
  assert.equal(getEventLoop(), mine);
  mine.close();
  fresh.close();
});

Deno.test("getEventLoop() after setEventLoop(undefined) throws, as asyncio 3.13; after run() it makes a loop", async () => {
  await run(async () => {});
  const made = getEventLoop(); // a deliberate difference: asyncio raises
  assert.equal(made.isClosed(), false);
  made.close();
  setEventLoop(undefined);
  assert.throws(
    () => getEventLoop(),
    (error) =>
      error instanceof InvalidStateError &&
      /^There is no current event loop: setEventLoop\(undefined\) cleared it/
        .test(error.message),
  );
  // Setting a loop again makes getEventLoop() work, even once it closed.
  const mine = newEventLoop();
  setEventLoop(mine);
  mine.close();
  const again = getEventLoop();
  assert.notEqual(again, mine);
  again.close();
});

Deno.test("EventLoop yields to the host while busy, so host timers and I/O still run", async () => {
  const loop = newEventLoop();
  let hostTicks = 0;
  const interval = setInterval(() => hostTicks++, 1);
  try {
    await loop.runUntilComplete(async () => {
      const until = performance.now() + 30;
      while (performance.now() < until) await sleep(0);
    });
  } finally {
    clearInterval(interval);
    loop.close();
  }
  assert.ok(hostTicks >= 3, `host timers ran ${hostTicks} times`);
});

Deno.test("EventLoop on the real clock sleeps without spinning", async () => {
  const loop = newEventLoop();
  const start = loop.time();
  await loop.runUntilComplete(() => sleep(15));
  const elapsed = loop.time() - start;
  loop.close();
  assert.ok(elapsed >= 15 && elapsed < 200, `slept ${elapsed} ms`);
});

// CPython runs Task.__step inline: a woken or new task's whole step runs
// before the next ready callback, even through nested async functions.
Deno.test("EventLoop runs a woken task's whole step before the next ready callback, through an async helper", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const order: string[] = [];
    const future = loop.createFuture<void>();
    const helper = async () => {
      await future;
    };
    createTask(async () => {
      await helper();
      order.push("task step");
    });
    await waitAllTasksBlocked();
    future.setResult(); // schedules the task's wake-up...
    loop.callSoon(() => order.push("next callback")); // ...then this
    await sleep(1);
    assert.deepEqual(order, ["task step", "next callback"]);
  }, { clock: new VirtualClock() });
});

Deno.test("EventLoop gives the same order on a VirtualClock however long callbacks take in real time", async () => {
  // The same program twice; only the real time one callback burns differs.
  async function scenario(busyMs: number): Promise<string[]> {
    const order: string[] = [];
    await run(async () => {
      const loop = getRunningLoop();
      const future = loop.createFuture<void>();
      const helper = async () => {
        await future;
      };
      createTask(async () => {
        await helper();
        order.push("task step");
      });
      await waitAllTasksBlocked();
      loop.callSoon(() => {
        const end = performance.now() + busyMs;
        while (performance.now() < end) { /* real work */ }
      });
      // Enough handles that the driver's time-slice check falls between
      // the task's wake-up and the next callback.
      for (let i = 0; i < 59; i++) loop.callSoon(() => {});
      future.setResult();
      loop.callSoon(() => order.push("next callback"));
      await sleep(1);
    }, { clock: new VirtualClock() });
    return order;
  }
  assert.deepEqual(await scenario(0), await scenario(3));
});

Deno.test("EventLoop runs a new task's whole first step before the next ready callback", async () => {
  // Expected (CPython 3.13): ["task first step", "next callback"]
  await run(async () => {
    const loop = getRunningLoop();
    const order: string[] = [];
    const helper = async () => {
      await null; // any microtask hop, e.g. an async generator's
    };
    createTask(async () => {
      await helper();
      order.push("task first step");
    });
    loop.callSoon(() => order.push("next callback"));
    await sleep(1);
    assert.deepEqual(order, ["task first step", "next callback"]);
  }, { clock: new VirtualClock() });
});

Deno.test("EventLoop on the real clock idles under far timers: few host timers, none past 2³¹−1 ms, no TimeoutOverflowWarning", async () => {
  const fixture = new URL("./fixtures/far_timer.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["run", "--quiet", fixture.pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const errors = new TextDecoder().decode(stderr);
  assert.equal(code, 0, errors);
  assert.doesNotMatch(errors, /TimeoutOverflowWarning/);
  const { delays } = JSON.parse(new TextDecoder().decode(stdout)) as {
    delays: number[];
  };
  // One host timer for the earliest far deadline; a clamped one would be
  // re-armed every millisecond of the 50.
  assert.ok(delays.length <= 2, `armed ${delays.length} host timers`);
  assert.ok(delays.every((delay) => delay <= 2 ** 31 - 1), `${delays}`);
});

Deno.test("EventLoop on a VirtualClock never jumps to a timer at Infinity", async () => {
  const clock = new VirtualClock();
  const loop = newEventLoop({ clock });
  const calls: string[] = [];
  loop.callLater(Infinity, () => calls.push("never"));
  await loop.runUntilComplete(async () => {
    await sleep(100);
    // The loop idles with only the infinite timer: it must not jump.
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  });
  loop.close();
  assert.equal(clock.now(), 100);
  assert.deepEqual(calls, []);
});

Deno.test("EventLoop refuses bad arguments at the call, naming them", async () => {
  const loop = virtualLoop();
  const noop = () => {};
  await assertRefuses("newEventLoop()", "options", (v) => newEventLoop(v), {
    TypeError: [null, "5", true, Symbol("s"), 5n, 5, PROMISE],
  });
  await assertRefuses(
    "newEventLoop({ clock })",
    "clock",
    (v) => newEventLoop({ clock: v }),
    {
      TypeError: [null, "abc", true, Symbol("s"), 5n, 5, {}, PROMISE, {
        now: 5,
      }, { now: () => 0, jumpTo: "x" }],
    },
  );
  await assertRefuses(
    "newEventLoop({ clock })",
    "clock.autojumpThreshold",
    (v) => newEventLoop({ clock: { now: () => 0, autojumpThreshold: v } }),
    { TypeError: ["5", Symbol("s")], RangeError: [-1, NaN] },
  );
  await assertRefuses(
    "newEventLoop({ debug })",
    "debug",
    (v) => newEventLoop({ debug: v }),
    { TypeError: [null, "5", 1, Symbol("s"), {}] },
  );
  for (const method of ["callSoon", "callLater", "callAt"] as const) {
    await assertRefuses(
      `loop.${method}()`,
      "callback",
      (v) => method === "callSoon" ? loop.callSoon(v) : loop[method](10, v),
      { TypeError: NOT_FUNCTIONS },
    );
  }
  await assertRefuses(
    "loop.callLater()",
    "delay",
    (v) => loop.callLater(v, noop),
    {
      TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}, PROMISE],
      RangeError: [NaN],
    },
  );
  await assertRefuses("loop.callAt()", "when", (v) => loop.callAt(v, noop), {
    TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}, PROMISE],
    RangeError: [NaN],
  });
  await assertRefuses(
    "loop.setTaskFactory()",
    "factory",
    (v) => loop.setTaskFactory(v),
    {
      TypeError: [null, "5", true, Symbol("s"), 5n, {}, PROMISE],
    },
  );
  await assertRefuses(
    "loop.setExceptionHandler()",
    "handler",
    (v) => loop.setExceptionHandler(v),
    { TypeError: [null, "5", true, Symbol("s"), 5n, {}, PROMISE] },
  );
  await assertRefuses("loop.setDebug()", "enabled", (v) => loop.setDebug(v), {
    TypeError: [undefined, null, "5", 1, Symbol("s"), {}],
  });
  await assertRefuses(
    "loop.createTask()",
    "options",
    (v) => loop.createTask(async () => {}, v),
    { TypeError: [null, "5", true, Symbol("s"), 5n, 5, PROMISE] },
  );
  for (
    const method of ["callExceptionHandler", "defaultExceptionHandler"] as const
  ) {
    await assertRefuses(`loop.${method}()`, "context", (v) => loop[method](v), {
      TypeError: [undefined, null, "5", Symbol("s"), 5n],
    });
    await assertRefuses(
      `loop.${method}()`,
      "context.message",
      (v) => loop[method]({ message: v }),
      { TypeError: [null, 5, Symbol("s"), {}] },
    );
  }
  // The loop still works after every refusal, with nothing scheduled.
  const calls: string[] = [];
  loop.callSoon(() => calls.push("soon"));
  loop.callLater(5, () => calls.push("later"));
  loop.callAt(loop.time() + 10, () => {
    calls.push("at");
    loop.stop();
  });
  await loop.runForever();
  assert.deepEqual(calls, ["soon", "later", "at"]);
  assert.equal(loop.getDebug(), false);
  assert.equal(loop.getExceptionHandler(), undefined);
  assert.equal(loop.getTaskFactory(), undefined);
  loop.close();
});

Deno.test("EventLoop.createTask() refuses a task factory's result that is not a Task, naming the factory", async () => {
  const loop = virtualLoop();
  await loop.runUntilComplete(async () => {
    loop.setTaskFactory(function badFactory() {
      return "not a task" as never;
    });
    assert.throws(() => loop.createTask(async () => {}), {
      name: "TypeError",
      message:
        "Cannot create task: expected the task factory badFactory to return a Task, got a string",
    });
    assert.throws(() => createTask(async () => {}), /badFactory/);
    loop.setTaskFactory((l, fn, options) =>
      new Task(fn, { ...options, loop: l })
    );
    assert.equal(await loop.createTask(async () => 7), 7);
  });
  loop.close();
});

Deno.test("Handle and TimerHandle describe their callback by name, as asyncio's repr", () => {
  const loop = virtualLoop();
  function retry(_what: string, _times: number) {}
  assert.equal(
    String(loop.callSoon(retry, "db", 3)),
    '<Handle retry("db", 3)>',
  );
  const timer = loop.callAt(1500, retry, "x".repeat(50), 3);
  assert.equal(
    String(timer),
    `<TimerHandle when=1500 retry("${"x".repeat(37)}...", 3)>`,
  );
  timer.cancel();
  assert.equal(String(timer), "<TimerHandle cancelled when=1500>");
  const task = loop.createTask(async () => {}, { name: "worker" });
  assert.equal(
    String(loop.callSoon((_t: unknown) => {}, task)),
    "<Handle <anonymous function>(<Task name='worker' pending>)>",
  );
  loop.close();
});

Deno.test("EventLoop's default exception handler prints the failing callback's Handle, not [object Object]", async () => {
  const loop = virtualLoop();
  const printed: string[] = [];
  const original = console.error;
  console.error = (text: string) => printed.push(text);
  try {
    loop.callSoon(function explode(_n: number) {
      throw new Error("boom");
    }, 42);
    loop.callSoon(() => loop.stop());
    await loop.runForever();
  } finally {
    console.error = original;
    loop.close();
  }
  assert.equal(printed.length, 1);
  assert.match(
    printed[0],
    /^Exception in callback\nhandle: <Handle explode\(42\)>\nError: boom\n/,
  );
});

/**
 * Runs one callback per entry on `loop`, each named after its key and
 * taking its value in milliseconds as the loop measures it (the clock is
 * moved, nothing waits), and returns the slow-callback warnings.
 */
async function slowWarnings(
  loop: EventLoop,
  costs: Record<string, number>,
): Promise<string[]> {
  const warned: string[] = [];
  const originalWarn = console.warn;
  console.warn = (text: string) => warned.push(text);
  const originalNow = performance.now;
  let skew = 0;
  performance.now = () => originalNow.call(performance) + skew;
  try {
    for (const [name, ms] of Object.entries(costs)) {
      // An object literal's method takes its key as its name.
      loop.callSoon({ [name]: () => void (skew += ms) }[name]);
    }
    loop.callSoon(() => loop.stop());
    await loop.runForever();
  } finally {
    performance.now = originalNow;
    console.warn = originalWarn;
  }
  return warned;
}

Deno.test("EventLoop debug mode names the slow callback it warns about", async () => {
  const loop = newEventLoop({ debug: true });
  const warned = await slowWarnings(loop, { busy: 150 });
  loop.close();
  assert.equal(warned.length, 1);
  assert.match(warned[0], /^Executing <Handle busy\(\)> took 15\d\.\d ms$/);
});

Deno.test("EventLoop.slowCallbackDuration sets the debug-mode threshold", async () => {
  const loop = newEventLoop({ debug: true });
  assert.equal(loop.slowCallbackDuration, 100);
  loop.slowCallbackDuration = 20;
  await assertRefuses(
    "slowCallbackDuration",
    "ms",
    (v) => (loop.slowCallbackDuration = v),
    { TypeError: ["5", Symbol("s"), 5n, null], RangeError: [-1, NaN] },
  );
  const warned = await slowWarnings(loop, { quick: 10, slow: 30 });
  loop.close();
  assert.equal(warned.length, 1);
  assert.match(warned[0], /^Executing <Handle slow\(\)> took 3\d\.\d ms$/);
});

Deno.test("EventLoop: a defaultExceptionHandler override that throws does not take the loop down", async () => {
  class Strict extends EventLoop {
    override defaultExceptionHandler(_context: ExceptionContext): void {
      throw new Error("handler broke");
    }
  }
  const loop = new Strict({ clock: new VirtualClock() });
  const printed: string[] = [];
  const originalError = console.error;
  console.error = (text: string) => printed.push(text);
  const ran: string[] = [];
  try {
    loop.callSoon(() => {
      throw new Error("callback failed");
    });
    loop.callSoon(() => ran.push("next callback"));
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    loop.setExceptionHandler(() => {
      throw new Error("custom broke too");
    });
    loop.callSoon(() => {
      throw new Error("again");
    });
    loop.callSoon(() => loop.stop());
    await loop.runForever();
  } finally {
    console.error = originalError;
    loop.close();
  }
  assert.deepEqual(ran, ["next callback"]);
  assert.equal(printed.length, 2);
  assert.match(
    printed[0],
    /^Exception in default exception handler\nError: handler broke/,
  );
  assert.match(
    printed[1],
    /^Exception in default exception handler while handling an unexpected error in custom exception handler\nError: handler broke/,
  );
});

Deno.test("EventLoop.callSoon(), callLater(), callAt() and addSignalHandler() refuse async functions", () => {
  const loop = virtualLoop();
  const coroutine = async () => {};
  const calls: [string, () => unknown][] = [
    ["callSoon", () => loop.callSoon(coroutine)],
    ["callLater", () => loop.callLater(1, coroutine)],
    ["callAt", () => loop.callAt(1, coroutine)],
    ["addSignalHandler", () => loop.addSignalHandler("SIGUSR2", coroutine)],
  ];
  for (const [method, call] of calls) {
    assert.throws(call, (error) =>
      error instanceof TypeError &&
      new RegExp(
        `^Cannot call ${method}: expected callback as a plain function, got an async function`,
      ).test(error.message));
  }
  loop.close();
});

Deno.test("EventLoop.createTask() sets the name on the task a factory returns, as asyncio 3.13", async () => {
  const loop = virtualLoop();
  loop.setTaskFactory((l, fn) => new Task(fn, { loop: l })); // drops the name
  await loop.runUntilComplete(async () => {
    const task = createTask(() => sleep(1), { name: "named" });
    assert.equal(task.getName(), "named");
    await task;
  });
  loop.close();
});

Deno.test("EventLoop.removeSignalHandler() refuses what is no signal name", () => {
  const loop = virtualLoop();
  assert.equal(loop.removeSignalHandler("SIGUSR1"), false);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => loop.removeSignalHandler("boom" as any),
    /^TypeError: Cannot remove signal handler: expected signal as a name such as "SIGTERM", got "boom"$/,
  );
  loop.close();
});

Deno.test("EventLoop.runInExecutor() on a closed loop throws, starting no worker", () => {
  const loop = virtualLoop();
  loop.close();
  assert.throws(
    () => loop.runInExecutor(undefined, "data:,", "f"),
    /Cannot call runInExecutor: event loop is closed/,
  );
});

Deno.test("EventLoop: a second loop cannot run while another runs, as asyncio", async () => {
  const first = virtualLoop();
  const second = virtualLoop();
  await first.runUntilComplete(async () => {
    await assert.rejects(second.runForever(), /another event loop is running/);
    await assert.rejects(
      second.runUntilComplete(() => sleep(1)),
      /another event loop is running/,
    );
  });
  await second.runUntilComplete(() => sleep(1)); // once the first stopped
  first.close();
  second.close();
});
