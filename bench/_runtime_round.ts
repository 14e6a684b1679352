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

/** Operations per second of a workload that runs `ops` operations. */
function rate(fn: () => Promise<unknown>, ops: number) {
  return async () => {
    const start = performance.now();
    await fn();
    return ops / ((performance.now() - start) / 1000);
  };
}

type Measure = () => Promise<number>;

const WORKLOADS: Record<
  string,
  { unit: string; ours: Measure; plain: Measure }
> = {
  spawn: {
    unit: "ops/s",
    ours: rate(core.spawn, core.SPAWN_N),
    plain: rate(plain.spawn, core.SPAWN_N),
  },
  switch: {
    unit: "ops/s",
    ours: rate(core.switches, core.SWITCH_N),
    plain: rate(plain.switches, core.SWITCH_N),
  },
  timers: {
    unit: "ops/s",
    ours: rate(core.timers, core.TIMERS_N),
    plain: rate(plain.timers, core.TIMERS_N),
  },
  pingpong: { unit: "ops/s", ours: core.pingpong, plain: plain.pingpong },
  lock: { unit: "ops/s", ours: core.lock, plain: plain.lock },
  sleepers: {
    unit: "bytes/task",
    ours: () => core.sleepers(heapUsed),
    plain: () => plain.sleepers(heapUsed),
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
