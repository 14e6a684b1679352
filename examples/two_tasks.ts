/**
 * The asyncio introduction's second example: two coroutines running
 * concurrently as tasks.
 *
 * ```python
 * async def fetch_data():
 *     print("Fetching data...")
 *     await asyncio.sleep(2)
 *     print("Data fetched")
 *     return {'data': 1}
 *
 * async def print_numbers():
 *     for i in range(10):
 *         print(i)
 *         await asyncio.sleep(0.5)
 *
 * async def main():
 *     task1 = asyncio.create_task(fetch_data())
 *     task2 = asyncio.create_task(print_numbers())
 *
 *     # Wait for all tasks to complete
 *     await task1
 *     await task2
 *
 * asyncio.run(main())
 * ```
 *
 * Run: `deno run examples/two_tasks.ts` (no permissions needed).
 */
import { createTask, run, sleep } from "../mod.ts";

export async function fetchData(): Promise<{ data: number }> {
  console.log("Fetching data...");
  await sleep(2000);
  console.log("Data fetched");
  return { data: 1 };
}

export async function printNumbers(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    console.log(i);
    await sleep(500);
  }
}

export async function main(): Promise<void> {
  const task1 = createTask(fetchData);
  const task2 = createTask(printNumbers);

  // Wait for all tasks to complete
  await task1;
  await task2;
}

if (import.meta.main) await run(main);
