import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  type ExceptionContext,
  getEventLoop,
  getRunningLoop,
  InvalidStateError,
  run,
  Runner,
  sleep,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

Deno.test("run() returns the result of main and rethrows its error", async () => {
  assert.equal(await run(async () => 42, { clock: new VirtualClock() }), 42);
  await assert.rejects(
    run(async () => {
      await sleep(10);
      throw new EvalError("failed");
    }, { clock: new VirtualClock() }),
    EvalError,
  );
});

Deno.test("run() cancels tasks still pending when main returns and waits for their cleanup", async () => {
  const events: string[] = [];
  await run(async () => {
    createTask(async () => {
      try {
        await sleep(60_000);
      } catch (e) {
        events.push(e instanceof CancelledError ? "cancelled" : "other");
        await sleep(5); // cleanup that takes time
        events.push("cleaned up");
        throw e;
      }
    });
    await sleep(1);
    events.push("main done");
  }, { clock: new VirtualClock() });
  assert.deepEqual(events, ["main done", "cancelled", "cleaned up"]);
});

Deno.test("run() reports an error a pending task raised while being cancelled", async () => {
  const runner = new Runner({ clock: new VirtualClock() });
  const contexts: ExceptionContext[] = [];
  runner.getLoop().setExceptionHandler((_, context) => contexts.push(context));
  await runner.run(async () => {
    createTask(async () => {
      try {
        await sleep(1000);
      } catch {
        throw new Error("cleanup failed");
      }
    });
    await sleep(0);
  });
  await runner.close();
  assert.equal(contexts.length, 1);
  assert.equal(
    contexts[0].message,
    "Unhandled exception during run() shutdown",
  );
  assert.equal((contexts[0].exception as Error).message, "cleanup failed");
});

Deno.test("run() given a started promise throws a TypeError that shows the fix", async () => {
  const main = async () => {};
  await assert.rejects(
    run(main() as never),
    (e: unknown) => e instanceof TypeError && e.message.includes("run(main)"),
  );
  await assert.rejects(run(null as never), TypeError);
});

Deno.test("run() inside a running loop throws InvalidStateError", async () => {
  await run(async () => {
    await assert.rejects(run(async () => {}), InvalidStateError);
  }, { clock: new VirtualClock() });
});

Deno.test("run() sets the current event loop while it runs and clears it after", async () => {
  let inside: unknown;
  await run(async () => {
    inside = getEventLoop();
    assert.equal(inside, getRunningLoop());
  }, { clock: new VirtualClock() });
  const after = getEventLoop();
  assert.notEqual(after, inside);
  after.close();
});

Deno.test("Runner runs several coroutines on one loop and closes with await using", async () => {
  let loopRef: unknown;
  {
    await using runner = new Runner({ clock: new VirtualClock(), debug: true });
    assert.equal(await runner.run(() => sleep(1000, "a")), "a");
    assert.equal(await runner.run(() => sleep(1000, "b")), "b");
    assert.equal(runner.getLoop().time(), 2000);
    assert.ok(runner.getLoop().getDebug());
    loopRef = runner.getLoop();
  }
  assert.ok((loopRef as { isClosed(): boolean }).isClosed());
});

Deno.test("Runner refuses to run or give its loop once closed", async () => {
  const runner = new Runner({ clock: new VirtualClock() });
  await runner.run(async () => {});
  await runner.close();
  await runner.close(); // twice is harmless
  assert.throws(() => runner.getLoop(), InvalidStateError);
  await assert.rejects(runner.run(async () => {}), InvalidStateError);
});

Deno.test("run() and Runner refuse bad arguments at the call, naming them", async () => {
  const main = async () => "ran";
  await assertRefuses("run()", "main", (v) => run(v), {
    TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}, PROMISE],
  });
  await assertRefuses("run(main, options)", "options", (v) => run(main, v), {
    TypeError: [null, "5", true, Symbol("s"), 5n, 5, PROMISE],
  });
  await assertRefuses("new Runner()", "options", (v) => new Runner(v), {
    TypeError: [null, "5", true, Symbol("s"), 5n, 5, PROMISE],
  });
  for (const name of ["clock", "debug", "handleSigint"]) {
    const wrap = (v: unknown) => ({ [name]: v }) as never;
    const values = name === "clock"
      ? [null, "abc", true, Symbol("s"), 5n, 5, {}, PROMISE]
      : [null, "5", 1, Symbol("s"), {}];
    await assertRefuses(`run({ ${name} })`, name, (v) => run(main, wrap(v)), {
      TypeError: values,
    });
    await assertRefuses(
      `new Runner({ ${name} })`,
      name,
      (v) => new Runner(wrap(v)),
      { TypeError: values },
    );
  }
  const runner = new Runner();
  await assertRefuses("Runner.run()", "main", (v) => runner.run(v), {
    TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}],
  });
  await runner.close();
  // Good options still run.
  assert.equal(
    await run(main, {
      clock: new VirtualClock(),
      debug: false,
      handleSigint: false,
    }),
    "ran",
  );
});
