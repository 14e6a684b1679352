/**
 * Worker processes over one Deno KV file (tests/fixtures/kv_worker.ts),
 * for tests/kv_processes_test.ts and bench/kv_workers.ts: spawn one, read
 * what it prints, stop it by closing its stdin or kill it.
 */
import type { WorkerOptions } from "./fixtures/kv_worker.ts";

const WORKER = new URL("./fixtures/kv_worker.ts", import.meta.url).pathname;

/** A line a worker printed, and when this process read it. */
export interface Line {
  readonly worker: string;
  readonly text: string;
  readonly at: number;
}

/** A running worker process. */
export interface WorkerProcess {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  /** Every line it printed so far. */
  readonly lines: readonly Line[];
  /** The first line (already read or to come) that `match` accepts. */
  waitFor(match: (text: string) => boolean, ms: number): Promise<Line>;
  /** Closes its stdin, so it shuts down; resolves to its exit status. */
  stop(): Promise<Deno.CommandStatus>;
  /** SIGKILLs it; resolves to its exit status. */
  kill(): Promise<Deno.CommandStatus>;
}

async function* linesOf(stream: ReadableStream<Uint8Array>) {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest !== "") yield rest;
}

/**
 * Starts a worker on the database `db`, allowed to read and write `dir`
 * (the database's directory) and nothing else.
 */
export function spawnWorker(
  dir: string,
  db: string,
  name: string,
  options: WorkerOptions = {},
): WorkerProcess {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--unstable-kv",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      WORKER,
      db,
      name,
      JSON.stringify(options),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const reading = (async () => {
    for await (const text of linesOf(child.stdout)) {
      lines.push({ worker: name, text, at: performance.now() });
      for (const wake of waiters) wake();
    }
    ended = true;
    for (const wake of waiters) wake();
  })();
  const writer = child.stdin.getWriter();
  return {
    name,
    child,
    lines,
    async waitFor(match, ms) {
      const deadline = performance.now() + ms;
      for (;;) {
        const line = lines.find((line) => match(line.text));
        if (line !== undefined) return line;
        if (ended) {
          throw new Error(`Worker ${name} ended: ${lines.at(-1)?.text}`);
        }
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`Timed out waiting on worker ${name}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, left);
          function done() {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          }
          waiters.add(done);
        });
      }
    },
    async stop() {
      await writer.close();
      const status = await child.status;
      await reading;
      return status;
    },
    async kill() {
      child.kill("SIGKILL");
      const status = await child.status;
      await writer.abort().catch(() => {});
      await reading;
      return status;
    },
  };
}
