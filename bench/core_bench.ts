/**
 * Core benchmarks: `deno task bench`. For the comparison with every peer
 * (CPython asyncio, uvloop, Effection, Effect, plain promises) in one run,
 * see `compare.ts`.
 */
import { spawn, switches, timers } from "./_core_workloads.ts";

// deno bench awaits only `async` functions: a plain function returning a
// promise would be called again before its loop finished.

Deno.bench({
  name: "spawn: create and await 200,000 tasks",
  n: 5,
  warmup: 1,
  fn: async () => {
    await spawn();
  },
});
Deno.bench({
  name: "switch: 1,000,000 sleep(0) in one task",
  n: 5,
  warmup: 1,
  fn: async () => {
    await switches();
  },
});
Deno.bench({
  name: "timers: 200,000 callLater, random delays up to 100 ms",
  n: 5,
  warmup: 1,
  fn: async () => {
    await timers();
  },
});
