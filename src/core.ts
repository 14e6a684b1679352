/**
 * The core of asyncio for Deno, for every runtime: the event loop, Futures
 * and Tasks, composition, synchronization, queues and the byte streams'
 * reader and writer — everything `mod.ts` exports but the I/O adapters
 * (`openConnection`, `startServer`, the file helpers, subprocesses,
 * `WorkerExecutor` and `toThread`), which need Deno. It uses web-standard
 * globals and `node:async_hooks` only, so it runs unchanged on Deno, Node
 * (20 and newer) and Bun. Import it as `@aio/asyncio/core` where an adapter
 * must not be imported by accident; on Deno, `@aio/asyncio` exports the
 * same names and the adapters.
 *
 * @example Cancellation on any runtime
 * ```ts
 * import { createTask, run, sleep } from "@aio/asyncio/core";
 * import { VirtualClock } from "@aio/asyncio/testing";
 *
 * await run(async () => {
 *   const worker = createTask(async () => {
 *     try {
 *       await sleep(60_000);
 *     } finally {
 *       console.log("cleaned up");
 *     }
 *   });
 *   await sleep(100);
 *   worker.cancel();
 * }, { clock: new VirtualClock() });
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export type { Clock } from "./clock.ts";
export { RealClock } from "./clock.ts";
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
} from "./abstract_event_loop.ts";
export {
  type DoneCallback,
  Future,
  type FutureOptions,
  isFuture,
} from "./futures.ts";
export * from "./tasks.ts";
export * from "./sleep.ts";
export * from "./base_events.ts";
export * from "./runners.ts";
export * from "./gather.ts";
export * from "./wait.ts";
export * from "./shield.ts";
export * from "./as_completed.ts";
export * from "./timeouts.ts";
export * from "./taskgroups.ts";
export * from "./eager.ts";
export * from "./lock.ts";
export * from "./event.ts";
export * from "./condition.ts";
export * from "./semaphore.ts";
export * from "./barrier.ts";
export * from "./queues.ts";
export * from "./stream_reader.ts";
export * from "./stream_writer.ts";
export * from "./graph.ts";
export * from "./tree.ts";
