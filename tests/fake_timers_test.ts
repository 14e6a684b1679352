/**
 * A loop on the real clock must be drivable by fake timers the way
 * `@std/testing`'s FakeTime fakes them: `Date` and the timeout and interval
 * functions replaced, `performance.now`, `setImmediate` and `MessageChannel`
 * left alone. `@sinonjs/fake-timers` with exactly that list stands in.
 */
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { createTask, newEventLoop, run, sleep } from "../mod.ts";
import { RealClock } from "../src/clock.ts";
import { VirtualClock } from "../src/testing.ts";
import { captureLog } from "./_capture.ts";
import { main as twoTasks } from "../examples/two_tasks.ts";
import { TWO_TASKS_OUTPUT } from "./_expected.ts";

const TO_FAKE: FakeTimers.FakeMethod[] = [
  "Date",
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
];

function install(): FakeTimers.InstalledClock {
  return FakeTimers.install({ toFake: TO_FAKE, now: 0 });
}

/**
 * Ticks fake time in steps until `promise` settles, as tests on fake time
 * do: a loop that arms its next timer while a tick is ending would
 * otherwise wait for a tick that never comes.
 */
async function tickUntilSettled(
  clock: FakeTimers.InstalledClock,
  promise: Promise<unknown>,
  stepMs: number,
): Promise<void> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  while (!settled) await clock.tickAsync(stepMs);
  await promise;
}

Deno.test("run() on the real clock follows faked timers: sleep(1000) ends after tickAsync(1000)", async () => {
  const clock = install();
  try {
    let done = false;
    const finished = run(async () => {
      await sleep(1000);
      done = true;
    });
    await clock.tickAsync(999);
    assert.equal(done, false);
    await clock.tickAsync(1);
    await finished;
    assert.equal(done, true);
  } finally {
    clock.uninstall();
  }
});

Deno.test("examples/two_tasks runs on fake time with Python's output", async () => {
  const clock = install();
  try {
    let finished!: Promise<void>;
    const lines = await captureLog(async () => {
      finished = run(twoTasks);
      await tickUntilSettled(clock, finished, 100);
    });
    assert.ok(clock.now >= 5000 && clock.now <= 5100, `ended at ${clock.now}`);
    assert.deepEqual(lines, TWO_TASKS_OUTPUT);
  } finally {
    clock.uninstall();
  }
});

Deno.test("EventLoop.time() follows the faked Date while it is installed", async () => {
  const clock = install();
  const loop = newEventLoop();
  try {
    const start = loop.time();
    clock.tick(250);
    assert.equal(loop.time() - start, 250);
    const order: string[] = [];
    const done = loop.runUntilComplete(async () => {
      const a = createTask(async () => {
        await sleep(20);
        order.push("a");
      });
      const b = createTask(async () => {
        await sleep(10);
        order.push("b");
      });
      await a;
      await b;
    });
    await tickUntilSettled(clock, done, 5);
    assert.deepEqual(order, ["b", "a"]);
  } finally {
    loop.close();
    clock.uninstall();
  }
});

Deno.test("RealClock stays continuous and monotonic when Date is faked and restored", () => {
  const realClock = new RealClock();
  const before = realClock.now();
  const fake = FakeTimers.install({ toFake: TO_FAKE, now: 0 });
  let during: number;
  try {
    const entered = realClock.now();
    assert.ok(entered >= before && entered - before < 50);
    fake.tick(10_000);
    during = realClock.now();
    assert.ok(during - entered >= 10_000 && during - entered < 10_050);
  } finally {
    fake.uninstall();
  }
  const after = realClock.now();
  assert.ok(after >= during && after - during < 50);
});

