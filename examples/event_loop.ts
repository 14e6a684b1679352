/**
 * The asyncio introduction's third example: using the event loop directly.
 *
 * ```python
 * async def say_after(delay, what):
 *     await asyncio.sleep(delay)
 *     print(what)
 *
 * async def main():
 *     loop = asyncio.get_event_loop()
 *     task = loop.create_task(say_after(1, 'hello'))
 *     await task
 *
 * loop = asyncio.get_event_loop()
 * loop.run_until_complete(main())
 * loop.close()
 * ```
 *
 * Two differences JavaScript imposes: `createTask` takes the coroutine
 * function (`() => sayAfter(...)`), because calling an async function
 * starts it at once; and `runUntilComplete` returns a promise to await,
 * because a JavaScript thread cannot block.
 *
 * Run: `deno run examples/event_loop.ts` (no permissions needed).
 */
import { getEventLoop, sleep } from "../mod.ts";

export async function sayAfter(delay: number, what: string): Promise<void> {
  await sleep(delay);
  console.log(what);
}

export async function main(): Promise<void> {
  const loop = getEventLoop();
  const task = loop.createTask(() => sayAfter(1000, "hello"));
  await task;
}

export async function runExample(): Promise<void> {
  const loop = getEventLoop();
  await loop.runUntilComplete(main());
  loop.close();
}

if (import.meta.main) await runExample();
