// The adapters' shared "await a Deno operation" Future (src/_held.ts),
// driven by promises the test settles, so every cancellation timing is
// reached on purpose.
import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  getRunningLoop,
  run,
  sleep,
  timeout,
} from "../mod.ts";
import { held } from "../src/_held.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";

/** An operation the test finishes by hand, recording its abort. */
function operation<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const seen: { signal?: AbortSignal } = {};
  const start = (signal: AbortSignal) => {
    seen.signal = signal;
    return promise;
  };
  return { start, resolve, reject, seen };
}

/** A task awaiting held() over an operation the test settles. */
function heldTask(settleOnCancel: boolean) {
  const op = operation<string>();
  const disposed: string[] = [];
  const task = createTask(() =>
    held(getRunningLoop(), op.start, {
      settleOnCancel,
      dispose: (value) => disposed.push(value),
    })
  );
  return { op, disposed, task };
}

Deno.test("held() resolves with the operation's result and rejects with its error", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const ok = operation<number>();
    const future = held(loop, ok.start, {});
    ok.resolve(42);
    assert.equal(await future, 42);

    const failing = operation<number>();
    const failed = held(loop, failing.start, {});
    failing.reject(new RangeError("disk on fire"));
    await assert.rejects(failed, RangeError);

    const thrown = held(loop, () => {
      throw new TypeError("bad argument");
    }, {});
    await assert.rejects(thrown, TypeError);
  });
});

Deno.test("held() with settleOnCancel aborts the operation and throws only once it settled", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const op = operation<string>();
    const task = createTask(() =>
      held(loop, op.start, { settleOnCancel: true })
    );
    await waitAllTasksBlocked();
    assert.ok(task.cancel("stop"));
    await sleep(0);
    await sleep(0);
    assert.ok(op.seen.signal?.aborted, "the operation's signal is aborted");
    assert.ok(!task.done(), "the task waits for the operation to settle");
    op.reject(new DOMException("aborted", "AbortError"));
    await assert.rejects(task, (error: unknown) => {
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "stop");
      return true;
    });
  });
});

Deno.test("held() with settleOnCancel disposes of a result that lands after the cancel", async () => {
  await run(async () => {
    const { op, disposed, task } = heldTask(true);
    await waitAllTasksBlocked();
    task.cancel();
    await sleep(0);
    op.resolve("file #3"); // the operation ignored the abort
    await assert.rejects(task, CancelledError);
    assert.deepEqual(disposed, ["file #3"]);
  });
});

Deno.test("held() without settleOnCancel throws at once, aborts the signal, and disposes of a late result", async () => {
  await run(async () => {
    const { op, disposed, task } = heldTask(false);
    await waitAllTasksBlocked();
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(op.seen.signal?.aborted, true);
    op.resolve("conn #7");
    await sleep(0);
    assert.deepEqual(disposed, ["conn #7"]);
  });
});

Deno.test("held() disposes of a result that was there when the cancellation was delivered", async () => {
  await run(async () => {
    const { op, disposed, task } = heldTask(false);
    await waitAllTasksBlocked();
    op.resolve("conn #9");
    // Let the result land on the future, then cancel before the task
    // resumes: the task must see CancelledError and the result be closed.
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await null;
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.deepEqual(disposed, ["conn #9"]);
  });
});

Deno.test("held() holds a virtual clock while the operation runs", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const op = operation<string>();
    // Without the hold the idle loop would jump its clock to the deadline
    // at once; held, it waits for the operation, which takes 20 real ms.
    setTimeout(() => op.resolve("done"), 20);
    assert.equal(await timeout(1_000, () => held(loop, op.start, {})), "done");
    assert.equal(loop.time(), 0);
  }, { clock: new VirtualClock() });
});

Deno.test("held() with a release that unblocks the operation waits for it, then cleans up", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const op = operation<string>();
    const events: string[] = [];
    const task = createTask(() =>
      held(loop, op.start, {
        dispose: (value) => events.push(`dispose ${value}`),
        release: () => {
          events.push("release");
          // As a FIFO's other end opened for an instant: the operation
          // finishes, with a handle nobody wants.
          setTimeout(() => op.resolve("fifo #1"), 5);
          return () => events.push("cleanup");
        },
      })
    );
    await waitAllTasksBlocked();
    task.cancel("stop");
    await sleep(0);
    assert.deepEqual(events, ["release"]);
    assert.ok(!task.done(), "the task waits for the released operation");
    await assert.rejects(task, /stop/);
    assert.deepEqual(events, ["release", "cleanup", "dispose fifo #1"]);
  });
});

Deno.test("held() with a release that cannot unblock the operation throws at once and frees the clock", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const op = operation<string>();
    const disposed: string[] = [];
    let released = 0;
    const task = createTask(() =>
      held(loop, op.start, {
        dispose: (value) => disposed.push(value),
        release: () => {
          released++;
          return undefined; // no permission, say: Deno keeps it blocked
        },
      })
    );
    await waitAllTasksBlocked();
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(released, 1);
    // Nobody waits for the blocked operation now: virtual time moves on.
    await sleep(60_000);
    assert.equal(loop.time(), 60_000);
    op.resolve("fifo #2"); // a peer came at last
    await sleep(0);
    assert.deepEqual(disposed, ["fifo #2"]);
  }, { clock: new VirtualClock() });
});

Deno.test("held() calls no release for an operation that already settled", async () => {
  await run(async () => {
    const loop = getRunningLoop();
    const op = operation<string>();
    let released = 0;
    const disposed: string[] = [];
    const task = createTask(() =>
      held(loop, op.start, {
        dispose: (value) => disposed.push(value),
        release: () => {
          released++;
          return undefined;
        },
      })
    );
    await waitAllTasksBlocked();
    op.resolve("file #4");
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await null;
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(released, 0);
    assert.deepEqual(disposed, ["file #4"]);
  });
});
