/**
 * Seeded cancellation storms over every combinator and primitive: random
 * trees of work (gather, wait, waitFor, timeout, shield, asCompleted,
 * TaskGroup, plain Futures, Lock, Semaphore, Condition, Event, Queue),
 * leaves that fail, swallow a cancel or clean up slowly, and a chaos task
 * that cancels tasks and futures at random moments, often in the very
 * iteration in which they finish. Durations are multiples of 5 ms, so
 * many things happen in one iteration.
 *
 * What must hold, for every seed:
 * - the loop's exception handler hears of exactly the errors that were
 *   truly lost (thrown by tasks nobody awaits), each once, and of
 *   nothing else;
 * - no lock is left held, no permit lost, no queue item lost or
 *   duplicated, no task left pending;
 * - every root finishes (no cancel is lost: a cancelled wait ends).
 */
import assert from "node:assert/strict";
import {
  allTasks,
  asCompleted,
  Barrier,
  CancelledError,
  Condition,
  createTask,
  Event,
  type ExceptionContext,
  Future,
  gather,
  getRunningLoop,
  Lock,
  newEventLoop,
  Queue,
  QueueShutDown,
  Semaphore,
  shield,
  sleep,
  StreamReader,
  Task,
  taskGroup,
  timeout,
  wait,
  waitFor,
} from "../../mod.ts";
import { VirtualClock } from "../../src/testing.ts";
import { forEachSeed, type Random, scale } from "./_budget.ts";

/** An error thrown on purpose, numbered so a report names its origin. */
class Boom extends Error {
  constructor(readonly id: number, readonly where: string) {
    super(`boom ${id} (${where})`);
  }
}

type Work = () => Promise<unknown>;

/** One storm: the shared primitives and what the run must account for. */
class Storm {
  readonly lock = new Lock();
  readonly semaphore = new Semaphore(3);
  readonly condition = new Condition();
  readonly event = new Event();
  readonly queue = new Queue<number>(4);
  readonly barrier = new Barrier(2);
  /** A reader fed by the test; reads take turns under `readLock`. */
  readonly reader = new StreamReader();
  readonly readLock = new Lock();
  readonly fed: Uint8Array[] = [];
  readonly read: Uint8Array[] = [];
  /** Items put, and items taken, by id. */
  readonly put = new Set<number>();
  readonly taken: number[] = [];
  /** Tasks the program holds and reads at the end (asyncio's "retrieved"). */
  readonly held: Task<unknown>[] = [];
  /** Errors of tasks nobody awaits: these, and only these, are lost. */
  readonly lost = new Set<Boom>();
  /** Futures the chaos task may cancel. */
  readonly futures: Future<unknown>[] = [];
  /** Tasks chaos leaves alone: the test's own. */
  readonly spare = new Set<Task<unknown>>();
  #ids = 0;

  constructor(readonly random: Random) {}

