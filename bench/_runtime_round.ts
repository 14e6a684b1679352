/**
 * One round of `runtimes.ts`, run by Deno, Node or Bun in a process of its
 * own: every workload once to warm up, then once measured. Prints one JSON
 * line per measurement: `{ workload, variant, value, unit }`, where the
 * variant is the module's ("ours") or the plain-promise one ("plain").
 */
import process from "node:process";
import * as core from "./_core_workloads.ts";
import * as plain from "./_plain_workloads.ts";

/** Heap in use after a full collection (`--expose-gc`, or Bun's own). */
function heapUsed(): number {
  const global = globalThis as {
    gc?: () => void;
    Bun?: { gc(force: boolean): void };
  };
  if (global.gc !== undefined) global.gc();
  else if (global.Bun !== undefined) global.Bun.gc(true);
  else throw new Error("Cannot measure the heap: run with --expose-gc");
  return process.memoryUsage().heapUsed;
}

type Measure = () => Promise<number>;

const heap = () => ({ heap: heapUsed() });

const WORKLOADS: Record<
  string,
  { unit: string; ours: Measure; plain: Measure }
> = {
  spawn: {
    unit: "ops/s",
    ours: () => core.spawn(),
    plain: () => plain.spawn(),
  },
  switch: {
    unit: "ops/s",
    ours: () => core.switches(),
    plain: () => plain.switches(),
  },
  timers: {
    unit: "ops/s",
    ours: () => core.timers(),
    plain: () => plain.timers(),
  },
  pingpong: {
    unit: "ops/s",
    ours: () => core.pingpong(),
    plain: () => plain.pingpong(),
  },
  lock: { unit: "ops/s", ours: () => core.lock(), plain: () => plain.lock() },
  sleepers: {
    unit: "bytes/task",
    ours: async () => (await core.sleepers(heap)).heap,
    plain: async () => (await plain.sleepers(heap)).heap,
  },
};

// `--variant ours|plain` runs one side only: on Node 20 the module's
// AsyncLocalStorage turns on promise hooks for the whole process, which
// would slow the plain-promise side too.
const argv = process.argv.slice(2);
const variants = argv.includes("--variant")
  ? [argv[argv.indexOf("--variant") + 1]]
  : ["ours", "plain"];
const wanted = argv.filter((arg) => arg in WORKLOADS);
for (const [workload, measures] of Object.entries(WORKLOADS)) {
  if (wanted.length > 0 && !wanted.includes(workload)) continue;
  const chosen = (["ours", "plain"] as const).filter((v) =>
    variants.includes(v)
  );
  for (const variant of chosen) await measures[variant]();
  for (const variant of chosen) {
    const value = await measures[variant]();
    console.log(
      JSON.stringify({ workload, variant, value, unit: measures.unit }),
    );
  }
}
