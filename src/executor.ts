/**
 * Blocking and CPU-bound work off the loop: `WorkerExecutor`, a bounded
 * pool of Web Workers (asyncio's `concurrent.futures` executors), with
 * `runInExecutor` (asyncio's `loop.run_in_executor`) and `toThread`
 * (asyncio's `asyncio.to_thread`) on top.
 *
 * A worker cannot receive a function (closures do not cross threads), so
 * the work is named by a module URL and an export name; the arguments and
 * the result travel by structured cloning. Cancelling the Future of a
 * running job terminates its worker (a thread cannot be interrupted any
 * other way) and a fresh worker replaces it on demand — unlike asyncio,
 * whose threads run on after the Future is cancelled.
 *
 * @module
 */
import { Deque } from "./_deque.ts";
import { describe } from "./_describe.ts";
import { workerSource } from "./_executor_worker.ts";
import { InvalidStateError } from "./errors.ts";
import {
  type AbstractEventLoop,
  getRunningLoop,
} from "./abstract_event_loop.ts";
import type { Future } from "./futures.ts";

/** Options for `new WorkerExecutor()`. */
export interface WorkerExecutorOptions {
  /**
   * The most workers running at once: `navigator.hardwareConcurrency` by
   * default (at least 1). Jobs beyond it wait in FIFO order.
   */
  maxWorkers?: number;
  /**
   * Milliseconds an idle worker is kept for the next job before it is
   * terminated: kept until `shutdown()` by default (`Infinity`). An idle
   * Web Worker keeps the Deno process alive, so a pool that is never shut
   * down needs a finite value.
   */
  idleTimeout?: number;
  /** A prefix for the workers' names, as `thread_name_prefix`. */
  name?: string;
}

/** Options for `WorkerExecutor.shutdown()`. */
export interface ShutdownOptions {
  /**
   * Cancel the jobs that have not started yet, as Python's
   * `cancel_futures=True`; running jobs finish. `false` by default.
   */
  cancelFutures?: boolean;
}

/** An error as the worker sends it back. */
interface ErrorRecord {
  name: string;
  message: string;
  stack: string | undefined;
  code?: unknown;
}

type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error?: ErrorRecord; thrown?: unknown };

interface Job {
  id: number;
  settled: boolean;
  module: string;
  name: string;
  args: unknown[];
  future: Future<unknown>;
  loop: AbstractEventLoop;
  slot: Slot | undefined;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};
let jobCounter = 0;

/**
 * Re-creates an error a worker threw: the same class when it is a
 * built-in or a `Deno.errors` class, else an `Error` with the same
 * `name`; message and stack as thrown.
 */
function revive(record: ErrorRecord): Error {
  const denoErrors = typeof Deno === "undefined"
    ? undefined
    : Deno.errors as unknown as Record<string, ErrorConstructor>;
  const Class = Object.hasOwn(BUILTIN_ERRORS, record.name)
    ? BUILTIN_ERRORS[record.name]
    : denoErrors !== undefined && Object.hasOwn(denoErrors, record.name)
    ? denoErrors[record.name]
    : Error;
  const error = new Class(record.message);
  if (error.name !== record.name) {
    Object.defineProperty(error, "name", {
      value: record.name,
      configurable: true,
      writable: true,
    });
  }
  if (record.stack !== undefined) error.stack = record.stack;
  if (record.code !== undefined) {
    (error as Error & { code?: unknown }).code = record.code;
  }
  return error;
}

function moduleUrl(action: string, module: unknown): string {
  if (module instanceof URL) return module.href;
  if (typeof module === "string" && URL.canParse(module)) {
    return new URL(module).href;
  }
  throw new TypeError(
    `Cannot ${action}: expected an absolute module URL such as ` +
      `new URL("./work.ts", import.meta.url), got ${
        typeof module === "string" ? JSON.stringify(module) : typeof module
      }`,
  );
}

function exportName(action: string, name: unknown): string {
  if (typeof name === "string" && name !== "") return name;
  throw new TypeError(
    `Cannot ${action}: expected the name of an exported function, got ${
      typeof name === "string" ? "an empty string" : typeof name
    }`,
  );
}

