/**
 * This module against every peer a user would pick, in one run:
 *
 * ```sh
 * deno task bench:compare [--rounds N] [--quick] [workload...]
 * ```
 *
 * Workloads: spawn, switch, timers, pingpong, lock, sleepers, echo, files
 * (all by default). Implementations: this module and plain promises on
 * Deno, Effection and Effect from npm (`_effection_workloads.ts`,
 * `_effect_workloads.ts`), CPython asyncio (`PYTHON`, default
 * `~/.pyenv/versions/3.13.0/bin/python3`) and uvloop (`UVLOOP_PYTHON`,
 * default `/usr/bin/python3`, Debian's python3-uvloop); for echo, the
 * module's server with `read(n)` and with `readInto`, raw `Deno.Conn`,
 * asyncio and uvloop (`echo.ts`); for files, the module against raw Deno
 * (`files_bench.ts`).
 *
 * Every cell (one workload on one implementation) runs in a fresh
 * process, once to warm up and once measured. Rounds are interleaved:
 * round 1 runs every cell, then round 2, and so on, the implementations'
 * order rotating each round, so that a machine whose speed drifts slows
 * every implementation alike. Each cell's figure is the median over the
 * rounds with the min–max; ratios are taken round by round, then their
 * median and min–max. The Markdown goes to stdout and to
 * `bench/RESULTS.md`; progress goes to stderr.
 *
 * `--quick` divides every size by 10 (echo: 0.5 s per cell) to smoke-test
 * the command; its figures are not for publishing, and neither are those
 * of fewer than 5 rounds or of a subset of the workloads.
 */
import { CUT, IMPLEMENTATIONS, SIZES, type Workload } from "./compare_cell.ts";
import { CASES as FILE_CASES } from "./files_bench.ts";
import { cpus } from "node:os";

const EFFECTION = "4.1.1";
const EFFECT = "4.1.0";
const MIN_ROUNDS = 5;
const TIMERS_FLOOR_S = 0.1;

// --- arguments ---

const CORE: Workload[] = [
  "spawn",
  "switch",
  "timers",
  "pingpong",
  "lock",
  "sleepers",
];
const ALL = [...CORE, "echo", "files"];

function parseArgs(args: string[]) {
  let rounds = MIN_ROUNDS;
  let quick = false;
  const workloads: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick") {
      quick = true;
    } else if (arg === "--rounds") {
      rounds = Number(args[++i]);
      if (!Number.isSafeInteger(rounds) || rounds < 1) {
        throw new RangeError(
          `Cannot run: --rounds must be a positive integer, got ${args[i]}`,
        );
      }
    } else if (ALL.includes(arg)) {
      if (!workloads.includes(arg)) workloads.push(arg);
    } else {
      throw new TypeError(
        `Cannot run: unknown argument: ${arg} (workloads: ${ALL.join(", ")})`,
      );
    }
  }
  const chosen = workloads.length === 0
    ? ALL
    : ALL.filter((w) => workloads.includes(w));
  return { rounds, quick, workloads: chosen };
}

let options: ReturnType<typeof parseArgs>;
try {
  options = parseArgs(Deno.args);
} catch (error) {
  // A mistyped argument deserves its message, not a stack trace.
  console.error((error as Error).message);
  Deno.exit(2);
}
const root = new URL("..", import.meta.url).pathname;
const bench = new URL(".", import.meta.url).pathname;
const python = Deno.env.get("PYTHON") ??
  `${Deno.env.get("HOME")}/.pyenv/versions/3.13.0/bin/python3`;
const uvloopPython = Deno.env.get("UVLOOP_PYTHON") ?? "/usr/bin/python3";

// --- cells ---

