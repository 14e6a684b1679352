/**
 * The core workloads on Deno, Node and Bun in one run, each beside the
 * same workload written with plain promises on that runtime:
 * `deno task bench:runtimes [--rounds N] [workload...]`.
 *
 * Rounds are interleaved — every round runs `_runtime_round.ts` once per
 * runtime and side (the module's, then plain promises', or the other way
 * round), each in a fresh process, the order rotating — so that a machine
 * whose speed drifts slows every runtime alike. A side runs alone in its
 * process because on Node 20 the module's AsyncLocalStorage slows every
 * promise in the process. The table gives, per
 * runtime, the median over the rounds and the range, and ratios computed
 * round by round (the module against plain promises on the same runtime,
 * and each runtime against Deno) with their median and range. Node and
 * Bun get the tree `tests/runtimes/run.ts` prepares for their tests.
 */
import { loadavg } from "node:os";
import { prepare, type Runtime } from "../tests/runtimes/run.ts";

type Name = "deno" | Runtime;

interface Row {
  workload: string;
  variant: "ours" | "plain";
  value: number;
  unit: string;
}

const args = [...Deno.args];
let rounds = 5;
const at = args.indexOf("--rounds");
if (at >= 0) {
  rounds = Number(args[at + 1]);
  args.splice(at, 2);
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    throw new RangeError(`Cannot run: --rounds must be a positive integer`);
  }
}

const here = new URL(".", import.meta.url);
const dirs: string[] = [];
const commands = new Map<
  Name,
  { program: string; args: string[]; cwd?: string }
>([
  ["deno", {
    program: Deno.execPath(),
    args: [
      "run",
      "--v8-flags=--expose-gc",
      new URL("_runtime_round.ts", here).pathname,
    ],
  }],
]);
const versions = new Map<Name, string>([["deno", `Deno ${Deno.version.deno}`]]);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function runRound(name: Name, variant: string): Promise<Row[]> {
  const { program, args: base, cwd } = commands.get(name)!;
  const output = await new Deno.Command(program, {
    args: [...base, "--variant", variant, ...args],
    cwd,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) {
    throw new Error(`Cannot run a round on ${name}: exit code ${output.code}`);
  }
  return new TextDecoder().decode(output.stdout).trim().split("\n")
    .filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
}

const names: Name[] = ["deno", "node", "node24", "bun"];
try {
  for (const runtime of ["node", "node24", "bun"] as const) {
    const dir = await Deno.makeTempDir({ prefix: "aio_bench_" });
    dirs.push(dir);
    const { program, version } = await prepare(runtime, dir);
    versions.set(runtime, version);
    commands.set(
      runtime,
      runtime !== "bun"
        ? {
          program,
          args: ["--expose-gc", "bench/_runtime_round.js"],
          cwd: dir,
        }
        : { program, args: ["bench/_runtime_round.ts"], cwd: dir },
    );
  }
  const [load1, load5] = loadavg();
  console.error(
    `== ${rounds} interleaved rounds; load average ${
      load1.toFixed(2)
    } (1 min), ${load5.toFixed(2)} (5 min)`,
  );
  // values[name][workload][variant][round]
  const values = new Map<string, number[]>();
  const units = new Map<string, string>();
  const workloads: string[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      const variants = round % 2 ? ["plain", "ours"] : ["ours", "plain"];
      console.error(`-- round ${round + 1}: ${versions.get(name)}`);
      const rows = [];
      for (const variant of variants) {
        rows.push(...await runRound(name, variant));
      }
      for (const row of rows) {
        const key = `${name}/${row.workload}/${row.variant}`;
        if (!values.has(key)) values.set(key, []);
        values.get(key)!.push(row.value);
        units.set(row.workload, row.unit);
        if (!workloads.includes(row.workload)) workloads.push(row.workload);
      }
    }
  }
  const [end1] = loadavg();
  console.error(`== load average at the end ${end1.toFixed(2)} (1 min)`);

  const get = (name: Name, workload: string, variant: string) =>
    values.get(`${name}/${workload}/${variant}`) ?? [];
  const fmt = (value: number, unit: string) =>
    unit === "ops/s"
      ? Math.round(value).toLocaleString("en-US")
      : value.toFixed(0);
  const range = (xs: number[], unit: string) =>
    `${fmt(median(xs), unit)} (${fmt(Math.min(...xs), unit)}–${
      fmt(Math.max(...xs), unit)
    })`;
  const ratios = (a: number[], b: number[]) => {
    const r = a.map((x, i) => x / b[i]);
    return `${median(r).toFixed(2)}× (${Math.min(...r).toFixed(2)}–${
      Math.max(...r).toFixed(2)
    })`;
  };
  console.log(
    "| workload | runtime | this module | plain promises | module ÷ plain | module vs Deno |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | ---: |");
  for (const workload of workloads) {
    const unit = units.get(workload)!;
    for (const name of names) {
      const ours = get(name, workload, "ours");
      const plain = get(name, workload, "plain");
      const vsDeno = name === "deno"
        ? "1"
        : ratios(ours, get("deno", workload, "ours"));
      console.log(
        `| ${workload} (${unit}) | ${versions.get(name)} | ${
          range(ours, unit)
        } | ${range(plain, unit)} | ${ratios(ours, plain)} | ${vsDeno} |`,
      );
    }
  }
} finally {
  for (const dir of dirs) {
    await Deno.remove(dir, { recursive: true });
  }
}
