import assert from "node:assert/strict";
import { getRunningLoop, newEventLoop, run, setEventLoop } from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { captureLog } from "./_capture.ts";
import { TWO_TASKS_OUTPUT } from "./_expected.ts";
import { helloWorld } from "../examples/hello_world.ts";
import { main as twoTasks } from "../examples/two_tasks.ts";
import { runExample as eventLoopExample } from "../examples/event_loop.ts";

Deno.test("examples/hello_world prints Hello, then World a second later", async () => {
  const clock = new VirtualClock();
  const lines = await captureLog(() => run(helloWorld, { clock }));
  assert.deepEqual(lines, ["Hello", "World"]);
  assert.equal(clock.now(), 1000);
});

Deno.test("examples/two_tasks prints what Python prints, in 5 virtual seconds", async () => {
  const clock = new VirtualClock();
  let elapsed = 0;
  const lines = await captureLog(() =>
    run(async () => {
      await twoTasks();
      elapsed = getRunningLoop().time();
    }, { clock })
  );
  assert.deepEqual(lines, TWO_TASKS_OUTPUT);
  assert.equal(elapsed, 5000);
});

Deno.test("examples/event_loop runs the loop by hand and prints hello", async () => {
  const clock = new VirtualClock();
  setEventLoop(newEventLoop({ clock }));
  const lines = await captureLog(eventLoopExample);
  assert.deepEqual(lines, ["hello"]);
  assert.equal(clock.now(), 1000);
});