/**
 * A pool of at most `maxWorkers` Web Workers that run exported functions
 * of modules off the loop. `submit` returns a loop Future; cancelling it
 * drops a queued job or terminates the worker running it. asyncio: a
 * `concurrent.futures.ThreadPoolExecutor` handed to `run_in_executor`.
 *
 * Workers start on demand and get the permissions of the main thread.
 * Each job holds a `VirtualClock`, as file I/O does: the loop does not
 * jump time while a worker computes.
 *
 * @example Hashing in a worker (the job is a module's export)
 * ```ts
 * import { run, WorkerExecutor } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * // Any module URL works; a data: URL keeps the example self-contained.
 * const work = "data:text/javascript,export const square = (n) => n * n;";
 * await run(async () => {
 *   await using pool = new WorkerExecutor({ maxWorkers: 2 });
 *   assert.equal(await pool.submit(work, "square", [12]), 144);
 * });
 * ```
 */
export class WorkerExecutor implements AsyncDisposable {
  #max: number;
  #idleTimeout: number;
  #name: string;
  #slots = new Set<Slot>();
  #idle: Slot[] = [];
  #queue = new Deque<Job>();
  #shutdown = false;
  #shutdownWaiters: (() => void)[] = [];
  #workerCounter = 0;

  /**
   * Creates a pool; no worker starts before the first job.
   *
   * @param options `maxWorkers`, `idleTimeout`, `name`.
   * @throws {RangeError} If `maxWorkers` is not a positive integer or
   * `idleTimeout` is negative or NaN.
   * @throws {TypeError} Where the runtime has no `Worker` global (Node).
   */
  constructor(options?: WorkerExecutorOptions) {
    if (typeof globalThis.Worker !== "function") {
      throw new TypeError(
        "Cannot create executor: this runtime has no Web Worker global " +
          "(Deno has one; Node does not)",
      );
    }
    const max = options?.maxWorkers ??
      Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
    if (!Number.isSafeInteger(max) || max <= 0) {
      throw new RangeError(
        `Cannot create executor: maxWorkers must be a positive integer, got ${max}`,
      );
    }
    const idle = options?.idleTimeout ?? Infinity;
    if (typeof idle !== "number" || !(idle >= 0)) {
      throw new RangeError(
        `Cannot create executor: idleTimeout must be a number of milliseconds >= 0, got ${idle}`,
      );
    }
    this.#max = max;
    this.#idleTimeout = idle;
    this.#name = options?.name ?? "WorkerExecutor";
  }

  /** The most workers running at once. */
  get maxWorkers(): number {
    return this.#max;
  }

  /** How many workers are alive now (busy or idle). */
  get workerCount(): number {
    return this.#slots.size;
  }

  /**
   * Runs `module`'s export `name` with `args` in a worker and returns a
   * Future of its result. Arguments and result are structured-cloned; an
   * error thrown in the worker comes back as the same built-in class (or
   * `Deno.errors` class) with its message and stack, other classes as an
   * `Error` with the same `name`. Cancelling the Future drops a queued
   * job, or terminates the worker of a running one. asyncio:
   * `executor.submit()` wrapped by `loop.run_in_executor()`.
   *
   * @typeParam T The function's result type.
   * @param module The module's absolute URL (a string or `URL`).
   * @param name The exported function's name.
   * @param args Its arguments (cloned).
   * @param loop The loop of the returned Future; the running loop by default.
   * @returns A Future of the result.
   * @throws {TypeError} If `module` is not an absolute URL or `name` is
   * not a non-empty string (thrown at once); in the Future, if the
   * export is not a function or an argument or the result cannot be
   * cloned.
   * @throws {InvalidStateError} After `shutdown()`, or without a running loop.
   *
   * @example Running two jobs at once
   * ```ts
   * import { gather, run, WorkerExecutor } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * const work = "data:text/javascript,export const add = (a, b) => a + b;";
   * await run(async () => {
   *   await using pool = new WorkerExecutor({ maxWorkers: 2 });
   *   const sums = await gather(
   *     pool.submit(work, "add", [1, 2]),
   *     pool.submit(work, "add", [3, 4]),
   *   );
   *   assert.deepEqual(sums, [3, 7]);
   * });
   * ```
   */
  submit<T = unknown>(
    module: string | URL,
    name: string,
    args: readonly unknown[] = [],
    loop?: AbstractEventLoop,
  ): Future<T> {
    const url = moduleUrl("submit job", module);
    const fn = exportName("submit job", name);
    if (!Array.isArray(args)) {
      throw new TypeError(
        `Cannot submit job: expected the arguments as an array, got ${typeof args}`,
      );
    }
    if (this.#shutdown) {
      throw new InvalidStateError("Cannot submit job: executor is shut down");
    }
    loop ??= getRunningLoop();
    const future = loop.createFuture<unknown>();
    const job: Job = {
      id: ++jobCounter,
      settled: false,
      module: url,
      name: fn,
      args: [...args],
      future,
      loop,
      slot: undefined,
    };
    loop._ioStarted();
    future.addDoneCallback(() => {
      if (future.cancelled()) this.#cancel(job);
    });
    this.#queue.push(job);
    this.#dispatch();
    return future as Future<T>;
  }

