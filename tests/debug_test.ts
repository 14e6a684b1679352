/**
 * Debug mode explains itself (asyncio's debug mode, with JavaScript's
 * means): where a future that failed unseen was created, a task collected
 * while still pending, slow task steps named with the task and its await,
 * a cancellation that cannot reach the task's await, and the
 * `AIO_ASYNCIO_DEBUG` environment variable.
 */
import assert from "node:assert/strict";
import {
  createTask,
  currentTask,
  type EventLoop,
  type ExceptionContext,
  Future,
  newEventLoop,
  Queue,
  run,
  sleep,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { recording, tracing } from "../src/_introspect.ts";

const HERE = new URL(import.meta.url).pathname;

/** The caller's line number in this file. */
function lineHere(): number {
  const caller = new Error().stack!.split("\n")[2];
  return Number(caller.match(/:(\d+):\d+\)?$/)![1]);
}

/** Collects what `console.warn` prints while `fn` runs. */
async function captureWarnings(fn: () => Promise<void>): Promise<string[]> {
  const warned: string[] = [];
  const original = console.warn;
  console.warn = (text: string) => warned.push(text);
  try {
    await fn();
  } finally {
    console.warn = original;
  }
  return warned;
}

/** Lets finalizers run: collect, then a few macrotasks. */
async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --v8-flags=--expose-gc");
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

Deno.test("EventLoop debug mode: an exception never retrieved is reported with where the future was created", async () => {
  const loop: EventLoop = newEventLoop({
    clock: new VirtualClock(),
    debug: true,
  });
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((_, context) => contexts.push(context));
  let line = 0;
  await loop.runUntilComplete(async () => {
    line = lineHere();
    const future = new Future<void>(); // created on the line after
    future.setException(new Error("lost"));
  });
  loop.close();
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0].message, "Future exception was never retrieved");
  const site = contexts[0].sourceTraceback as string;
  assert.match(
    site.split("\n")[0],
    new RegExp(`^ {4}at .*${HERE}:${line + 1}:\\d+`),
  );

  // The default handler prints it as asyncio prints source_traceback.
  const printed: string[] = [];
  const original = console.error;
  console.error = (text: string) => printed.push(text);
  try {
    loop.defaultExceptionHandler(contexts[0]);
  } finally {
    console.error = original;
  }
  assert.match(
    printed[0],
    /^Future exception was never retrieved\nObject created at \(most recent call first\):\n {4}at /,
  );
  assert.match(printed[0], /Error: lost/);
});

Deno.test("EventLoop debug mode off: no creation site, and nothing recorded", async () => {
  const loop = newEventLoop({ clock: new VirtualClock() });
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((_, context) => contexts.push(context));
  await loop.runUntilComplete(async () => {
    assert.ok(!tracing && !recording);
    new Future<void>().setException(new Error("lost"));
  });
  loop.close();
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0].sourceTraceback, undefined);
});

Deno.test("EventLoop debug mode: a task collected while pending is reported as destroyed, with where it was made", async () => {
  const loop = newEventLoop({ clock: new VirtualClock(), debug: true });
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((_, context) => contexts.push(context));
  await loop.runUntilComplete(async () => {
    // Awaits a future nothing else holds: it can never go on.
    createTask(() => new Future<void>(), { name: "stuck" });
    createTask(() => sleep(1), { name: "finishes" });
    await sleep(10);
  });
  loop.close(); // drops the pending task, as asyncio's loop would lose it
  await collectGarbage();
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0].message, "Task was destroyed but it is pending!");
  assert.equal(contexts[0].task, "<Task name='stuck' pending>");
  assert.match(contexts[0].sourceTraceback as string, new RegExp(HERE));
});

Deno.test("EventLoop debug mode: a slow task step is named with its task and what it awaits next", async () => {
  const loop = newEventLoop({ debug: true });
  loop.slowCallbackDuration = 50;
  const originalNow = performance.now;
  let skew = 0;
  performance.now = () => originalNow.call(performance) + skew;
  let warned: string[] = [];
  try {
    warned = await captureWarnings(() =>
      loop.runUntilComplete(async () => {
        const queue = new Queue<number>();
        const task = createTask(async () => {
          await sleep(0);
          skew += 120; // a step that blocks for 120 ms
          await queue.get();
        }, { name: "busy" });
        await sleep(1);
        task.cancel();
        await task.then(() => {}, () => {});
      })
    );
  } finally {
    performance.now = originalNow;
    loop.close();
  }
  assert.equal(warned.length, 1);
  assert.match(
    warned[0],
    new RegExp(
      "^Executing a step of <Task name='busy' pending> took 12\\d\\.\\d ms; " +
        "it now awaits Queue\\.get\\(\\) on <Queue maxsize=0 getters\\[1\\]> " +
        `\\(at ${HERE}:\\d+\\)$`,
    ),
  );
});

Deno.test("EventLoop debug mode: a cancel that cannot reach the task's await is explained", async () => {
  const warned = await captureWarnings(() =>
    run(async () => {
      let release: () => void = () => {};
      const plain = new Promise<void>((resolve) => release = resolve);
      const task = createTask(() => plain, { name: "on-a-promise" });
      const viaSignal = createTask(async () => {
        const signal = currentTask()!.signal; // handed out: the promise uses it
        await new Promise((resolve) =>
          signal.addEventListener("abort", resolve)
        );
      }, { name: "signal-user" });
      const onLoop = createTask(() => sleep(100), { name: "on-the-loop" });
      await sleep(1);
      task.cancel();
      viaSignal.cancel();
      onLoop.cancel();
      release();
      await Promise.allSettled([task, viaSignal, onLoop]);
    }, { clock: new VirtualClock(), debug: true })
  );
  assert.equal(warned.length, 1);
  assert.match(
    warned[0],
    /^<Task name='on-a-promise' pending> was cancelled while it awaits no loop awaitable: it awaits a plain promise/,
  );
});

Deno.test("EventLoop debug mode: setDebug turns tracing on and off; closing the loop ends its request", async () => {
  const loop = newEventLoop({ clock: new VirtualClock() });
  assert.ok(!tracing);
  loop.setDebug(true);
  assert.ok(tracing && recording);
  loop.setDebug(true);
  loop.setDebug(false);
  assert.ok(!tracing && !recording);
  loop.setDebug(true);
  loop.close();
  assert.ok(!tracing);
  assert.ok(loop.getDebug());
});

/** Runs a program reporting `getDebug()` under `flags` and `env`. */
async function debugOf(
  flags: string[],
  env: Record<string, string>,
): Promise<string> {
  const fixture = new URL("./fixtures/debug_env.ts", import.meta.url).pathname;
  const output = await new Deno.Command("deno", {
    args: ["run", "--quiet", ...flags, fixture],
    env,
    stdin: "null",
  }).output();
  assert.equal(new TextDecoder().decode(output.stderr), "");
  return new TextDecoder().decode(output.stdout).trim();
}

Deno.test("AIO_ASYNCIO_DEBUG turns debug mode on, if the program may read it; without the permission it is ignored, with no prompt", async () => {
  const allow = ["--allow-env=AIO_ASYNCIO_DEBUG"];
  assert.equal(await debugOf(allow, { AIO_ASYNCIO_DEBUG: "1" }), "true");
  assert.equal(await debugOf(allow, { AIO_ASYNCIO_DEBUG: "0" }), "false");
  assert.equal(await debugOf(allow, { AIO_ASYNCIO_DEBUG: "" }), "false");
  assert.equal(await debugOf([], { AIO_ASYNCIO_DEBUG: "1" }), "false");
});
