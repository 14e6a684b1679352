/**
 * What the design costs at least, beside what the module costs: the
 * figures behind "what limits them" in `bench/README.md`. Each bench does
 * 10,000 operations; `deno bench` prints each against its group's
 * baseline, as ratios within one run.
 *
 * ```sh
 * deno bench bench/floor_bench.ts
 * ```
 *
 * - **switch**: a task switch must suspend on a thenable (its `then` is
 *   where the awaiting task is learnt, so that `cancel()` reaches the
 *   await), queue the resume on the loop, and let microtask turns pass in
 *   the loop's driver until the step reaches its next await. "floor" does
 *   exactly that with a bare array and no Future, Task or store; the
 *   module's `await sleep(0)` does it with all of them. `await null` is the
 *   plain-promise hop, which no loop sees.
 * - **spawn**: every task starts its body inside an `AsyncLocalStorage`
 *   frame (how promise chains know their task); on Deno each frame costs
 *   an object spread and a `WeakMap` entry. "async call" is the body alone.
 * - **clock**: `performance.now()`, which the loop reads once per
 *   iteration when timers are pending, and for its host-yield check.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createTask, run, sleep, type Task } from "../mod.ts";

const OPS = 10_000;
const TURN = Promise.resolve();

/** The design's floor for `OPS` task switches: see the module doc. */
function floorSwitches(): Promise<void> {
  const ready: ((value: unknown) => void)[] = [];
  let stepping = false;
  let finished = false;
  const yieldPoint = {
    then(resolve: (value: unknown) => void) {
      stepping = false; // the step reached its next await
      ready.push(resolve);
    },
  };
  const coroutine = async () => {
    for (let i = 0; i < OPS; i++) await yieldPoint;
    finished = true;
    stepping = false;
  };
  const drive = async () => {
    while (!finished) {
      const resume = ready.shift();
      if (resume !== undefined) {
        stepping = true;
        resume(undefined);
      }
      await TURN;
      while (stepping) await TURN;
    }
  };
  void coroutine();
  return drive();
}

Deno.bench("await null", { group: "switch", baseline: true }, async () => {
  for (let i = 0; i < OPS; i++) await null;
});

Deno.bench("floor: thenable + ready queue + driver turns", {
  group: "switch",
}, async () => {
  await floorSwitches();
});

Deno.bench("this module: await sleep(0)", { group: "switch" }, async () => {
  await run(async () => {
    for (let i = 0; i < OPS; i++) await sleep(0);
  });
});

const store = new AsyncLocalStorage<object>();
const frame = {};
const body = (): Promise<number> => Promise.resolve(1);

Deno.bench("async call", { group: "spawn", baseline: true }, async () => {
  const calls: Promise<number>[] = new Array(OPS);
  for (let i = 0; i < OPS; i++) calls[i] = body();
  for (let i = 0; i < OPS; i++) await calls[i];
});

Deno.bench("async call in AsyncLocalStorage.run", {
  group: "spawn",
}, async () => {
  const calls: Promise<number>[] = new Array(OPS);
  for (let i = 0; i < OPS; i++) calls[i] = store.run(frame, body);
  for (let i = 0; i < OPS; i++) await calls[i];
});

Deno.bench("this module: createTask, then await", {
  group: "spawn",
}, async () => {
  await run(async () => {
    const tasks: Task<number>[] = new Array(OPS);
    for (let i = 0; i < OPS; i++) tasks[i] = createTask(body);
    for (let i = 0; i < OPS; i++) await tasks[i];
  });
});

Deno.bench("performance.now()", { group: "clock" }, () => {
  let sum = 0;
  for (let i = 0; i < OPS; i++) sum += performance.now();
  if (sum < 0) throw new Error("unreachable");
});