type Impl = "module" | "plain" | "effection" | "effect" | "asyncio" | "uvloop";
const IMPLS: Impl[] = [
  "module",
  "plain",
  "effection",
  "effect",
  "asyncio",
  "uvloop",
];
const LABELS: Record<string, string> = {
  module: "this module",
  plain: "plain promises",
  effection: "Effection",
  effect: "Effect",
  asyncio: "CPython asyncio",
  uvloop: "uvloop",
  read: "`startServer`, `read(n)`",
  readinto: "`startServer`, `readInto`",
  raw: "raw `Deno.Conn`",
};
const ECHO_SERVERS = ["read", "readinto", "raw", "asyncio", "uvloop"];
const ECHO_SIZES = [1024, 65536];

interface Cell {
  /** Where its figures go: `spawn/module`, `echo-1024/raw`, `files/copy-raw`. */
  readonly key: string;
  readonly command: string;
  readonly args: string[];
  readonly env?: Record<string, string>;
}

const quickArg = options.quick ? ["--quick"] : [];

function coreCell(workload: Workload, impl: Impl): Cell | undefined {
  const key = `${workload}/${impl}`;
  if (impl === "asyncio" || impl === "uvloop") {
    return {
      key,
      command: impl === "asyncio" ? python : uvloopPython,
      args: [`${bench}compare_cell.py`, impl, workload, ...quickArg],
    };
  }
  const workloads = IMPLEMENTATIONS[impl] as Record<string, unknown>;
  if (workload === "lock" && workloads.lock === undefined) return undefined;
  return {
    key,
    command: "deno",
    args: [
      "run",
      "--quiet",
      "--v8-flags=--expose-gc",
      `${bench}compare_cell.ts`,
      impl,
      workload,
      ...quickArg,
    ],
  };
}

function echoCell(size: number, server: string): Cell {
  return {
    key: `echo-${size}/${server}`,
    command: "deno",
    args: [
      "run",
      "--quiet",
      "--allow-net=127.0.0.1",
      `--allow-run=deno,${python},${uvloopPython}`,
      "--allow-env=PYTHON,UVLOOP_PYTHON,ECHO_SECONDS",
      `${bench}echo.ts`,
      "cell",
      server,
      String(size),
      ...quickArg,
    ],
    env: { PYTHON: python, UVLOOP_PYTHON: uvloopPython },
  };
}

function filesCell(dir: string, name: string): Cell {
  return {
    key: `files/${name}`,
    command: "deno",
    args: [
      "run",
      "--quiet",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      `${bench}files_bench.ts`,
      "cell",
      name,
      dir,
      ...quickArg,
    ],
  };
}

