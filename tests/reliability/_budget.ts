/**
 * What the reliability suite shares: how big a run is, and seeded
 * randomness whose seed is printed when a run fails, so that it can be
 * replayed.
 *
 * `deno task test` runs the fast slice (a few seconds in all);
 * `deno task test:reliability` sets `AIO_RELIABILITY=long` for the long
 * version. `AIO_SEED=N` replays one seed.
 */

/** Whether this is the long run (`AIO_RELIABILITY=long`). */
export const LONG: boolean = Deno.env.get("AIO_RELIABILITY") === "long";

/**
 * A count or duration for this run: `fast` in the default test task,
 * `long` in the long one.
 *
 * @param fast The size of the fast slice.
 * @param long The size of the long run.
 * @returns The one in force.
 */
export function scale(fast: number, long: number): number {
  return LONG ? long : fast;
}

/** A seeded pseudo-random source (mulberry32): the same seed, the same run. */
export class Random {
  #state: number;

  /**
   * @param seed Any 32-bit integer.
   */
  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** @returns A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * @param n The bound.
   * @returns An integer in [0, n).
   */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * @param items A non-empty list.
   * @returns One of them.
   */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /**
   * @param p The probability.
   * @returns `true` with probability `p`.
   */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/**
 * The seeds to run: `AIO_SEED` alone when it is set, else `count` seeds
 * from a fixed base (the same every run, so a failure reproduces).
 *
 * @param count How many seeds.
 * @returns The seeds.
 */
export function seeds(count: number): number[] {
  const fixed = Deno.env.get("AIO_SEED");
  if (fixed !== undefined) return [Number(fixed)];
  return Array.from({ length: count }, (_, i) => 0x5eed + i * 7919);
}

/**
 * Runs `fn` once per seed; a failure names the seed and how to replay it.
 *
 * @param count How many seeds.
 * @param fn One run.
 */
export async function forEachSeed(
  count: number,
  fn: (random: Random) => Promise<void>,
): Promise<void> {
  for (const seed of seeds(count)) {
    try {
      await fn(new Random(seed));
    } catch (error) {
      const replay = `AIO_SEED=${seed} deno task test:reliability`;
      throw new Error(`Failed with seed ${seed} (replay: ${replay})`, {
        cause: error,
      });
    }
  }
}