  boom(where: string): Boom {
    totals.failed++;
    return new Boom(++this.#ids, where);
  }

  /** 0 to 30 ms, in steps of 5, so that deadlines coincide. */
  ms(): number {
    return 5 * this.random.int(7);
  }

  /** A random tree of work, `depth` levels at most. */
  work(depth: number): Work {
    const r = this.random;
    if (depth <= 0) return this.leaf();
    const children = (): Work[] =>
      Array.from({ length: 1 + r.int(3) }, () => this.work(depth - 1));
    switch (r.int(11)) {
      case 0: {
        const parts = children();
        const returnExceptions = r.chance(0.5);
        return () => {
          const gathering = gather(parts, { returnExceptions });
          this.futures.push(gathering);
          return gathering;
        };
      }
      case 1: {
        const parts = children();
        const returnWhen = r.pick(
          ["FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"] as const,
        );
        const limit = r.chance(0.5) ? this.ms() : null;
        return async () => {
          const tasks = parts.map((part) => this.hold(createTask(part)));
          const [, pending] = await wait(tasks, { returnWhen, timeout: limit });
          for (const task of pending) task.cancel();
          return pending.size;
        };
      }
      case 2: {
        const inner = this.work(depth - 1);
        const limit = this.ms();
        return () => waitFor(inner, limit);
      }
      case 3: {
        const inner = this.work(depth - 1);
        const limit = this.ms();
        return () => timeout(limit, () => inner());
      }
      case 4: {
        const inner = this.work(depth - 1);
        return () => shield(this.hold(createTask(inner)));
      }
      case 5: {
        const parts = children();
        const stopAfter = r.int(3);
        return async () => {
          const tasks = parts.map((part) => this.hold(createTask(part)));
          let seen = 0;
          for await (const _ of asCompleted(tasks)) {
            if (++seen > stopAfter) break;
          }
          return seen;
        };
      }
      case 6: {
        const parts = children();
        const awaitOne = r.chance(0.5);
        const body = this.ms();
        return () =>
          taskGroup(async (group) => {
            const tasks = parts.map((part) => group.createTask(part));
            if (awaitOne) return await tasks[0];
            return await sleep(body);
          });
      }
      case 7: {
        // Sequential steps in one task: each is an await point.
        const parts = children();
        return async () => {
          for (const part of parts) {
            try {
              await part();
            } catch (error) {
              if (error instanceof CancelledError) throw error;
            }
          }
        };
      }
      case 8: {
        // Fire and forget: an error here is truly lost.
        const inner = this.leaf();
        return async () => {
          createTask(async () => {
            try {
              await inner();
            } catch (error) {
              if (error instanceof Boom) this.lost.add(error);
              throw error;
            }
            if (r.chance(0.5)) {
              const error = this.boom("orphan");
              this.lost.add(error);
              throw error;
            }
          });
          await sleep(this.ms());
        };
      }
      default:
        return this.leaf();
    }
  }

  /** A leaf: a sleep, a plain future, or a synchronization primitive. */
  leaf(): Work {
    const r = this.random;
    const ms = this.ms();
    const fail = r.chance(0.3);
    const stubborn = r.chance(0.15); // swallows a cancel, cleans up, goes on
    const strike = r.chance(0.25);
    const finish = async (value: unknown): Promise<unknown> => {
      // Cancel something else in the very iteration in which this ends.
      if (strike) getRunningLoop().callSoon(() => this.strike());
      if (fail) throw this.boom("leaf");
      return value;
    };
    const guarded = (body: Work): Work => async () => {
      try {
        return await body();
      } catch (error) {
        if (!stubborn || !(error instanceof CancelledError)) throw error;
        await sleep(this.ms()); // cleanup that awaits, may be cut again
        return await finish("swallowed");
      }
    };
    switch (r.int(11)) {
      case 8:
        return guarded(async () => {
          const kind = r.int(3);
          const n = 1 + r.int(8);
          using _ = await this.readLock.hold();
          try {
            const chunk = await waitFor(() => {
              if (kind === 0) return this.reader.read(n);
              if (kind === 1) return this.reader.readExactly(n);
              return this.reader.readLine();
            }, ms + 5);
            this.read.push(chunk);
          } catch (error) {
            if (error instanceof CancelledError) throw error;
            // TimeoutError: a cut read takes nothing.
          }
          return await finish("read");
        });
      case 9:
        return guarded(async () => {
          try {
            await waitFor(() => this.barrier.wait(), ms + 5);
          } catch (error) {
            if (error instanceof CancelledError) throw error;
            // TimeoutError or BrokenBarrierError: the barrier resets.
            await this.barrier.reset();
          }
          return await finish("barrier");
        });
      case 10: {
        // An eager task: its first step runs inside createTask.
        const inner = this.leaf();
        return () => createTask(inner, { eager: true });
      }
      case 0:
        return guarded(async () => {
          const future = new Future<number>();
          this.futures.push(future);
          const outcome = fail ? this.boom("future") : 1;
          getRunningLoop().callLater(ms, () => {
            if (future.done()) return;
            if (outcome instanceof Boom) future.setException(outcome);
            else future.setResult(outcome);
          });
          return await future;
        });
      case 1:
        return guarded(async () => {
          using _ = await this.lock.hold();
          await sleep(ms);
          return await finish("locked");
        });
      case 2:
        return guarded(async () => {
          using _ = await this.semaphore.hold();
          await sleep(ms);
          return await finish("permit");
        });
      case 3:
        return guarded(async () => {
          const id = this.put.size + this.taken.length + r.int(1 << 30);
          await this.queue.put(id); // a cancelled put enqueued nothing
          this.put.add(id);
          return await finish("put");
        });
      case 4:
        return guarded(async () => {
          const limit = ms + 5;
          try {
            const item = await waitFor(() => this.queue.get(), limit);
            this.taken.push(item);
          } catch (error) {
            if (error instanceof CancelledError) throw error;
            // TimeoutError: nothing taken.
          }
          return await finish("get");
        });
      case 5:
        return guarded(async () => {
          using _ = await this.condition.hold();
          await waitFor(() => this.condition.wait(), ms + 5).catch((e) => {
            if (e instanceof CancelledError) throw e;
          });
          this.condition.notify(1);
          return await finish("condition");
        });
      case 6:
        return guarded(async () => {
          if (r.chance(0.5)) this.event.set();
          else this.event.clear();
          await waitFor(() => this.event.wait(), ms + 5).catch((e) => {
            if (e instanceof CancelledError) throw e;
          });
          return await finish("event");
        });
      default:
        return guarded(async () => {
          await sleep(ms);
          return await finish("slept");
        });
    }
  }

  hold<T>(task: Task<T>): Task<T> {
    this.held.push(task as Task<unknown>);
    return task;
  }

  /** Cancels a random task, and sometimes a random future. */
  strike(): void {
    const r = this.random;
    const tasks = [...allTasks()].filter((task) => !this.spare.has(task));
    if (tasks.length > 0) {
      if (r.pick(tasks).cancel(r.chance(0.3) ? "chaos" : undefined)) {
        totals.cancels++;
      }
    }
    if (this.futures.length > 0 && r.chance(0.3)) {
      r.pick(this.futures).cancel();
    }
  }

  /** Feeds the reader small chunks, some with line ends, until stopped. */
  async feed(stop: Event): Promise<void> {
    const r = this.random;
    while (!stop.isSet()) {
      const chunk = new Uint8Array(1 + r.int(6));
      for (let i = 0; i < chunk.length; i++) {
        chunk[i] = r.chance(0.2) ? 10 : 97 + r.int(26);
      }
      this.fed.push(chunk);
      this.reader.feedData(chunk);
      await sleep(this.ms());
    }
    this.reader.feedEof();
  }

  /** Strikes at random moments, `rounds` times. */
  async chaos(rounds: number): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      await sleep(this.ms());
      for (let k = this.random.int(4); k > 0; k--) this.strike();
    }
  }
}

