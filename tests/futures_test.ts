import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  Future,
  InvalidStateError,
  isFuture,
  Lock,
  newEventLoop,
  Queue,
  run,
  setEventLoop,
  sleep,
  type Task,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";

const clock = () => ({ clock: new VirtualClock() });

Deno.test("Future.result() before done throws InvalidStateError", async () => {
  await run(async () => {
    const future = new Future<number>();
    assert.equal(future.done(), false);
    assert.throws(() => future.result(), InvalidStateError);
    assert.throws(() => future.exception(), InvalidStateError);
    future.setResult(1);
    assert.equal(future.result(), 1);
    assert.equal(future.exception(), undefined);
  }, clock());
});

Deno.test("Future.setResult() and setException() on a done future throw InvalidStateError", async () => {
  await run(async () => {
    const future = new Future<number>();
    future.setResult(1);
    assert.throws(
      () => future.setResult(2),
      /Cannot set result: future is finished/,
    );
    assert.throws(() => future.setException(new Error()), InvalidStateError);
    assert.equal(future.cancel(), false);
    const cancelled = new Future<number>();
    assert.equal(cancelled.cancel("why"), true);
    assert.throws(() => cancelled.setResult(1), /future is cancelled/);
  }, clock());
});

Deno.test("Future.cancel() makes result() and await throw CancelledError with the message", async () => {
  await run(async () => {
    const future = new Future<number>();
    future.cancel("enough");
    assert.ok(future.cancelled());
    assert.ok(future.done());
    assert.throws(
      () => future.result(),
      (e: unknown) => e instanceof CancelledError && e.message === "enough",
    );
    assert.throws(() => future.exception(), CancelledError);
    await assert.rejects(
      future,
      (e: unknown) => e instanceof CancelledError && e.message === "enough",
    );
  }, clock());
});

Deno.test("Future.setException() makes result() and await throw it", async () => {
  await run(async () => {
    const future = new Future<number>();
    const error = new URIError("bad uri");
    future.setException(error);
    assert.equal(future.exception(), error);
    assert.throws(() => future.result(), URIError);
    await assert.rejects(future, URIError);
  }, clock());
});

Deno.test("Future done-callbacks are scheduled with callSoon in registration order, not called inside setResult", async () => {
  await run(async () => {
    const future = new Future<string>();
    const calls: string[] = [];
    future.addDoneCallback((f) => calls.push(`first ${f.result()}`));
    future.addDoneCallback(() => calls.push("second"));
    future.addDoneCallback(() => calls.push("third"));
    future.setResult("x");
    assert.equal(calls.length, 0, "not called inside setResult");
    await sleep(0);
    assert.deepEqual([...calls], ["first x", "second", "third"]);
    future.addDoneCallback(() => calls.push("late"));
    assert.equal(calls.length, 3);
    await sleep(0);
    assert.deepEqual(calls.at(-1), "late");
  }, clock());
});

Deno.test("Future.removeDoneCallback() removes every registration and counts them", async () => {
  await run(async () => {
    const future = new Future<void>();
    const calls: string[] = [];
    const a = () => calls.push("a");
    const b = () => calls.push("b");
    future.addDoneCallback(a);
    future.addDoneCallback(b);
    future.addDoneCallback(a);
    assert.equal(future.removeDoneCallback(a), 2);
    assert.equal(future.removeDoneCallback(a), 0);
    future.setResult();
    await sleep(0);
    assert.deepEqual(calls, ["b"]);
    assert.throws(() => future.addDoneCallback("x" as never), TypeError);
  }, clock());
});

Deno.test("Future.then() resumes awaiters on the loop, in order, and chains like a promise", async () => {
  await run(async () => {
    const future = new Future<number>();
    const order: string[] = [];
    const a = (async () => {
      order.push(`a ${await future}`);
    })();
    const b = future.then((v) => v * 2).then((v) => order.push(`b ${v}`));
    const c = future.finally(() => order.push("c finally"));
    await sleep(0);
    future.setResult(21);
    await Promise.all([a, b, c]);
    // Callbacks run in registration order: then() and finally() register at
    // once; an await registers one microtask later, when V8 calls then().
    assert.deepEqual(order, ["b 42", "c finally", "a 21"]);
    assert.equal(await future.catch(() => 0), 21);
    assert.equal(Object.prototype.toString.call(future), "[object Future]");
  }, clock());
});