  /**
   * Stops taking jobs; resolves once the jobs already submitted are done
   * (or cancelled, with `cancelFutures`) and every worker is terminated.
   * Calling it again is harmless. asyncio: `executor.shutdown(wait=True)`.
   *
   * @param options `cancelFutures` cancels the jobs not started yet.
   * @returns A promise that resolves when the pool is empty.
   *
   * @example Shutting down a pool
   * ```ts
   * import { run, WorkerExecutor } from "@aio/asyncio";
   * import assert from "node:assert/strict";
   *
   * const work = "data:text/javascript,export const id = (x) => x;";
   * await run(async () => {
   *   const pool = new WorkerExecutor();
   *   const job = pool.submit(work, "id", ["kept"]);
   *   await pool.shutdown(); // the job still finishes
   *   assert.equal(await job, "kept");
   *   assert.equal(pool.workerCount, 0);
   * });
   * ```
   */
  shutdown(options?: ShutdownOptions): Promise<void> {
    this.#shutdown = true;
    if (options?.cancelFutures) {
      for (const job of [...this.#queue]) job.future.cancel();
    }
    const done = new Promise<void>((resolve) => {
      this.#shutdownWaiters.push(resolve);
    });
    this.#checkShutdown();
    return done;
  }

  /** `shutdown()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Starts queued jobs while workers are free or may be started. */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#idle.pop();
      if (slot === undefined) {
        if (this.#slots.size >= this.#max) return;
        slot = this.#spawn();
      }
      if (slot.idleTimer !== undefined) {
        clearTimeout(slot.idleTimer);
        slot.idleTimer = undefined;
      }
      const job = this.#queue.shift()!;
      slot.job = job;
      job.slot = slot;
      try {
        slot.worker.postMessage({
          id: job.id,
          module: job.module,
          name: job.name,
          args: job.args,
        });
      } catch (error) {
        slot.job = undefined;
        job.slot = undefined;
        this.#idle.push(slot);
        this.#settle(
          job,
          false,
          new TypeError(
            `Cannot submit job: an argument of "${job.name}" cannot be cloned (${
              error instanceof Error ? error.message : error
            })`,
          ),
        );
      }
    }
    this.#checkShutdown();
  }

