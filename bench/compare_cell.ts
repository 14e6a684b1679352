/**
 * One cell of `compare.ts`: ONE workload on ONE JavaScript implementation,
 * in a process of its own, printing one JSON line.
 *
 * ```sh
 * deno run --v8-flags=--expose-gc bench/compare_cell.ts \
 *   module|plain|effection|effect spawn|switch|timers|pingpong|lock|sleepers \
 *   [--quick]
 * ```
 *
 * A rate workload runs once at a tenth of its size to warm up (as
 * `compare_cell.py` does), then once measured, and prints
 * `{ "value": ops/s }`. `sleepers` runs once, with no warm-up (a warm-up
 * would leave its memory resident and hide the second run's), and prints
 * `{ "heap": bytes, "rss": bytes }` per sleeping task: heap in use after a
 * full collection, and the growth of the resident set, both measured after
 * a full collection before the tasks start and while they all sleep.
 */
import * as core from "./_core_workloads.ts";
import * as plain from "./_plain_workloads.ts";
import * as effection from "./_effection_workloads.ts";
import * as effect from "./_effect_workloads.ts";

/** Sizes of the workloads: `full` for a published run, `quick` to smoke-test. */
export const SIZES = {
  full: {
    spawn: core.SPAWN_N,
    switch: core.SWITCH_N,
    timers: core.TIMERS_N,
    pingpong: core.PINGPONG_N,
    lock: core.LOCK_ROUNDS,
    sleepers: core.SLEEPERS_N,
  },
  quick: {
    spawn: core.SPAWN_N / 10,
    switch: core.SWITCH_N / 10,
    timers: core.TIMERS_N / 10,
    pingpong: core.PINGPONG_N / 10,
    lock: core.LOCK_ROUNDS / 10,
    sleepers: core.SLEEPERS_N / 10,
  },
} as const;

export type Workload = keyof typeof SIZES.full;

/**
 * Divisors of the size for one implementation: Effection starts about
 * 4,000 tasks per second (flat from 2,000 to 40,000 tasks), so its
 * task-per-item workloads run a tenth of the size, or they alone would
 * outlast the rest of `compare.ts`. The rates and bytes per task are
 * per item, so they stay comparable.
 */
export const CUT: Partial<Record<string, Partial<Record<Workload, number>>>> = {
  effection: { spawn: 10, timers: 10, sleepers: 10 },
};

/** The JavaScript implementations, and what each lacks. */
export const IMPLEMENTATIONS = {
  module: core,
  plain,
  effection: { ...effection, lock: undefined },
  effect,
} as const;

export type Implementation = keyof typeof IMPLEMENTATIONS;

type Rate = (n: number) => Promise<number>;
type Sleepers = (used: () => core.Bytes, n: number) => Promise<core.Bytes>;

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap in use and resident set, after a full collection. */
function used(): core.Bytes {
  if (gc === undefined) {
    throw new Error("Cannot measure memory: run with --v8-flags=--expose-gc");
  }
  gc();
  const { heapUsed, rss } = Deno.memoryUsage();
  return { heap: heapUsed, rss };
}

async function cell(
  name: Implementation,
  workload: Workload,
  quick: boolean,
): Promise<Record<string, number>> {
  const impl = IMPLEMENTATIONS[name] as unknown as Record<
    string,
    Rate | Sleepers | undefined
  >;
  const n = SIZES[quick ? "quick" : "full"][workload] /
    (CUT[name]?.[workload] ?? 1);
  if (workload === "sleepers") {
    return await (impl.sleepers as Sleepers)(used, n);
  }
  const fn = (workload === "switch" ? impl.switches : impl[workload]) as
    | Rate
    | undefined;
  if (fn === undefined) {
    throw new TypeError(`Cannot run ${workload}: ${name} has no counterpart`);
  }
  await fn(Math.max(1, n / 10)); // warm-up: the JIT, at a tenth of the size
  return { value: await fn(n) };
}

if (import.meta.main) {
  const [name, workload] = Deno.args;
  if (!(name in IMPLEMENTATIONS)) {
    throw new TypeError(`Cannot run a cell: unknown implementation: ${name}`);
  }
  if (!(workload in SIZES.full)) {
    throw new TypeError(`Cannot run a cell: unknown workload: ${workload}`);
  }
  const result = await cell(
    name as Implementation,
    workload as Workload,
    Deno.args.includes("--quick"),
  );
  console.log(JSON.stringify(result));
}
