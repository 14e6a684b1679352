/**
 * The core workloads (`_core_workloads.ts`) written with plain promises
 * and host timers: no loop, no cancellation, no fairness — the floor each
 * runtime sets, for `runtimes.ts` to show beside the module's figures.
 */
import {
  LOCK_ROUNDS,
  LOCK_TASKS,
  PINGPONG_N,
  SLEEPERS_N,
  SPAWN_N,
  SWITCH_N,
  TIMERS_N,
} from "./_core_workloads.ts";

function noop(): Promise<number> {
  return Promise.resolve(1);
}

/** Start 200,000 async calls, then await each. */
export async function spawn(): Promise<void> {
  const calls: Promise<number>[] = new Array(SPAWN_N);
  for (let i = 0; i < SPAWN_N; i++) calls[i] = (async () => await noop())();
  for (let i = 0; i < SPAWN_N; i++) await calls[i];
}

/** 1,000,000 microtask hops, `await null`, the nearest thing to sleep(0). */
export async function switches(): Promise<void> {
  for (let i = 0; i < SWITCH_N; i++) await null;
}

/** 200,000 `setTimeout` with random delays up to 100 ms. */
export function timers(): Promise<void> {
  return new Promise((resolve) => {
    let left = TIMERS_N;
    const fire = () => {
      if (--left === 0) resolve();
    };
    for (let i = 0; i < TIMERS_N; i++) setTimeout(fire, Math.random() * 100);
  });
}

/** A one-way channel: a value, or a getter waiting for one. */
class Mailbox<T> {
  #items: T[] = [];
  #waiter: ((value: T) => void) | undefined;

  put(value: T): void {
    const waiter = this.#waiter;
    if (waiter === undefined) {
      this.#items.push(value);
    } else {
      this.#waiter = undefined;
      waiter(value);
    }
  }

  get(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    return new Promise((resolve) => (this.#waiter = resolve));
  }
}

/** Round trips per second through two mailboxes. */
export async function pingpong(): Promise<number> {
  const ping = new Mailbox<number>();
  const pong = new Mailbox<number>();
  const start = performance.now();
  const echo = (async () => {
    for (let i = 0; i < PINGPONG_N; i++) pong.put(await ping.get());
  })();
  for (let i = 0; i < PINGPONG_N; i++) {
    ping.put(i);
    await pong.get();
  }
  await echo;
  return PINGPONG_N / ((performance.now() - start) / 1000);
}

/** A FIFO mutex of resolvers. */
class Mutex {
  #locked = false;
  #waiters: (() => void)[] = [];

  async acquire(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next === undefined) this.#locked = false;
    else next();
  }
}

/** Acquisitions per second, 100 async functions contending. */
export async function lock(): Promise<number> {
  const mutex = new Mutex();
  const worker = async () => {
    for (let i = 0; i < LOCK_ROUNDS; i++) {
      await mutex.acquire();
      try {
        await null;
      } finally {
        mutex.release();
      }
    }
  };
  const start = performance.now();
  const workers = Array.from({ length: LOCK_TASKS }, worker);
  for (const done of workers) await done;
  return (LOCK_TASKS * LOCK_ROUNDS) / ((performance.now() - start) / 1000);
}

/**
 * Heap bytes per sleeper: 100,000 async functions each awaiting a 60 s
 * `setTimeout` promise, with what it takes to stop them (the timer id and
 * the resolver); then all are stopped.
 */
export async function sleepers(heapUsed: () => number): Promise<number> {
  const before = heapUsed();
  const stops: (() => void)[] = new Array(SLEEPERS_N);
  const sleeping: Promise<void>[] = new Array(SLEEPERS_N);
  for (let i = 0; i < SLEEPERS_N; i++) {
    sleeping[i] = (async () => {
      await new Promise<void>((resolve) => {
        const id = setTimeout(resolve, 60_000);
        stops[i] = () => {
          clearTimeout(id);
          resolve();
        };
      });
    })();
  }
  const bytes = (heapUsed() - before) / SLEEPERS_N;
  for (const stop of stops) stop();
  for (const done of sleeping) await done;
  return bytes;
}
