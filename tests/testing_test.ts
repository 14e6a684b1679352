import assert from "node:assert/strict";
import {
  createTask,
  getRunningLoop,
  newEventLoop,
  run,
  sleep,
} from "../mod.ts";
import { VirtualClock, waitAllTasksBlocked } from "../src/testing.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

Deno.test("VirtualClock starts where told and only moves forward", () => {
  const clock = new VirtualClock({ start: 500 });
  assert.equal(clock.now(), 500);
  clock.advance(250);
  assert.equal(clock.now(), 750);
  clock.jumpTo(100);
  assert.equal(clock.now(), 750);
  assert.throws(() => clock.advance(-1), RangeError);
  assert.throws(() => clock.advance(NaN), RangeError);
  assert.throws(() => new VirtualClock({ start: -1 }), RangeError);
  assert.throws(() => new VirtualClock({ autojumpThreshold: -5 }), RangeError);
});

Deno.test("VirtualClock with autojumpThreshold Infinity moves only on advance()", async () => {
  const clock = new VirtualClock({ autojumpThreshold: Infinity });
  const loop = newEventLoop({ clock });
  const woke: number[] = [];
  const done = loop.runUntilComplete(async () => {
    await sleep(1000);
    woke.push(getRunningLoop().time());
  });
  // Let the loop go idle: time must not move by itself.
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(woke, []);
  assert.equal(clock.now(), 0);
  clock.advance(999);
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(woke, []);
  clock.advance(1);
  await done;
  assert.deepEqual(woke, [1000]);
  loop.close();
});

Deno.test("VirtualClock with a positive autojumpThreshold waits that long idle before jumping", async () => {
  const clock = new VirtualClock({ autojumpThreshold: 5 });
  const wallStart = performance.now();
  await run(async () => {
    await sleep(60_000);
    await sleep(60_000);
  }, { clock });
  assert.equal(clock.now(), 120_000);
  assert.ok(performance.now() - wallStart >= 9, "two jumps of 5 ms idleness");
});

Deno.test("waitAllTasksBlocked() returns once every task is parked, without moving time", async () => {
  await run(async () => {
    const progress: string[] = [];
    createTask(async () => {
      progress.push("a started");
      await sleep(0);
      await sleep(0);
      progress.push("a parked");
      await sleep(1000);
      progress.push("a woke");
    });
    createTask(async () => {
      await Promise.resolve();
      await Promise.resolve();
      progress.push("b parked");
      await getRunningLoop().createFuture(); // blocked until cancelled
    });
    await waitAllTasksBlocked();
    assert.deepEqual(progress, ["a started", "b parked", "a parked"]);
    assert.equal(getRunningLoop().time(), 0);
    await sleep(1000);
    assert.deepEqual(progress.at(-1), "a woke");
  }, { clock: new VirtualClock() });
});

Deno.test("VirtualClock refuses bad arguments at the call, naming them", async () => {
  const clock = new VirtualClock({ start: 10, autojumpThreshold: 5 });
  await assertRefuses("advance()", "ms", (v) => clock.advance(v), {
    TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}, PROMISE],
    RangeError: [NaN, -1, Infinity],
  });
  await assertRefuses("jumpTo()", "when", (v) => clock.jumpTo(v), {
    TypeError: [undefined, null, "5", true, Symbol("s"), 5n, {}],
    RangeError: [NaN, Infinity, -Infinity],
  });
  await assertRefuses("subscribe()", "listener", (v) => clock.subscribe(v), {
    TypeError: [undefined, null, "5", {}, PROMISE],
  });
  await assertRefuses(
    "new VirtualClock()",
    "options",
    (v) => new VirtualClock(v),
    { TypeError: [null, "5", true, Symbol("s"), 5n, 5, PROMISE] },
  );
  await assertRefuses(
    "new VirtualClock({ start })",
    "start",
    (v) => new VirtualClock({ start: v }),
    {
      TypeError: ["5", true, Symbol("s"), 5n, {}],
      RangeError: [NaN, -1, Infinity],
    },
  );
  await assertRefuses(
    "new VirtualClock({ autojumpThreshold })",
    "autojumpThreshold",
    (v) => new VirtualClock({ autojumpThreshold: v }),
    { TypeError: ["5", true, Symbol("s"), 5n, {}], RangeError: [NaN, -1] },
  );
  // The time and the threshold are untouched by the refused calls.
  assert.equal(clock.now(), 10);
  assert.equal(clock.autojumpThreshold, 5);
  clock.advance(2.5);
  assert.equal(clock.now(), 12.5);
  assert.equal(new VirtualClock().now(), 0);
  assert.equal(
    new VirtualClock({ autojumpThreshold: Infinity }).autojumpThreshold,
    Infinity,
  );
});