  #spawn(): Slot {
    const worker = new Worker(workerSource(), {
      type: "module",
      name: `${this.#name}-${++this.#workerCounter}`,
    });
    const slot: Slot = { worker, job: undefined, idleTimer: undefined };
    worker.onmessage = (event: MessageEvent<Reply>) => {
      const job = slot.job;
      const reply = event.data;
      if (job === undefined || reply.id !== job.id) return;
      slot.job = undefined;
      job.slot = undefined;
      this.#release(slot);
      if (reply.ok) this.#settle(job, true, reply.value);
      else {
        this.#settle(
          job,
          false,
          reply.error !== undefined ? revive(reply.error) : reply.thrown,
        );
      }
      this.#dispatch();
    };
    // An error the job's code leaves uncaught (a rejected promise nobody
    // awaited, say) kills the worker: it fails the job it was running.
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      const job = slot.job;
      this.#retire(slot);
      if (job !== undefined) {
        job.slot = undefined;
        const error = event.error instanceof Error
          ? event.error
          : new Error(`Uncaught in worker: ${event.message}`);
        this.#settle(job, false, error);
      }
      this.#dispatch();
    };
    worker.onmessageerror = () => {
      const job = slot.job;
      if (job === undefined) return;
      slot.job = undefined;
      job.slot = undefined;
      this.#release(slot);
      this.#settle(
        job,
        false,
        new TypeError(
          `Cannot return from worker: "${job.name}"'s result could not be read`,
        ),
      );
      this.#dispatch();
    };
    this.#slots.add(slot);
    return slot;
  }

  /** A worker finished its job: idle it, or end it if the pool is closing. */
  #release(slot: Slot): void {
    if (this.#shutdown && this.#queue.length === 0) {
      this.#retire(slot);
      return;
    }
    this.#idle.push(slot);
    if (this.#idleTimeout !== Infinity && this.#queue.length === 0) {
      slot.idleTimer = setTimeout(() => {
        slot.idleTimer = undefined;
        const i = this.#idle.indexOf(slot);
        if (i >= 0) this.#idle.splice(i, 1);
        this.#retire(slot);
      }, this.#idleTimeout);
    }
  }

  /** Terminates a worker and forgets it. */
  #retire(slot: Slot): void {
    if (slot.idleTimer !== undefined) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    if (!this.#slots.delete(slot)) return;
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    slot.worker.terminate();
    this.#checkShutdown();
  }

  /** The job's Future was cancelled: drop it, or kill its worker. */
  #cancel(job: Job): void {
    const slot = job.slot;
    if (slot !== undefined) {
      slot.job = undefined;
      job.slot = undefined;
      this.#retire(slot);
    } else {
      this.#queue.remove(job);
    }
    this.#settle(job, false, undefined);
    this.#dispatch();
  }

  #settle(job: Job, ok: boolean, value: unknown): void {
    const { future, loop } = job;
    if (job.settled) return;
    job.settled = true;
    loop._ioFinished();
    if (future.done() || loop.isClosed()) return;
    if (ok) future.setResult(value);
    else future.setException(value);
  }

  #checkShutdown(): void {
    if (!this.#shutdown) return;
    if (this.#queue.length === 0) {
      for (const slot of [...this.#idle]) this.#retire(slot);
    }
    if (this.#slots.size > 0 || this.#queue.length > 0) return;
    for (const resolve of this.#shutdownWaiters.splice(0)) resolve();
  }
}

// Each loop's default executor, made by the first `toThread` or
// `runInExecutor(undefined, ...)` on it.
const defaultExecutors = new WeakMap<AbstractEventLoop, WorkerExecutor>();
/** Idle workers of a default executor end after this, so a forgotten pool does not keep the process alive for long. */
const DEFAULT_IDLE_TIMEOUT = 250;

/**
 * The loop's default executor, made on first use: a `WorkerExecutor`
 * with `navigator.hardwareConcurrency` workers whose idle workers end
 * after 250 ms.
 *
 * @param loop The loop; the running loop by default.
 * @returns The executor.
 * @throws {InvalidStateError} Without a running loop and no `loop`.
 *
 * @example Reusing the default pool
 * ```ts
 * import { defaultExecutor, run, shutdownDefaultExecutor } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(defaultExecutor(), defaultExecutor());
 *   await shutdownDefaultExecutor();
 * });
 * ```
 */
export function defaultExecutor(loop?: AbstractEventLoop): WorkerExecutor {
  loop ??= getRunningLoop();
  let executor = defaultExecutors.get(loop);
  if (executor === undefined) {
    executor = new WorkerExecutor({
      idleTimeout: DEFAULT_IDLE_TIMEOUT,
      name: "asyncio-default",
    });
    defaultExecutors.set(loop, executor);
  }
  return executor;
}

/**
 * Shuts down the loop's default executor, waiting for its jobs. A later
 * `toThread` makes a new one. asyncio: `loop.shutdown_default_executor()`,
 * which `asyncio.run` calls on the way out.
 *
 * @param loop The loop; the running loop by default.
 * @returns A promise that resolves once its workers are terminated.
 * @throws {InvalidStateError} Without a running loop and no `loop`.
 *
 * @example At the end of a program
 * ```ts
 * import { run, shutdownDefaultExecutor, toThread } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const work = "data:text/javascript,export const twice = (s) => s + s;";
 * await run(async () => {
 *   assert.equal(await toThread(work, "twice", "ab"), "abab");
 *   await shutdownDefaultExecutor();
 * });
 * ```
 */
export async function shutdownDefaultExecutor(
  loop?: AbstractEventLoop,
): Promise<void> {
  loop ??= getRunningLoop();
  const executor = defaultExecutors.get(loop);
  if (executor === undefined) return;
  defaultExecutors.delete(loop);
  await executor.shutdown();
}

/**
 * Runs `module`'s export `name` with `args` in `executor` (the loop's
 * default executor when `undefined`) and returns a Future of the result.
 * asyncio: `loop.run_in_executor(executor, func, *args)`, with the
 * function named by module URL and export.
 *
 * @typeParam T The function's result type.
 * @param executor A `WorkerExecutor`, or `undefined` for the default one.
 * @param module The module's absolute URL.
 * @param name The exported function's name.
 * @param args Its arguments, structured-cloned.
 * @returns A Future of the result; cancelling it cancels the job.
 * @throws {TypeError} If `executor` is not a `WorkerExecutor`, or as
 * `WorkerExecutor.submit` does, or where the runtime has no `Worker`
 * global (Node).
 * @throws {InvalidStateError} Without a running loop, or if the executor
 * is shut down.
 *
 * @example With an explicit pool
 * ```ts
 * import { run, runInExecutor, WorkerExecutor } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const work = "data:text/javascript,export const upper = (s) => s.toUpperCase();";
 * await run(async () => {
 *   await using pool = new WorkerExecutor({ maxWorkers: 1 });
 *   assert.equal(await runInExecutor(pool, work, "upper", "hi"), "HI");
 * });
 * ```
 */
export function runInExecutor<T = unknown>(
  executor: WorkerExecutor | undefined,
  module: string | URL,
  name: string,
  ...args: unknown[]
): Future<T> {
  if (executor !== undefined && !(executor instanceof WorkerExecutor)) {
    throw new TypeError(
      `Cannot run in executor: expected a WorkerExecutor or undefined, got ${
        describe(executor)
      }`,
    );
  }
  const loop = getRunningLoop();
  return (executor ?? defaultExecutor(loop)).submit<T>(
    module,
    name,
    args,
    loop,
  );
}

/**
 * Runs `module`'s export `name` with `args` in a worker of the loop's
 * default executor, off the loop. asyncio: `asyncio.to_thread(func,
 * *args)`, except that the function is named by module URL and export
 * (a worker cannot receive a closure), and that cancelling the call
 * terminates the worker instead of letting the thread run on. Context
 * variables are not carried over.
 *
 * @typeParam T The function's result type.
 * @param module The module's absolute URL, e.g.
 * `new URL("./work.ts", import.meta.url)`.
 * @param name The exported function's name.
 * @param args Its arguments, structured-cloned.
 * @returns A Future of the result.
 * @throws {TypeError} If `module` is not an absolute URL or `name` not a
 * non-empty string; in the Future, if the export is not a function.
 * @throws {TypeError} Where the runtime has no `Worker` global (Node).
 * @throws {InvalidStateError} Without a running loop.
 * @throws The function's own error, re-created from its name, message
 * and stack.
 *
 * @example A CPU-bound loop off the event loop
 * ```ts
 * import { run, shutdownDefaultExecutor, toThread } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const work = "data:text/javascript,export function sum(n) {" +
 *   " let s = 0; for (let i = 1; i <= n; i++) s += i; return s; }";
 * await run(async () => {
 *   assert.equal(await toThread(work, "sum", 1000), 500500);
 *   await shutdownDefaultExecutor();
 * });
 * ```
 */
export function toThread<T = unknown>(
  module: string | URL,
  name: string,
  ...args: unknown[]
): Future<T> {
  const loop = getRunningLoop();
  return defaultExecutor(loop).submit<T>(module, name, args, loop);
}
