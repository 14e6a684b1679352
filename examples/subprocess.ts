/**
 * Running several commands concurrently and streaming their output as it
 * arrives, each line prefixed with the command's name; one command that
 * runs too long is stopped by a deadline (`timeout`) and killed.
 *
 * The Python it mirrors:
 *
 * ```python
 * async def stream(name, *cmd):
 *     proc = await asyncio.create_subprocess_exec(*cmd, stdout=PIPE)
 *     try:
 *         async for line in proc.stdout:
 *             print(f"[{name}] {line.decode().rstrip()}")
 *         return await proc.wait()
 *     finally:
 *         if proc.returncode is None:
 *             proc.kill()
 *             await proc.wait()
 *
 * async def main():
 *     async with asyncio.TaskGroup() as tg:
 *         for name, code in JOBS:
 *             tg.create_task(stream(name, "deno", "eval", code))
 * ```
 *
 * Run: `deno task example subprocess`, or
 * `deno run --allow-run=deno examples/subprocess.ts`. The children are
 * small `deno eval` scripts, so nothing but Deno is needed.
 */
import {
  createSubprocessExec,
  PIPE,
  run,
  taskGroup,
  timeout,
  TimeoutError,
} from "../mod.ts";

/** A command: a name and a `deno eval` script. */
export interface Job {
  readonly name: string;
  readonly code: string;
  /** A deadline in milliseconds, if any. */
  readonly deadline?: number;
}

const ticker = (label: string, count: number, ms: number) =>
  `for (let i = 1; i <= ${count}; i++) {` +
  ` console.log("${label} " + i);` +
  ` await new Promise((r) => setTimeout(r, ${ms})); }`;

export const JOBS: readonly Job[] = [
  { name: "fast", code: ticker("tick", 3, 30) },
  { name: "slow", code: ticker("tock", 2, 80) },
  {
    name: "fails",
    code: 'console.log("about to fail"); console.error("boom"); Deno.exit(3);',
  },
  { name: "stuck", code: ticker("forever", 1000, 50), deadline: 1500 },
];

/**
 * Runs one job, printing its stdout line by line; kills it if its
 * deadline passes.
 *
 * @returns Its exit status, or `"timed out"`.
 */
export async function stream(
  job: Job,
  print: (line: string) => void,
): Promise<number | "timed out"> {
  const proc = await createSubprocessExec(
    "deno",
    ["eval", "--quiet", job.code],
    { stdout: PIPE },
  );
  try {
    return await timeout(job.deadline ?? null, async () => {
      for await (const line of proc.stdout) {
        print(`[${job.name}] ${new TextDecoder().decode(line).trimEnd()}`);
      }
      return await proc.wait();
    });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    return "timed out";
  } finally {
    if (proc.returncode === null) {
      proc.kill();
      await proc.wait();
    }
  }
}

/**
 * Runs every job at once.
 *
 * @param print Where the lines go: `console.log` by default.
 * @returns Each job's outcome, by name.
 */
export async function main(
  print: (line: string) => void = console.log,
): Promise<Record<string, number | "timed out">> {
  const outcomes: Record<string, number | "timed out"> = {};
  await taskGroup((tg) => {
    for (const job of JOBS) {
      tg.createTask(async () => {
        outcomes[job.name] = await stream(job, print);
        print(`[${job.name}] -> ${outcomes[job.name]}`);
      });
    }
  });
  return outcomes;
}

if (import.meta.main) await run(() => main());
