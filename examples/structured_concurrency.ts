/**
 * Structured concurrency: fetch several things at once under one
 * deadline. A TaskGroup owns the fetches: when one fails, the group
 * cancels the others; when the deadline passes, `timeout` cancels them
 * all. Either way nothing is left running once `fetchAll` returns.
 *
 * The fetches are simulated with `sleep`, so the example runs offline. A
 * real one would pass the task's signal to `fetch`, so that cancelling
 * the task aborts the request too:
 *
 * ```ts
 * const response = await fetch(url, { signal: currentTask()!.signal });
 * ```
 *
 * The same in Python:
 *
 * ```python
 * async def fetch_all(sources, deadline):
 *     try:
 *         async with asyncio.timeout(deadline):
 *             async with asyncio.TaskGroup() as group:
 *                 tasks = [group.create_task(fetch(s)) for s in sources]
 *         print("all fetched:", [t.result() for t in tasks])
 *     except* FetchError as failed:
 *         print("failed:", failed.exceptions)
 *     except TimeoutError:
 *         print(f"deadline of {deadline} s passed")
 * ```
 *
 * Run: `deno run examples/structured_concurrency.ts` (no permissions
 * needed).
 */
import {
  CancelledError,
  getRunningLoop,
  run,
  sleep,
  taskGroup,
  TaskGroupError,
  timeout,
  TimeoutError,
} from "../mod.ts";

/** A simulated remote source: how long it takes, and whether it fails. */
export interface Source {
  readonly name: string;
  readonly ms: number;
  readonly fails?: boolean;
}

let startedAt = 0;

/** Prints a line stamped with the time since the round started. */
function log(message: string): void {
  // The sources take multiples of 100 ms; on the real clock timers fire a
  // few milliseconds late, so round to that.
  const elapsed = Math.round((getRunningLoop().time() - startedAt) / 100) *
    100;
  console.log(`[${String(elapsed).padStart(4)} ms] ${message}`);
}

/** Fetches one source: waits `ms`, then answers or fails. */
export async function fetchSource(source: Source): Promise<string> {
  log(`${source.name}: fetching`);
  try {
    await sleep(source.ms);
  } catch (error) {
    if (error instanceof CancelledError) log(`${source.name}: cancelled`);
    throw error;
  }
  if (source.fails) {
    log(`${source.name}: failed`);
    throw new Error(`${source.name}: 503 Service Unavailable`);
  }
  log(`${source.name}: done`);
  return `${source.name} (${source.ms} ms)`;
}

/**
 * Fetches every source concurrently, all within `deadlineMs`, and prints
 * what happened.
 */
export async function fetchAll(
  sources: readonly Source[],
  deadlineMs: number,
): Promise<void> {
  startedAt = getRunningLoop().time();
  try {
    const tasks = await timeout(
      deadlineMs,
      () =>
        taskGroup((group) =>
          sources.map((source) =>
            group.createTask(() => fetchSource(source), { name: source.name })
          )
        ),
    );
    // taskGroup returned once every task was done.
    log(`all fetched: ${tasks.map((task) => task.result()).join(", ")}`);
  } catch (error) {
    if (error instanceof TaskGroupError) {
      const reasons = error.errors.map((e) => (e as Error).message);
      log(`failed: ${reasons.join("; ")}`);
    } else if (error instanceof TimeoutError) {
      log(`deadline of ${deadlineMs} ms passed, nothing left running`);
    } else {
      throw error;
    }
  }
}

/** Three rounds: all in time, one failure, too slow for the deadline. */
export async function main(): Promise<void> {
  console.log("Round 1: everything arrives in time");
  await fetchAll([
    { name: "users", ms: 300 },
    { name: "orders", ms: 500 },
    { name: "stock", ms: 200 },
  ], 1000);

  console.log("\nRound 2: one source fails, the group cancels the rest");
  await fetchAll([
    { name: "users", ms: 300 },
    { name: "orders", ms: 100, fails: true },
    { name: "stock", ms: 200 },
  ], 1000);

  console.log("\nRound 3: one source is too slow for the deadline");
  await fetchAll([
    { name: "users", ms: 300 },
    { name: "reports", ms: 5000 },
  ], 1000);
}

if (import.meta.main) await run(main);
