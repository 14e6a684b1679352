import assert from "node:assert/strict";
import { getRunningLoop, run } from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { captureLog } from "./_capture.ts";
import {
  fetchAll,
  main as structuredConcurrency,
} from "../examples/structured_concurrency.ts";

Deno.test("examples/structured_concurrency prints every round, in 1.8 virtual seconds", async () => {
  const clock = new VirtualClock();
  const lines = await captureLog(() => run(structuredConcurrency, { clock }));
  assert.deepEqual(lines, [
    "Round 1: everything arrives in time",
    "[   0 ms] users: fetching",
    "[   0 ms] orders: fetching",
    "[   0 ms] stock: fetching",
    "[ 200 ms] stock: done",
    "[ 300 ms] users: done",
    "[ 500 ms] orders: done",
    "[ 500 ms] all fetched: users (300 ms), orders (500 ms), stock (200 ms)",
    "\nRound 2: one source fails, the group cancels the rest",
    "[   0 ms] users: fetching",
    "[   0 ms] orders: fetching",
    "[   0 ms] stock: fetching",
    "[ 100 ms] orders: failed",
    "[ 100 ms] users: cancelled",
    "[ 100 ms] stock: cancelled",
    "[ 100 ms] failed: orders: 503 Service Unavailable",
    "\nRound 3: one source is too slow for the deadline",
    "[   0 ms] users: fetching",
    "[   0 ms] reports: fetching",
    "[ 300 ms] users: done",
    "[1000 ms] reports: cancelled",
    "[1000 ms] deadline of 1000 ms passed, nothing left running",
  ]);
  assert.equal(clock.now(), 1600);
});

Deno.test("examples/structured_concurrency fetchAll() leaves no task running", async () => {
  const clock = new VirtualClock();
  await captureLog(() =>
    run(async () => {
      const loop = getRunningLoop();
      await fetchAll([
        { name: "a", ms: 100, fails: true },
        { name: "b", ms: 100, fails: true },
        { name: "c", ms: 10_000 },
      ], 1000);
      // Both failures at once are reported; only the main task is left.
      assert.equal([...loop._tasks()].filter((t) => !t.done()).length, 1);
      assert.equal(loop.time(), 100);
    }, { clock })
  ).then((lines) =>
    assert.equal(
      lines.at(-1),
      "[ 100 ms] failed: a: 503 Service Unavailable; b: 503 Service Unavailable",
    )
  );
});
