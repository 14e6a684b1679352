/**
 * A bounded soak: one loop runs the same mixed workload cycle after cycle
 * on the real clock — task churn with cancellations, timeouts and
 * TaskGroups, queue traffic, and loopback echo clients connecting,
 * talking and leaving (some cut off mid-read) — and the heap after a full
 * GC, the loop's task count and the open descriptors must stay flat.
 *
 * The fast slice soaks for about 2 s; `deno task test:reliability` for
 * 60 s.
 */
import assert from "node:assert/strict";
import {
  allTasks,
  CancelledError,
  createTask,
  gather,
  openConnection,
  Queue,
  run,
  sleep,
  startServer,
  taskGroup,
  timeout,
  TimeoutError,
  waitFor,
} from "../../mod.ts";
import { openDescriptors } from "../_descriptors.ts";
import { HOST } from "../_net.ts";
import { scale } from "./_budget.ts";

/** The heap after a full collection, in bytes. */
function heapAfterGc(): number {
  // deno-lint-ignore no-explicit-any
  const gc = (globalThis as any).gc as (() => void) | undefined;
  assert.ok(gc, "run with --v8-flags=--expose-gc (the test tasks do)");
  gc();
  gc();
  return Deno.memoryUsage().heapUsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Task churn: spawn, cancel, time out, group, and move queue items. */
async function churn(cycle: number): Promise<void> {
  const queue = new Queue<number>(8);
  const producer = createTask(async () => {
    for (let i = 0; i < 200; i++) await queue.put(i);
  });
  const consumers = Array.from({ length: 4 }, () =>
    createTask(async () => {
      for (;;) {
        await queue.get();
        queue.taskDone();
      }
    }));
  const sleepers = Array.from(
    { length: 200 },
    (_, i) => createTask(() => sleep(i % 3 === 0 ? 60_000 : i % 5)),
  );
  await sleep(1);
  for (let i = 0; i < sleepers.length; i += 3) sleepers[i].cancel();
  await gather(sleepers, { returnExceptions: true });
  await timeout(5, () => sleep(60_000)).catch((error) => {
    if (!(error instanceof TimeoutError)) throw error;
  });
  await taskGroup((group) => {
    for (let i = 0; i < 20; i++) group.createTask(() => sleep(i % 4));
  });
  await producer;
  await queue.join();
  for (const consumer of consumers) consumer.cancel();
  await gather(consumers, { returnExceptions: true });
  assert.equal(queue.qsize(), 0, `cycle ${cycle}: the queue kept items`);
}

/** Echo clients: some finish, some are cut off while they read. */
async function clients(port: number): Promise<void> {
  await gather(Array.from({ length: 8 }, (_, i) => async () => {
    const [reader, writer] = await openConnection({ hostname: HOST, port });
    try {
      writer.write(`client ${i}\n`);
      await writer.drain();
      await reader.readLine();
      if (i % 2 === 0) {
        // Wait for a line that never comes, cut by a deadline.
        await waitFor(() => reader.readLine(), 2).catch((error) => {
          if (!(error instanceof TimeoutError)) throw error;
        });
      }
    } finally {
      writer.close();
      await writer.waitClosed();
    }
  }));
}

Deno.test("Soak: heap, tasks and descriptors stay flat over a mixed workload", async () => {
  const seconds = scale(2, 60);
  const heap: number[] = [];
  const descriptors: number[] = [];
  let cycles = 0;
  await run(async () => {
    await using server = await startServer(async (reader, writer) => {
      for await (const line of reader) {
        writer.write(line);
        await writer.drain();
      }
    }, { hostname: HOST, port: 0 });
    const { port } = server.addr as Deno.NetAddr;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      await churn(cycles);
      await clients(port);
      cycles++;
      // Measure once the loop has settled: only main and the server's
      // accepting task are left, once the server has seen every client
      // leave (on real time: a busy machine may take some milliseconds).
      for (let i = 0; i < 200 && allTasks().size > 2; i++) await sleep(5);
      assert.equal(allTasks().size, 2, `cycle ${cycles}: tasks left behind`);
      if (cycles % 5 === 0) {
        heap.push(heapAfterGc());
        descriptors.push(await openDescriptors());
      }
    }
    // A connection closing as a cycle ends may hold its descriptor for a
    // moment; none may keep it.
    for (let i = 0; i < 50 && descriptors.at(-1) !== descriptors[0]; i++) {
      await sleep(10);
      descriptors.push(await openDescriptors());
    }
  }).catch((error) => {
    if (error instanceof CancelledError) throw new Error("soak cancelled");
    throw error;
  });
  assert.ok(heap.length >= 4, `too few samples: ${cycles} cycles`);
  // After a warm-up quarter, the heap does not grow: the median of the
  // last quarter stays within 2 MiB of the second quarter's (samples after
  // a full GC vary by a few hundred KiB).
  const quarter = Math.floor(heap.length / 4);
  const early = median(heap.slice(quarter, 2 * quarter));
  const late = median(heap.slice(-quarter));
  const grew = late - early;
  console.log(
    `soak: ${seconds} s, ${cycles} cycles, heap ${
      (early / 2 ** 20).toFixed(1)
    } → ${(late / 2 ** 20).toFixed(1)} MiB (samples ${
      (Math.min(...heap) / 2 ** 20).toFixed(1)
    }–${(Math.max(...heap) / 2 ** 20).toFixed(1)}), descriptors ${
      descriptors[0]
    } → ${descriptors.at(-1)}`,
  );
  assert.ok(
    grew < 2 * 2 ** 20,
    `the heap grew from ${early} to ${late} bytes`,
  );
  assert.equal(
    descriptors.at(-1),
    descriptors[0],
    "descriptors leaked across cycles",
  );
});
