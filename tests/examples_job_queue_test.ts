import assert from "node:assert/strict";
import { allTasks, getRunningLoop, run } from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { captureLog } from "./_capture.ts";
import { main } from "../examples/job_queue.ts";

Deno.test("examples/job_queue processes every job with at most two uploads and shuts down cleanly", async () => {
  const clock = new VirtualClock();
  let elapsed = 0;
  let leftover = -1;
  const lines = await captureLog(() =>
    run(async () => {
      await main();
      elapsed = getRunningLoop().time();
      leftover = allTasks().size - 1; // all but this one
    }, { clock })
  );
  // What CPython 3.13 prints for the Python version in the example's doc
  // comment (its times rounded to the millisecond), in the same order.
  const python = [
    "   0 ms  submitted job 1",
    "   0 ms  submitted job 2",
    "   0 ms  w1 processing job 1",
    "   0 ms  w2 processing job 2",
    "   0 ms  submitted job 3",
    "   0 ms  submitted job 4",
    "   0 ms  w3 processing job 3",
    "   0 ms  submitted job 5",
    " 200 ms  w1 uploading job 1",
    " 200 ms  w2 uploading job 2",
    " 200 ms  w3 waits for an upload slot",
    " 300 ms  w1 finished job 1",
    " 300 ms  w1 processing job 4",
    " 300 ms  w1 failed job 4: no input",
    " 300 ms  w1 processing job 5",
    " 300 ms  w2 finished job 2",
    " 300 ms  w3 uploading job 3",
    " 300 ms  submitted job 6",
    " 300 ms  w2 processing job 6",
    " 400 ms  w1 uploading job 5",
    " 400 ms  w3 finished job 3",
    " 500 ms  w1 finished job 5",
    " 600 ms  w2 uploading job 6",
    " 700 ms  w2 finished job 6",
    " 700 ms  all jobs done, shutting down",
    " 700 ms  w3 stopped",
    " 700 ms  w1 stopped",
    " 700 ms  w2 stopped",
  ];
  assert.deepEqual(lines, python);
  assert.equal(elapsed, 700);
  assert.equal(leftover, 0);
});
