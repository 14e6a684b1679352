/**
 * Runs each workload here and in the Python peers, in one run on one
 * machine, and prints a Markdown table of operations per second with the
 * ratios: `deno task bench:compare [workload...]`.
 *
 * CPython asyncio runs under `python3` (override with PYTHON), uvloop under
 * `/usr/bin/python3` (Debian's python3-uvloop; override with UVLOOP_PYTHON).
 */
import { lock, pingpong, WORKLOADS as CORE } from "./_core_workloads.ts";

/** A workload: `ops` operations per run, or a run that returns its own rate. */
interface Workload {
  run(): Promise<unknown>;
  ops?: number;
}

/** Every workload this table knows, and the Python script that has its peer. */
const SUITES: { script: string; workloads: Record<string, Workload> }[] = [
  { script: "core_peers.py", workloads: CORE },
  {
    script: "sync_peers.py",
    workloads: { pingpong: { run: pingpong }, lock: { run: lock } },
  },
];

const REPEAT = 3;

async function measure(workload: Workload): Promise<number> {
  let best = 0;
  await workload.run(); // warm-up
  for (let i = 0; i < REPEAT; i++) {
    const start = performance.now();
    const rate = await workload.run();
    const seconds = (performance.now() - start) / 1000;
    best = Math.max(
      best,
      typeof rate === "number" ? rate : workload.ops! / seconds,
    );
  }
  return best;
}

interface PeerRow {
  runtime: string;
  workload: string;
  ops_per_s?: number;
}

async function peers(
  python: string,
  script: string,
  names: string[],
): Promise<PeerRow[]> {
  const path = new URL(`./${script}`, import.meta.url).pathname;
  try {
    const output = await new Deno.Command(python, {
      args: [path, ...names, "--repeat", String(REPEAT), "--only-first"],
      stderr: "inherit",
    }).output();
    return new TextDecoder().decode(output.stdout).trim().split("\n")
      .filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
  } catch (error) {
    console.error(`Cannot run ${python}: ${error}`);
    return [];
  }
}

const wanted = Deno.args;
const rows: string[] = [];
for (const { script, workloads } of SUITES) {
  const names = Object.keys(workloads).filter((n) =>
    wanted.length === 0 || wanted.includes(n)
  );
  if (names.length === 0) continue;
  const ours = new Map<string, number>();
  for (const name of names) ours.set(name, await measure(workloads[name]));
  const cpython = await peers(
    Deno.env.get("PYTHON") ?? "python3",
    script,
    names,
  );
  const uvloop = await peers(
    Deno.env.get("UVLOOP_PYTHON") ?? "/usr/bin/python3",
    script,
    names,
  );
  for (const name of names) {
    const asyncio = cpython.find((r) =>
      r.workload === name && r.runtime.startsWith("asyncio")
    );
    const uv = uvloop.find((r) =>
      r.workload === name && r.runtime.startsWith("uvloop")
    );
    const here = ours.get(name)!;
    const fmt = (
      n?: number,
    ) => (n === undefined ? "n/a" : Math.round(n).toLocaleString("en-US"));
    const ratio = (
      peer?: number,
    ) => (peer === undefined ? "n/a" : `${(here / peer).toFixed(1)}×`);
    rows.push(
      `| ${name} | ${fmt(here)} | ${fmt(asyncio?.ops_per_s)} (${
        asyncio?.runtime ?? "?"
      }) | ` +
        `${fmt(uv?.ops_per_s)} | ${ratio(asyncio?.ops_per_s)} | ${
          ratio(uv?.ops_per_s)
        } |`,
    );
  }
}
console.log(
  `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, best of ${REPEAT}\n`,
);
console.log(
  "| workload | this module (ops/s) | CPython asyncio | uvloop | vs asyncio | vs uvloop |",
);
console.log("|---|---:|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
