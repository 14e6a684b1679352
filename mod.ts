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
// The runtime-agnostic core (also `@aio/asyncio/core`), then the Deno
// adapters.
export * from "./src/core.ts";
export * from "./src/net.ts";
export * from "./src/server.ts";
export * from "./src/executor.ts";
export * from "./src/files.ts";
export * from "./src/subprocess.ts";
export * from "./src/task_dump.ts";
