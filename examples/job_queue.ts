/**
 * A job queue: a producer submits jobs to a bounded `Queue`, a pool of
 * workers processes them, and a `Semaphore` lets at most two of them use
 * the (simulated) upload service at once. When every job is done the
 * queue is shut down and the workers' `for await` loops end — a clean
 * shutdown with no task left behind.
 *
 * The Python it mirrors:
 *
 * ```python
 * async def worker(name, jobs, uploads):
 *     while True:
 *         try:
 *             job = await jobs.get()
 *         except asyncio.QueueShutDown:
 *             break
 *         try:
 *             await asyncio.sleep(job.size * 0.1)   # process
 *             async with uploads:                    # at most 2 uploads
 *                 await asyncio.sleep(0.1)
 *         finally:
 *             jobs.task_done()
 *
 * async def main():
 *     jobs = asyncio.Queue(maxsize=2)
 *     uploads = asyncio.Semaphore(2)
 *     workers = [asyncio.create_task(worker(n, jobs, uploads)) for n in names]
 *     for job in JOBS:
 *         await jobs.put(job)          # waits while 2 jobs are pending
 *     await jobs.join()
 *     jobs.shutdown()
 *     await asyncio.gather(*workers)
 * ```
 *
 * Run: `deno run examples/job_queue.ts` (no permissions needed). Work is
 * simulated with `sleep`; the whole run takes about a second.
 */
import {
  createTask,
  getRunningLoop,
  Queue,
  run,
  Semaphore,
  sleep,
} from "../mod.ts";

/** A unit of work: `size` tenths of a second of processing. */
export interface Job {
  readonly id: number;
  readonly size: number;
}

/** The jobs `main` submits; job 4 has no input and fails. */
export const JOBS: readonly Job[] = [
  { id: 1, size: 2 },
  { id: 2, size: 2 },
  { id: 3, size: 2 },
  { id: 4, size: 0 },
  { id: 5, size: 1 },
  { id: 6, size: 3 },
];

/** Logs `message` with the milliseconds since `start`, on the loop's clock. */
function logger(): (message: string) => void {
  const loop = getRunningLoop();
  const start = loop.time();
  return (message) => {
    const ms = String(Math.round(loop.time() - start)).padStart(4);
    console.log(`${ms} ms  ${message}`);
  };
}

/**
 * Takes jobs until the queue is shut down. Every job taken is marked done,
 * whether it succeeded or failed, so that `join()` can return.
 */
export async function worker(
  name: string,
  jobs: Queue<Job>,
  uploads: Semaphore,
  log: (message: string) => void,
): Promise<void> {
  for await (const job of jobs) {
    try {
      log(`${name} processing job ${job.id}`);
      if (job.size === 0) throw new Error("no input");
      await sleep(job.size * 100);
      if (uploads.locked()) log(`${name} waits for an upload slot`);
      using _ = await uploads.hold(); // async with uploads:
      log(`${name} uploading job ${job.id}`);
      await sleep(100);
      log(`${name} finished job ${job.id}`);
    } catch (error) {
      log(`${name} failed job ${job.id}: ${(error as Error).message}`);
    } finally {
      jobs.taskDone();
    }
  }
  log(`${name} stopped`);
}

/** Submits `JOBS` to three workers, waits for them all, shuts down. */
export async function main(): Promise<void> {
  const log = logger();
  const jobs = new Queue<Job>(2); // backpressure: at most 2 jobs pending
  const uploads = new Semaphore(2); // the upload service takes 2 at a time
  const workers = ["w1", "w2", "w3"].map((name) =>
    createTask(() => worker(name, jobs, uploads, log), { name })
  );
  for (const job of JOBS) {
    await jobs.put(job); // waits while the queue is full
    log(`submitted job ${job.id}`);
  }
  await jobs.join(); // every job taken and marked done
  log("all jobs done, shutting down");
  jobs.shutdown(); // ends the workers' for-await loops
  for (const task of workers) await task;
}

if (import.meta.main) await run(main);
