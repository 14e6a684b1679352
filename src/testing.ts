/**
 * Testing helpers: a virtual clock and a way to wait until every task is
 * blocked, in the spirit of `trio.testing`. Import them from
 * `@aio/asyncio/testing`; production code never needs them.
 *
 * @example A test on virtual time
 * ```ts
 * import { createTask, run, sleep } from "@aio/asyncio";
 * import { VirtualClock, waitAllTasksBlocked } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const seen: number[] = [];
 *   createTask(async () => { seen.push(1); await sleep(1000); seen.push(2); });
 *   await waitAllTasksBlocked();
 *   assert.deepEqual(seen, [1]);
 * }, { clock: new VirtualClock() });
 * ```
 *
 * @module
 */
import { getRunningLoop } from "./abstract_event_loop.ts";

export { VirtualClock, type VirtualClockOptions } from "./virtual_clock.ts";

/**
 * Resolves once every other task of the running loop is blocked: nothing
 * is ready to run and every pending microtask has run. Time does not move
 * meanwhile, even on a virtual clock. trio:
 * `trio.testing.wait_all_tasks_blocked()`.
 *
 * @returns A promise that resolves when the loop is idle.
 * @throws {InvalidStateError} If no loop is running.
 *
 * @example Observing a task parked on an event
 * ```ts
 * import { createTask, getRunningLoop, run } from "@aio/asyncio";
 * import { VirtualClock, waitAllTasksBlocked } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const future = getRunningLoop().createFuture<string>();
 *   const task = createTask(() => future);
 *   await waitAllTasksBlocked();
 *   assert.ok(!task.done());
 *   future.setResult("go");
 *   assert.equal(await task, "go");
 * }, { clock: new VirtualClock() });
 * ```
 */
export async function waitAllTasksBlocked(): Promise<void> {
  await getRunningLoop()._whenIdle();
}
