/**
 * The job queue of `job_queue.ts`, scaled out: the same jobs and the same
 * worker (process, then upload through a `Semaphore` of 2), but the queue
 * is a `KvQueue` in a Deno KV database file and the workers are three
 * separate Deno processes. This process starts them, submits the jobs,
 * waits with `join()` until every job is finished or dead-lettered, prints
 * which process handled which job, and stops the workers by closing their
 * stdin.
 *
 * What changes from one process to several:
 * - A failed job is retried (`backoffSchedule`), by whichever process
 *   takes it next, and lands in the dead letters after its last attempt:
 *   job 4 (no input) does.
 * - A job may be delivered twice (a worker dies mid-job, say), so the
 *   result is written with `queue.once(key, ...)`: once, whatever happens.
 * - The upload `Semaphore` is per process: at most 2 uploads in each.
 *
 * Elsewhere, only the `Deno.openKv` argument changes. On Deno Deploy
 * (Classic), `Deno.openKv()` with no argument opens the app's database and
 * the platform delivers the queue to the app's isolates (no worker
 * processes to start there). Pointed at a `denokv` server
 * (`Deno.openKv("http://localhost:4512")`, with `DENO_KV_ACCESS_TOKEN`),
 * `put()`, `join()`, `once()` and the dead letters work, but KV Connect
 * never delivers queue messages (denokv's remote client: "KV Connect does
 * not support queues"), so workers must open the database file itself.
 *
 * Run: `deno task example distributed_jobs`, or from the repository root
 * `deno run --unstable-kv --allow-read=examples/data
 * --allow-write=examples/data --allow-run=deno
 * examples/distributed_jobs.ts`. The database file is created under
 * `examples/data/` and deleted at the end. The workers get only
 * `--allow-read`/`--allow-write` on that directory.
 */
import {
  createSubprocessExec,
  Event,
  getRunningLoop,
  PIPE,
  run,
  Semaphore,
  sleep,
  taskGroup,
} from "../mod.ts";
import { KvQueue } from "../src/kv.ts";
import { type Job, JOBS } from "./job_queue.ts";

const DATA = new URL("./data/", import.meta.url).pathname.replace(/\/$/, "");
const WORKERS = ["w1", "w2", "w3"];
// Two retries, 100 and 200 ms after a failure: three attempts in all. A
// process holds no job beyond the two it runs (prefetch 0), so the six
// jobs spread over the three processes.
const OPTIONS = { backoffSchedule: [100, 200], prefetch: 0 };

/** Which worker process finished each job. */
export interface DistributedReport {
  /** Job id → the name and pid of the process that finished it. */
  readonly handledBy: Record<number, string>;
  /** The jobs in the dead letters, with their last error. */
  readonly dead: { id: number; attempts: number; error?: string }[];
}

/** Options for `main`. */
export interface DistributedOptions {
  /** Where to print: `console.log` by default. */
  readonly print?: (line: string) => void;
  /** The directory for the database file: `examples/data` by default. */
  readonly dir?: string;
}

/**
 * A worker process: takes jobs until its stdin closes, two at a time, at
 * most two uploads at once, as `job_queue.ts`'s `worker`.
 */
async function worker(name: string, path: string): Promise<void> {
  using kv = await Deno.openKv(path);
  const queue = new KvQueue<Job>(kv, OPTIONS);
  const uploads = new Semaphore(2);
  const log = (message: string) => console.log(`${name}: ${message}`);
  getRunningLoop().setExceptionHandler((_loop, { message }) => log(message));
  const stop = (async () => {
    for await (const _ of Deno.stdin.readable) { /* no input expected */ }
    queue.shutdown(); // finish the jobs in hand, take no more
  })();
  log(`ready (pid ${Deno.pid})`);
  await queue.work(async (job, { key, attempt, maxAttempts }) => {
    log(`processing job ${job.id} (attempt ${attempt} of ${maxAttempts})`);
    if (job.size === 0) throw new Error("no input");
    await sleep(job.size * 100);
    if (uploads.locked()) log(`waits for an upload slot`);
    using _ = await uploads.hold();
    await sleep(100);
    // The result, once per job even if the job is delivered again.
    const by = `${name} (pid ${Deno.pid})`;
    await queue.once(key, (op) => op.set(["results", job.id], by));
    log(`finished job ${job.id}`);
  }, { concurrency: 2 });
  await queue.close();
  await stop;
  log("stopped");
}

/**
 * Starts the workers, submits `JOBS`, waits for them all, reports who did
 * what, stops the workers and deletes the database.
 *
 * @param options Where to print, where the database goes.
 * @returns Who finished each job, and the dead letters.
 */
export async function main(
  options: DistributedOptions = {},
): Promise<DistributedReport> {
  const print = options.print ?? console.log;
  const dir = options.dir ?? DATA;
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/jobs-${Deno.pid}.kv`;
  const kv = await Deno.openKv(path);
  try {
    const queue = new KvQueue<Job>(kv, OPTIONS);
    const report: DistributedReport = { handledBy: {}, dead: [] };
    await taskGroup(async (group) => {
      const script = new URL(import.meta.url).pathname;
      const workers = await Promise.all(WORKERS.map(async (name) => {
        const ready = new Event();
        // The workers may read and write the database's directory, no more.
        const proc = await createSubprocessExec("deno", [
          "run",
          "--unstable-kv",
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
          script,
          "worker",
          name,
          path,
        ], { stdin: PIPE, stdout: PIPE });
        // Print what it prints, "[w1] ..."; it is ready when it says so.
        group.createTask(async () => {
          for await (const line of proc.stdout) {
            const text = new TextDecoder().decode(line).trimEnd();
            print(`[${text.replace(": ", "] ")}`);
            if (text.startsWith(`${name}: ready`)) ready.set();
          }
          await proc.wait();
        });
        return { proc, ready };
      }));
      for (const { ready } of workers) await ready.wait();

      for (const job of JOBS) await queue.put(job, { key: `job-${job.id}` });
      print(`submitted ${JOBS.length} jobs to ${WORKERS.length} processes`);
      await queue.join(); // every job finished or dead-lettered, anywhere
      print("all jobs done; stopping the workers");
      for (const { proc } of workers) proc.stdin.close();

      for await (const entry of kv.list<string>({ prefix: ["results"] })) {
        report.handledBy[entry.key[1] as number] = entry.value;
      }
      for await (const letter of queue.deadLetters()) {
        const { item, attempts, error } = letter;
        report.dead.push({ id: item.id, attempts, error });
      }
    });
    for (const job of JOBS) {
      const by = report.handledBy[job.id];
      print(`job ${job.id}: ${by === undefined ? "dead letter" : by}`);
    }
    for (const { id, attempts, error } of report.dead) {
      print(`dead letter: job ${id} after ${attempts} attempts (${error})`);
    }
    return report;
  } finally {
    kv.close();
    for (const suffix of ["", "-wal", "-shm"]) {
      await Deno.remove(path + suffix).catch(() => {});
    }
  }
}

if (import.meta.main) {
  const [mode, name, path] = Deno.args;
  if (mode === "worker") await run(() => worker(name, path));
  else await run(() => main());
}