Deno.test("Future.catch() sees the exception and counts as retrieving it", async () => {
  const loop = newEventLoop({ clock: new VirtualClock() });
  const reported: unknown[] = [];
  loop.setExceptionHandler((_, context) => reported.push(context));
  await loop.runUntilComplete(async () => {
    const future = loop.createFuture<number>();
    future.setException(new Error("handled"));
    assert.equal(await future.catch((e) => (e as Error).message), "handled");
  });
  loop.close();
  assert.deepEqual(reported, []);
});

Deno.test("Future toString() describes the state", async () => {
  await run(async () => {
    const future = new Future<number>();
    assert.equal(String(future), "<Future pending>");
    future.setResult(3);
    assert.equal(String(future), "<Future finished result=3>");
    const failed = new Future<number>();
    failed.setException(new Error("x"));
    assert.equal(String(failed), "<Future finished exception=Error: x>");
    failed.exception();
  }, clock());
});

Deno.test("Future without a loop argument binds to the running loop", async () => {
  await run(async () => {
    const loop = (await import("../mod.ts")).getRunningLoop();
    assert.equal(new Future().getLoop(), loop);
  }, clock());
});

Deno.test("isFuture() tells Futures and Tasks from promises", async () => {
  await run(async () => {
    assert.ok(isFuture(new Future()));
    assert.ok(isFuture(sleep(0)));
    assert.ok(!isFuture(Promise.resolve()));
    assert.ok(!isFuture({ then() {} }));
    assert.ok(!isFuture(null));
    // Future<T> is covariant, as Promise<T> is: this line must type-check.
    const widened: Future<unknown> = new Future<number>();
    widened.cancel();
  }, clock());
});

Deno.test("Awaiting a loop awaitable outside a running loop fails at once and says to use run()", async () => {
  const loop = newEventLoop({ clock: new VirtualClock() });
  setEventLoop(loop);
  try {
    // A top-level `await sleep(100)`, as JavaScript habit writes it.
    await assert.rejects(
      async () => await sleep(100),
      (error) =>
        error instanceof InvalidStateError &&
        /event loop is not running/.test(error.message) &&
        /run\(main\)/.test(error.message),
    );
    await assert.rejects(async () => await new Future(), InvalidStateError);
    const lock = new Lock();
    await lock.acquire(); // free: no wait, no loop needed
    await assert.rejects(async () => await lock.acquire(), /not running/);
    assert.ok(lock.locked());
    lock.release();
    await assert.rejects(
      async () => await new Queue<number>().get(),
      /not running/,
    );
  } finally {
    loop.close(); // no longer the current loop either
  }
});

Deno.test("Awaiting a Future or Task of another loop inside a task fails at once", async () => {
  const other = newEventLoop({ clock: new VirtualClock() });
  const foreign = other.createFuture<number>();
  let foreignTask: Task<number> | undefined;
  await other.runUntilComplete(() => {
    foreignTask = createTask(() => sleep(10, 1));
    return foreignTask;
  });
  await run(async () => {
    await assert.rejects(
      async () => await foreign,
      (error) =>
        error instanceof InvalidStateError &&
        /belongs to another event loop/.test(error.message),
    );
  }, { clock: new VirtualClock() });
  other.close();
  // Its loop is closed now: say so, not "Cannot call callSoon".
  await run(async () => {
    await assert.rejects(
      async () => await foreignTask!,
      (error) =>
        error instanceof InvalidStateError &&
        /its event loop is closed/.test(error.message),
    );
  });
});

Deno.test("Future.setException(undefined) is refused: it would look like success", async () => {
  await run(async () => {
    const future = new Future<number>();
    assert.throws(
      () => future.setException(undefined),
      (error) =>
        error instanceof TypeError &&
        /^Cannot set exception: expected an error, got undefined/.test(
          error.message,
        ),
    );
    assert.equal(future.done(), false);
    // A coroutine may still throw undefined: its task fails with it.
    const task = createTask(async () => {
      await sleep(1);
      throw undefined;
    });
    await assert.rejects(task, (error) => error === undefined);
    assert.equal(task.cancelled(), false);
  }, { clock: new VirtualClock() });
});
