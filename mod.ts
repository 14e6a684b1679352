/**
 * asyncio for Deno: Python asyncio's concurrency model with plain
 * `async`/`await` — an event loop, Futures and Tasks whose cancellation is
 * delivered at the await, `sleep`, and runners. Durations are
 * milliseconds. Test helpers (`VirtualClock`) live in `./testing`.
 *
 * @example Two tasks at once
 * ```ts
 * import { createTask, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 *
 * async function fetchData() {
 *   console.log("Fetching data...");
 *   await sleep(2000);
 *   console.log("Data fetched");
 *   return { data: 1 };
 * }
 *
 * await run(async () => {
 *   const task = createTask(fetchData);
 *   console.log(await task);
 * }, { clock: new VirtualClock() });
 * ```
 *
 * @module
 */
export * from "./src/errors.ts";
export type { Clock } from "./src/clock.ts";
export { RealClock } from "./src/clock.ts";
export {
  type AbstractEventLoop,
  type CoroutineFunction,
  type ExceptionContext,
  type ExceptionHandler,
  getEventLoop,
  getRunningLoop,
  Handle,
  setEventLoop,
  type TaskFactory,
  TimerHandle,
} from "./src/events.ts";
export {
  type DoneCallback,
  Future,
  type FutureOptions,
  isFuture,
} from "./src/futures.ts";
export * from "./src/tasks.ts";
export * from "./src/sleep.ts";
export * from "./src/base_events.ts";
export * from "./src/runners.ts";
export * from "./src/gather.ts";
export * from "./src/wait.ts";
export * from "./src/shield.ts";
export * from "./src/as_completed.ts";
export * from "./src/timeouts.ts";
export * from "./src/taskgroups.ts";
export * from "./src/eager.ts";
export * from "./src/lock.ts";
export * from "./src/event.ts";
export * from "./src/condition.ts";
export * from "./src/semaphore.ts";
export * from "./src/barrier.ts";
export * from "./src/queues.ts";
export * from "./src/streams.ts";
export * from "./src/net.ts";
export * from "./src/server.ts";
export * from "./src/executor.ts";
export * from "./src/files.ts";
export * from "./src/subprocess.ts";
export * from "./src/graph.ts";
export * from "./src/tree.ts";
export * from "./src/task_dump.ts";
