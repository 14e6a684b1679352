/**
 * The core workloads (`_core_workloads.ts`) written with plain promises
 * and host timers: no loop, no cancellation, no fairness — the floor each
 * runtime sets, for `runtimes.ts` to show beside the module's figures.
 */
import {
  type Bytes,
  LOCK_ROUNDS,
  LOCK_TASKS,
  perTask,
  PINGPONG_N,
  rate,
  SLEEPERS_N,
  SPAWN_N,
  SWITCH_N,
  TIMERS_N,
} from "./_core_workloads.ts";

function noop(): Promise<number> {
  return Promise.resolve(1);
}

/** Start `n` (200,000) async calls, then await each. */
export async function spawn(n: number = SPAWN_N): Promise<number> {
  const start = performance.now();
  const calls: Promise<number>[] = new Array(n);
  for (let i = 0; i < n; i++) calls[i] = (async () => await noop())();
  for (let i = 0; i < n; i++) await calls[i];
  return rate(n, start);
}

/**
 * `n` (1,000,000) microtask hops, `await null`, the nearest thing to
 * sleep(0) — but it never lets a timer or I/O in.
 */
export async function switches(n: number = SWITCH_N): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await null;
  return rate(n, start);
}

/** `n` (200,000) `setTimeout` with random delays up to 100 ms. */
export async function timers(n: number = TIMERS_N): Promise<number> {
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let left = n;
    const fire = () => {
      if (--left === 0) resolve();
    };
    for (let i = 0; i < n; i++) setTimeout(fire, Math.random() * 100);
  });
  return rate(n, start);
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

/** Round trips per second through two mailboxes, `n` (200,000) of them. */
export async function pingpong(n: number = PINGPONG_N): Promise<number> {
  const ping = new Mailbox<number>();
  const pong = new Mailbox<number>();
  const start = performance.now();
  const echo = (async () => {
    for (let i = 0; i < n; i++) pong.put(await ping.get());
  })();
  for (let i = 0; i < n; i++) {
    ping.put(i);
    await pong.get();
  }
  await echo;
  return rate(n, start);
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

/** Acquisitions per second, 100 async functions contending, `rounds` each. */
export async function lock(rounds: number = LOCK_ROUNDS): Promise<number> {
  const mutex = new Mutex();
  const worker = async () => {
    for (let i = 0; i < rounds; i++) {
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
  return rate(LOCK_TASKS * rounds, start);
}

/**
 * Bytes per sleeper: `n` (100,000) async functions each awaiting a 60 s
 * `setTimeout` promise, with what it takes to stop them (the timer id and
 * the resolver), measured as `sleepers` in `_core_workloads.ts` does; then
 * all are stopped.
 */
export async function sleepers(
  used: () => Bytes,
  n: number = SLEEPERS_N,
): Promise<Bytes> {
  const before = used();
  const stops: (() => void)[] = new Array(n);
  const sleeping: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) {
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
  const bytes = perTask(before, used(), n);
  for (const stop of stops) stop();
  for (const done of sleeping) await done;
  return bytes;
}
