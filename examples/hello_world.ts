/**
 * The asyncio introduction's first example: a basic coroutine.
 *
 * ```python
 * async def hello_world():
 *     print("Hello")
 *     await asyncio.sleep(1)  # Simulate I/O operation
 *     print("World")
 *
 * asyncio.run(hello_world())
 * ```
 *
 * Run: `deno run examples/hello_world.ts` (no permissions needed).
 */
import { run, sleep } from "../mod.ts";

export async function helloWorld(): Promise<void> {
  console.log("Hello");
  await sleep(1000); // Simulate I/O operation
  console.log("World");
}

if (import.meta.main) await run(helloWorld);