Deno.test("a timer added while the loop waits for a later one wakes it on time", async () => {
  const clock = install();
  try {
    const order: string[] = [];
    let markStarted!: () => void;
    const lateStarted = new Promise<void>((resolve) => markStarted = resolve);
    const finished = run(async () => {
      const late = createTask(async () => {
        markStarted();
        await sleep(10_000);
        order.push(`late at ${Date.now()}`);
      });
      // The loop idles with its host timer armed for 10 s; a callback
      // from outside the loop then asks for a 100 ms timer.
      await new Promise<void>((resolve) => setTimeout(resolve, 50));
      await sleep(100);
      order.push(`early at ${Date.now()}`);
      await late;
    });
    // Fake time must not move before `late` sleeps: a loop that yields to
    // the host after a slow first iteration (cold code, as on a first run
    // under Node) would start it only once tickAsync had reached 50.
    await lateStarted;
    await clock.tickAsync(150);
    assert.deepEqual(order, ["early at 150"]);
    await tickUntilSettled(clock, finished, 1_000);
    assert.deepEqual(order, ["early at 150", "late at 10000"]);
  } finally {
    clock.uninstall();
  }
});

/**
 * Records every delay the faked `setTimeout` is called with while `fn`
 * runs; the fake's own clamping of delays past 2³¹−1 ms to 1 ms is what
 * the host does too.
 */
async function recordDelays(
  fn: (delays: readonly number[]) => Promise<void>,
): Promise<number[]> {
  const delays: number[] = [];
  const fakeSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((callback: () => void, delay?: number) => {
    delays.push(delay ?? 0);
    return fakeSetTimeout(callback, delay);
  }) as typeof setTimeout;
  try {
    await fn(delays);
  } finally {
    globalThis.setTimeout = fakeSetTimeout;
  }
  return delays;
}

const MAX_HOST_DELAY = 2 ** 31 - 1;

Deno.test("sleep(1e10) arms the host timer a few times, never past 2³¹−1 ms, and ends on time", async () => {
  const clock = install();
  try {
    let done = false;
    let finished!: Promise<void>;
    const delays = await recordDelays(async (armed) => {
      finished = run(async () => {
        await sleep(1e10);
        done = true;
      });
      // A clamped host timer would fire every fake millisecond here.
      await clock.tickAsync(1_000);
      assert.equal(done, false);
      assert.ok(armed.length <= 1, `armed ${armed.length} times`);
      // Five host-timer spans reach 1e10 ms.
      for (let i = 0; i < 6 && !done; i++) {
        await clock.tickAsync(MAX_HOST_DELAY);
      }
      await finished;
    });
    assert.equal(done, true);
    assert.ok(clock.now >= 1e10, `ended at ${clock.now}`);
    assert.ok(delays.length <= 6, `armed ${delays.length} times`);
    assert.ok(delays.every((delay) => delay <= MAX_HOST_DELAY));
  } finally {
    clock.uninstall();
  }
});

Deno.test("callLater(Infinity) arms no host timer, callAt(1e300) one capped at 2³¹−1 ms, and neither runs", async () => {
  const clock = install();
  const loop = newEventLoop();
  try {
    const calls: string[] = [];
    const delays = await recordDelays(async () => {
      loop.callLater(Infinity, () => calls.push("infinity"));
      loop.callAt(1e300, () => calls.push("1e300"));
      const done = loop.runUntilComplete(async () => {
        await new Promise<void>((resolve) => setTimeout(resolve, 100));
      });
      await clock.tickAsync(1_000);
      await done;
    });
    assert.deepEqual(calls, []);
    // The test's own 100 ms timer, and one host timer for the far deadline.
    assert.deepEqual(delays, [100, MAX_HOST_DELAY]);
  } finally {
    loop.close();
    clock.uninstall();
  }
});

Deno.test("a VirtualClock's autojumpThreshold past 2³¹−1 ms is waited in full, in capped host timers", async () => {
  const clock = install();
  const loop = newEventLoop({
    clock: new VirtualClock({ autojumpThreshold: 3e9 }),
  });
  try {
    let done = false;
    const delays = await recordDelays(async () => {
      const finished = loop.runUntilComplete(async () => {
        await sleep(10);
        done = true;
      });
      await clock.tickAsync(1_000);
      assert.equal(done, false);
      await clock.tickAsync(3e9 - 1_000 - 1);
      assert.equal(done, false);
      await clock.tickAsync(1);
      await finished;
    });
    assert.equal(done, true);
    assert.deepEqual(delays, [MAX_HOST_DELAY, 3e9 - MAX_HOST_DELAY]);
  } finally {
    loop.close();
    clock.uninstall();
  }
});