function concat(chunks: Uint8Array[]): string {
  return chunks.map((chunk) => new TextDecoder().decode(chunk)).join("");
}

/** Awaits a task and says how it ended, reading its error. */
async function outcome(task: Task<unknown>): Promise<string> {
  try {
    await task;
    return "ok";
  } catch (error) {
    return error instanceof CancelledError ? "cancelled" : "failed";
  }
}

/** What the storms did, summed, so a run that exercises nothing fails. */
const totals = {
  runs: 0,
  tasks: 0,
  cancels: 0,
  failed: 0,
  cancelled: 0,
  lost: 0,
  queued: 0,
  reads: 0,
};

async function storm(random: Random): Promise<void> {
  const loop = newEventLoop({ clock: new VirtualClock() });
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((_, context) => reports.push(context));
  loop.setTaskFactory((taskLoop, fn, options) => {
    const task = new Task(fn, { ...options, loop: taskLoop });
    totals.tasks++;
    task.addDoneCallback((done) => {
      if (done.cancelled()) totals.cancelled++;
    });
    return task;
  });
  const s = new Storm(random);
  totals.runs++;
  try {
    await loop.runUntilComplete(async () => {
      for (const task of allTasks()) s.spare.add(task);
      const roots = Array.from(
        { length: 3 + random.int(6) },
        () => createTask(s.work(1 + random.int(4))),
      );
      const chaos = createTask(() => s.chaos(5 + random.int(20)));
      s.spare.add(chaos);
      const stopFeeding = new Event();
      const feeder = createTask(() => s.feed(stopFeeding));
      s.spare.add(feeder);
      // Every root ends: no cancel lost, no wait stranded.
      const ends = await timeout(
        60_000,
        () => gather(roots.map((root) => () => outcome(root))),
      );
      assert.equal(ends.length, roots.length);
      await chaos;
      stopFeeding.set();
      await feeder;
      // The program reads what it holds, as a careful user would.
      for (let i = 0; i < s.held.length; i++) await outcome(s.held[i]);
      // Let orphans finish, and with them any cleanup still running.
      while ([...allTasks()].length > 1) await sleep(5);
      // Nothing stuck or lost in the primitives.
      assert.equal(s.lock.locked(), false, "the lock is left held");
      assert.equal(s.semaphore.locked(), false, "a permit is lost");
      using _ = await s.semaphore.hold(); // all three permits are back
      using _b = await s.semaphore.hold();
      using _c = await s.semaphore.hold();
      s.queue.shutdown();
      for (;;) {
        try {
          s.taken.push(s.queue.getNowait());
        } catch (error) {
          if (error instanceof QueueShutDown) break;
          throw error;
        }
      }
      // Every fed byte was read once, in order, or is still buffered.
      s.read.push(await s.reader.read());
      assert.deepEqual(
        concat(s.read),
        concat(s.fed),
        "a stream byte was lost, duplicated or reordered",
      );
      totals.queued += s.put.size;
      totals.reads += s.read.length - 1;
      assert.deepEqual(
        [...s.taken].sort((a, b) => a - b),
        [...s.put].sort((a, b) => a - b),
        "a queue item was lost or duplicated",
      );
    });
  } finally {
    loop.close();
  }
  const reported = reports.map((context) => context.exception);
  const unexpected = reports.filter((c) => !s.lost.has(c.exception as Boom));
  assert.deepEqual(
    unexpected.map((c) => `${c.message}: ${(c.exception as Error).stack}`),
    [],
    "reported although it was not lost",
  );
  assert.equal(
    new Set(reported).size,
    reported.length,
    "an error was reported twice",
  );
  totals.lost += s.lost.size;
  const missing = [...s.lost].filter((error) => !reported.includes(error));
  assert.deepEqual(missing.map(String), [], "lost without a report");
}

Deno.test("Cancellation storm: only truly lost errors are reported, nothing is stuck or lost", async () => {
  const runs = scale(300, 20_000);
  await forEachSeed(runs, storm);
  // The storm really stormed: tasks were cancelled, failed, got lost.
  console.log("storm:", JSON.stringify(totals));
  assert.ok(totals.cancels > runs, "the chaos task cancelled too little");
  assert.ok(totals.cancelled > runs, "too few tasks ended cancelled");
  assert.ok(totals.failed > runs, "too few errors were thrown");
  assert.ok(totals.lost > runs / 10, "too few errors were truly lost");
  assert.ok(totals.queued > runs / 10, "too few queue items moved");
  assert.ok(totals.reads > runs / 10, "too few stream reads");
});
