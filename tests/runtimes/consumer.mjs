/**
 * A program as a Node or Bun user writes it after `npx jsr add
 * @aio/asyncio` (or `bunx jsr add`), in plain JavaScript. `run.ts` runs it
 * against the package laid out as JSR's npm layer ships it (one `.js` file
 * per module, `package.json` exports from `deno.json`) and compares what it
 * prints, one fact a line, with `EXPECTED` there.
 */
import { createTask, run, sleep } from "@aio/asyncio/core";
import { VirtualClock } from "@aio/asyncio/testing";

// The README's first program, on virtual time.
await run(async () => {
  const worker = createTask(async () => {
    try {
      await sleep(60_000);
    } finally {
      console.log("cleaned up");
    }
  });
  await sleep(100);
  worker.cancel();
}, { clock: new VirtualClock() });

const core = await import("@aio/asyncio/core");
console.log(`the core exports openConnection: ${"openConnection" in core}`);

// The full entry loads too; its adapters say what they need.
const full = await import("@aio/asyncio");
try {
  await full.run(() => full.openConnection({ hostname: "127.0.0.1", port: 1 }));
} catch (error) {
  console.log(`${error.name}: ${error.message}`);
}

try {
  await import("@aio/asyncio/src/net.js");
  console.log("a file outside the exports: imported");
} catch {
  console.log("a file outside the exports: refused");
}