/** `xs` rotated left by `by`. */
function rotate<T>(xs: T[], by: number): T[] {
  const k = by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/** The cells of one round, the order of each group rotated by `round`. */
function roundCells(round: number, filesDir: string): Cell[] {
  const cells: Cell[] = [];
  for (const workload of options.workloads) {
    if ((CORE as string[]).includes(workload)) {
      for (const impl of rotate(IMPLS, round)) {
        const cell = coreCell(workload as Workload, impl);
        if (cell !== undefined) cells.push(cell);
      }
    } else if (workload === "echo") {
      for (const size of ECHO_SIZES) {
        for (const server of rotate(ECHO_SERVERS, round)) {
          cells.push(echoCell(size, server));
        }
      }
    } else {
      for (const name of rotate(Object.keys(FILE_CASES), round)) {
        cells.push(filesCell(filesDir, name));
      }
    }
  }
  return cells;
}

/** What every cell measured, round by round (`undefined`: it failed). */
const values = new Map<string, (number | undefined)[]>();
const versions = new Map<string, string>();
const errors = new Map<string, string>();

function record(key: string, round: number, value: number | undefined) {
  if (!values.has(key)) values.set(key, []);
  values.get(key)![round] = value;
}

async function runCell(cell: Cell, round: number): Promise<void> {
  const started = performance.now();
  let results: Record<string, number | string>[] = [];
  try {
    const output = await new Deno.Command(cell.command, {
      args: cell.args,
      cwd: root,
      env: cell.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr).trim();
    if (!output.success) {
      throw new Error(
        `exit code ${output.code}: ${stderr.split("\n").slice(-3).join(" ")}`,
      );
    }
    results = new TextDecoder().decode(output.stdout).trim().split("\n")
      .filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!errors.has(cell.key)) errors.set(cell.key, message);
    console.error(`   ${cell.key}: failed: ${message}`);
  }
  const figures: Record<string, number> = {};
  for (const result of results) {
    for (const [name, value] of Object.entries(result)) {
      if (name === "version") versions.set(cell.key, String(value));
      else figures[name] = Number(value);
    }
  }
  if ("value" in figures) {
    record(cell.key, round, figures.value);
  } else if ("heap" in figures) {
    record(`${cell.key}/heap`, round, figures.heap);
    record(`${cell.key}/rss`, round, figures.rss);
  } else {
    record(cell.key, round, undefined);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const shown = Object.entries(figures).map(([k, v]) => `${k} ${fmt(v)}`);
  console.error(`   ${cell.key}: ${shown.join(", ") || "—"} (${seconds} s)`);
}

// --- statistics and formatting ---

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function fmt(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e4) return `${Math.round(x / 1e3)} k`;
  if (x >= 100) return Math.round(x).toLocaleString("en-US");
  return x.toFixed(1);
}

function defined(xs: (number | undefined)[] | undefined): number[] {
  return (xs ?? []).filter((x): x is number => x !== undefined);
}

/** `median (min–max)` of a cell, or why there is none. */
function spread(key: string, na?: string): string {
  if (na !== undefined) return na;
  const xs = defined(values.get(key));
  if (xs.length === 0) return errors.has(key) ? "failed ³" : "—";
  if (xs.length === 1) return fmt(xs[0]);
  return `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
}

/** Round-by-round `a ÷ b`, as `median× (min–max)`. */
function ratio(a: string, b: string): string {
  const xs = values.get(a) ?? [];
  const ys = values.get(b) ?? [];
  const rs: number[] = [];
  for (let r = 0; r < Math.max(xs.length, ys.length); r++) {
    const x = xs[r];
    const y = ys[r];
    if (x !== undefined && y !== undefined && y !== 0) rs.push(x / y);
  }
  if (rs.length === 0) return "n/a";
  const f = (x: number) => x.toFixed(x >= 10 ? 1 : 2);
  if (rs.length === 1) return `${f(rs[0])}×`;
  return `${f(median(rs))}× (${f(Math.min(...rs))}–${f(Math.max(...rs))})`;
}

// --- the machine ---

/** The CPU model (from /proc/cpuinfo; Deno reads /proc only through node:os). */
function cpuModel(): string {
  return cpus()[0]?.model ?? "unknown";
}

function load(): string {
  const [one, five, fifteen] = Deno.loadavg();
  return `${one.toFixed(2)} / ${five.toFixed(2)} / ${fifteen.toFixed(2)}`;
}

// --- the run ---

const startedAt = new Date();
const loadBefore = load();
const started = performance.now();
let filesDir = "";
try {
  if (options.workloads.includes("files")) {
    const tmp = `${bench}.tmp`;
    await Deno.mkdir(tmp, { recursive: true });
    filesDir = await Deno.makeTempDir({ dir: tmp, prefix: "compare-" });
    const prepared = await new Deno.Command("deno", {
      args: [
        "run",
        "--quiet",
        `--allow-read=${filesDir}`,
        `--allow-write=${filesDir}`,
        `${bench}files_bench.ts`,
        "prepare",
        filesDir,
        ...quickArg,
      ],
      cwd: root,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!prepared.success) throw new Error("Cannot prepare the file cases");
  }
  console.error(
    `== ${options.rounds} interleaved rounds${
      options.quick ? " (QUICK)" : ""
    }: ${options.workloads.join(", ")}; load average ${loadBefore}`,
  );
  for (let round = 0; round < options.rounds; round++) {
    console.error(`-- round ${round + 1} of ${options.rounds}`);
    for (const cell of roundCells(round, filesDir)) await runCell(cell, round);
  }
} finally {
  if (filesDir !== "") await Deno.remove(filesDir, { recursive: true });
}
const loadAfter = load();
const minutes = (performance.now() - started) / 60_000;
console.error(
  `== done in ${minutes.toFixed(1)} min; load average ${loadAfter}`,
);

// --- the report ---

const sizes = SIZES[options.quick ? "quick" : "full"];
/** Sizes cut further for one implementation (see compare_cell.ts). */
const cut = (impl: string, workload: Workload): number =>
  CUT[impl]?.[workload] ?? 1;
const cutMark = (impl: string, workload: string): string =>
  cut(impl, workload as Workload) > 1 ? " ⁵" : "";

// Timers past their floor: the same run, less the 100 ms that the longest
// random delay takes whatever the implementation.
for (const impl of IMPLS) {
  const xs = values.get(`timers/${impl}`);
  if (xs === undefined) continue;
  const n = sizes.timers / cut(impl, "timers");
  values.set(
    `timers-floor/${impl}`,
    xs.map((x) => {
      if (x === undefined) return undefined;
      const past = n / x - TIMERS_FLOOR_S;
      return past > 0 ? n / past : undefined;
    }),
  );
}

const rounds = (n: number) => `${n} round${n === 1 ? "" : "s"}`;

/** Footnotes by number, printed in order. */
const notes = new Map<number, string>();
const SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const flags: string[] = [];
if (options.quick) {
  flags.push("**QUICK run (sizes ÷ 10): a smoke test, not publishable.**");
}
if (options.rounds < MIN_ROUNDS) {
  flags.push(
    `**${rounds(options.rounds)}, fewer than ${MIN_ROUNDS}: not publishable.**`,
  );
}
if (options.workloads.length < ALL.length) {
  flags.push(
    `**Only ${options.workloads.join(", ")}: a partial run, not publishable.**`,
  );
}

const pythonVersion = [...versions].find(([k]) => k.endsWith("/asyncio"))
  ?.[1] ?? `(${python} did not run)`;
const uvloopVersion = [...versions].find(([k]) => k.endsWith("/uvloop"))
  ?.[1] ?? `(${uvloopPython} did not run)`;
const memory = Deno.systemMemoryInfo().total / 2 ** 30;

const out: string[] = [];
const line = (s = "") => out.push(s);
line("# Benchmark results");
line();
line(
  "Generated by `deno task bench:compare" +
    (Deno.args.length > 0 ? ` ${Deno.args.join(" ")}` : "") +
    "` ([compare.ts](compare.ts)); do not edit by hand, rerun it.",
);
line();
for (const flag of flags) line(flag + "\n");
line(`- Date: ${startedAt.toISOString().replace(/\.\d+Z$/, "Z")}`);
line(
  `- Machine: ${cpuModel()}, ${navigator.hardwareConcurrency} cores, ${
    memory.toFixed(1)
  } GiB memory`,
);
line(
  `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); ${pythonVersion}; ${uvloopVersion}; npm: effection@${EFFECTION}, effect@${EFFECT}`,
);
line(
  `- Load average (1 / 5 / 15 min): ${loadBefore} before, ${loadAfter} after`,
);
line(
  `- ${rounds(options.rounds)}, interleaved, ${
    minutes.toFixed(1)
  } minutes in all; every cell in a fresh process, warmed up then measured once per round`,
);
line();
line(
  "Each figure is the median over the rounds, with the min–max in brackets. " +
    "Ratios are taken round by round (both figures from the same round), " +
    "then their median and min–max; above 1× the module is ahead. The " +
    "machine's speed drifts: trust a ratio only as far as its range.",
);

const has = (w: string) => options.workloads.includes(w);
const rateRows = CORE.filter((w) => w !== "sleepers" && has(w));
if (rateRows.length > 0) {
  const descriptions: Record<string, string> = {
    spawn: `spawn: create ${sizes.spawn.toLocaleString("en-US")} tasks, ` +
      "then await each",
    switch: `switch: one task yielding ${
      sizes.switch.toLocaleString("en-US")
    } times (\`sleep(0)\`) ¹`,
    timers: `timers: ${
      sizes.timers.toLocaleString("en-US")
    } timers, random delays ≤ 100 ms ²`,
    "timers-floor": "timers past their 100 ms floor ²",
    pingpong: `pingpong: ${
      sizes.pingpong.toLocaleString("en-US")
    } round trips through two queues of 1 ⁹`,
    lock: `lock: 100 tasks × ${
      sizes.lock.toLocaleString("en-US")
    } acquisitions, a yield inside ¹`,
  };
  const rows = rateRows.flatMap((w) =>
    w === "timers" ? ["timers", "timers-floor"] : [w]
  );
  const na = (workload: string, impl: string) =>
    impl === "effection" && workload === "lock" ? "n/a ⁴" : undefined;
  line();
  line("## Core workloads (operations per second, higher is better)");
  line();
  line(`| workload | ${IMPLS.map((i) => LABELS[i]).join(" | ")} |`);
  line(`| --- |${" ---: |".repeat(IMPLS.length)}`);
  for (const row of rows) {
    line(
      `| ${descriptions[row]} | ${
        IMPLS.map((i) =>
          spread(`${row}/${i}`, na(row, i)) +
          cutMark(i, row === "timers-floor" ? "timers" : row)
        ).join(" | ")
      } |`,
    );
  }
  const peers = IMPLS.filter((i) => i !== "module");
  line();
  line("This module ÷ each peer, round by round:");
  line();
  line(`| workload | ${peers.map((i) => `÷ ${LABELS[i]}`).join(" | ")} |`);
  line(`| --- |${" ---: |".repeat(peers.length)}`);
  for (const row of rows) {
    line(
      `| ${row === "timers-floor" ? "timers past 100 ms" : row} | ${
        peers.map((i) => na(row, i) ?? ratio(`${row}/module`, `${row}/${i}`))
          .join(" | ")
      } |`,
    );
  }
  notes.set(
    1,
    "The yield: `sleep(0)` in this module, `asyncio.sleep(0)` in Python, " +
      "`Effect.yieldNow` in Effect — each lets other tasks, timers and I/O " +
      "in. Plain promises' `await null` and Effection's " +
      "`until(Promise.resolve())` are microtask hops that never let a timer " +
      "or I/O in; Effection has no other yield (its `sleep(0)` is a " +
      "`setTimeout(0)`, about 2.4 ms in Deno).",
  );
  notes.set(
    2,
    "The module and Python schedule callbacks (`callLater`, `call_later`), " +
      "plain promises `setTimeout`; Effection and Effect have no timer " +
      "callback, so each timer is a task (fiber) in `sleep`, and their " +
      "figures include starting it. The longest delay takes 100 ms whatever " +
      "the implementation; the second row divides by the time past it.",
  );
  if (has("pingpong")) {
    notes.set(
      9,
      "Queues: `Queue(1)` in this module, `asyncio.Queue(1)`, " +
        "`Queue.bounded(1)` in Effect, a mailbox in plain promises; " +
        "Effection has no bounded queue, so each direction is a " +
        "`createQueue()`, which holds one value at most here as the two " +
        "tasks take turns.",
    );
  }
  if (has("lock")) {
    notes.set(
      4,
      "Effection 4 has no lock or semaphore; a lock built on its queue " +
        "would measure our code, not the library.",
    );
  }
  if (has("spawn") || has("timers") || has("sleepers")) {
    notes.set(
      5,
      "Effection starts about 4,000 tasks per second here (flat from " +
        "2,000 to 40,000 tasks, measured), so its spawn, timers and sleepers " +
        "cells run a tenth of the size (spawn and timers " +
        `${(sizes.spawn / 10).toLocaleString("en-US")}, sleepers ` +
        `${(sizes.sleepers / 10).toLocaleString("en-US")}); at full size ` +
        "they alone would take longer than the rest of the run.",
    );
  }
}

if (has("sleepers")) {
  line();
  line(
    `## Memory: ${
      sizes.sleepers.toLocaleString("en-US")
    } sleeping tasks (bytes per task, lower is better)`,
  );
  line();
  line(`| measure | ${IMPLS.map((i) => LABELS[i]).join(" | ")} |`);
  line(`| --- |${" ---: |".repeat(IMPLS.length)}`);
  for (const what of ["heap", "rss"]) {
    line(
      `| ${what === "heap" ? "heap ⁶" : "RSS ⁶"} | ${
        IMPLS.map((i) =>
          spread(`sleepers/${i}/${what}`) + cutMark(i, "sleepers")
        ).join(" | ")
      } |`,
    );
  }
  const peers = IMPLS.filter((i) => i !== "module");
  line();
  line("Each peer ÷ this module (above 1×, the module uses less):");
  line();
  line(`| measure | ${peers.map((i) => LABELS[i]).join(" | ")} |`);
  line(`| --- |${" ---: |".repeat(peers.length)}`);
  for (const what of ["heap", "rss"]) {
    line(
      `| ${what} | ${
        peers.map((i) =>
          ratio(`sleepers/${i}/${what}`, `sleepers/module/${what}`)
        ).join(" | ")
      } |`,
    );
  }
  notes.set(
    6,
    "Each task sleeps 60 s (`sleep(60_000)`, `asyncio.sleep(60)`, " +
      "Effection's `sleep`, `Effect.sleep`; plain promises: a `setTimeout` " +
      "promise with its timer id and resolver). Measured once per round, " +
      "without a warm-up (a warm-up would leave memory resident). **heap**: " +
      "on Deno, V8's heap in use after a full collection, with the tasks " +
      "sleeping, less the same before they start; in Python, the bytes " +
      "Python's allocators hand out (`tracemalloc`'s traced memory, after " +
      "`gc.collect()`) for a second batch of tasks, started while the " +
      "first sleeps. **RSS**: the growth of the process's resident set over " +
      "the same span (Deno: `Deno.memoryUsage().rss`; Python: " +
      "`/proc/self/statm`, the first batch, before tracemalloc starts), " +
      "which adds what the allocator keeps and the runtime's own memory " +
      "(Deno's timers, Python's loop).",
  );
}

if (has("echo")) {
  line();
  line(
    "## Echo over loopback (messages per second, 50 clients, higher is better) ⁷",
  );
  line();
  line(`| message | ${ECHO_SERVERS.map((s) => LABELS[s]).join(" | ")} |`);
  line(`| --- |${" ---: |".repeat(ECHO_SERVERS.length)}`);
  for (const size of ECHO_SIZES) {
    line(
      `| ${size / 1024} KiB | ${
        ECHO_SERVERS.map((s) => spread(`echo-${size}/${s}`)).join(" | ")
      } |`,
    );
  }
  line();
  line("The module's servers ÷ each other server, round by round:");
  line();
  const others = ["raw", "asyncio", "uvloop"];
  line(
    `| message | ${
      ["read", "readinto"].flatMap((m) =>
        others.map((o) => `${m === "read" ? "read(n)" : "readInto"} ÷ ${o}`)
      ).join(" | ")
    } |`,
  );
  line(`| --- |${" ---: |".repeat(6)}`);
  for (const size of ECHO_SIZES) {
    line(
      `| ${size / 1024} KiB | ${
        ["read", "readinto"].flatMap((m) =>
          others.map((o) => ratio(`echo-${size}/${m}`, `echo-${size}/${o}`))
        ).join(" | ")
      } |`,
    );
  }
  notes.set(
    7,
    "Echo: each cell starts one server process and a client process that " +
      "opens 50 connections; each sends a message and reads the echo back, " +
      `over and over, ${
        options.quick ? "0.2 s to warm up, then 0.5 s" : "0.5 s to warm up, " +
          "then 2 s"
      } measured. The client shares the cores, so server CPU per message ` +
      "decides. Effection and Effect: n/a — neither has sockets of its own " +
      "on Deno; an echo server in either would be the raw `Deno.Conn` loop " +
      "wrapped in their operations, a measure of our wrapper. Plain " +
      "promises are the raw `Deno.Conn` column.",
  );
}

if (has("files")) {
  const rows: [string, string, string][] = [
    [
      "copy, `readInto(buffer)` + `write` + `drain` vs raw `read`/`write` (MiB/s)",
      "copy-readinto",
      "copy-raw",
    ],
    [
      "copy, `read(n)` + `write` + `drain` vs raw (MiB/s)",
      "copy-read",
      "copy-raw",
    ],
    [
      "small files, `gather(readFile)` vs `Promise.all(Deno.readFile)` (files/s)",
      "readfile-module",
      "readfile-raw",
    ],
    [
      "the same vs `Deno.readFile` with an abort signal (files/s)",
      "readfile-module",
      "readfile-signal",
    ],
    [
      "small files, `openReader(p).read()` vs `Deno.open` + read loop (files/s)",
      "open-module",
      "open-raw",
    ],
  ];
  const big = (options.quick ? 32 : 256).toLocaleString("en-US");
  const count = (options.quick ? 200 : 2000).toLocaleString("en-US");
  line();
  line(
    `## Files (copy ${big} MiB in 256 KiB chunks; read ${count} files of 4 KiB concurrently) ⁸`,
  );
  line();
  line("| case | this module | raw Deno | module ÷ raw |");
  line("| --- | ---: | ---: | ---: |");
  for (const [what, ours, raw] of rows) {
    line(
      `| ${what} | ${spread(`files/${ours}`)} | ${spread(`files/${raw}`)} | ${
        ratio(`files/${ours}`, `files/${raw}`)
      } |`,
    );
  }
  notes.set(
    8,
    "Files: the module against the raw Deno loop doing the same work " +
      "([files_bench.ts](files_bench.ts)). The Python peers have no file " +
      "API in asyncio (it hands files to threads), and Effection and Effect " +
      "none on Deno: n/a.",
  );
}

if (errors.size > 0) {
  notes.set(
    3,
    "Failed cells (first error each): " +
      [...errors].map(([k, e]) => `\`${k}\`: ${e}`).join("; "),
  );
}

line();
line("## Notes");
line();
for (const n of [...notes.keys()].sort((a, b) => a - b)) {
  line(`- ${SUPERSCRIPTS[n]} ${notes.get(n)}`);
}
line();
line(
  "Scripts: [compare.ts](compare.ts) (this table), " +
    "[compare_cell.ts](compare_cell.ts) and " +
    "[compare_cell.py](compare_cell.py) (one cell), " +
    "[_core_workloads.ts](_core_workloads.ts) (this module), " +
    "[_plain_workloads.ts](_plain_workloads.ts), " +
    "[_effection_workloads.ts](_effection_workloads.ts), " +
    "[_effect_workloads.ts](_effect_workloads.ts), " +
    "[echo.ts](echo.ts) with [echo_peers.py](echo_peers.py), " +
    "[files_bench.ts](files_bench.ts). What limits each figure: " +
    "[README.md](README.md).",
);

// Written, then laid out by `deno fmt` (so that the repository's format
// check passes and the tables line up as plain text), then printed.
const results = `${bench}RESULTS.md`;
await Deno.writeTextFile(results, out.join("\n") + "\n");
await new Deno.Command("deno", {
  args: ["fmt", "--quiet", results],
  cwd: root,
  stdout: "inherit",
  stderr: "inherit",
}).output();
console.log(await Deno.readTextFile(results));
