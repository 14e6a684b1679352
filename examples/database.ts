/**
 * Concurrent queries against a real embedded database: Deno KV (SQLite
 * underneath), opened with `Deno.openKv` on a local file. A `Semaphore`
 * bounds how many queries run at once, each query runs under `timeout()`,
 * and money moves between accounts in transactions — an atomic
 * check-and-set that is retried when another transfer committed first.
 *
 * The Python it mirrors (with an async database driver):
 *
 * ```python
 * async def query(db, slots, key):
 *     async with slots:                       # at most 4 at once
 *         async with asyncio.timeout(1.0):    # each under a deadline
 *             return await db.get(key)
 *
 * async def transfer(db, slots, src, dst, amount):
 *     while True:                             # retried on conflict
 *         async with slots, asyncio.timeout(1.0):
 *             a, b = await db.get(src), await db.get(dst)
 *             if a.value < amount:
 *                 return False
 *             if await db.commit_if_unchanged(a, b, a.value - amount, b.value + amount):
 *                 return True
 * ```
 *
 * Run: `deno task example database`, or
 * `deno run --unstable-kv --allow-read=examples/data --allow-write=examples/data examples/database.ts`
 * from the repository root (Deno 2.9 still needs `--unstable-kv` for
 * `Deno.openKv`). The database file is created under `examples/data/` and
 * deleted at the end.
 */
import {
  ensureFuture,
  gather,
  run,
  Semaphore,
  sleep,
  timeout,
} from "../mod.ts";

/** An account's key in the database. */
type AccountKey = ["accounts", string];

/** What `main` reports. */
export interface BankReport {
  /** The balances read by the concurrent queries, by account. */
  readonly queried: Record<string, number>;
  /** Transfers committed. */
  readonly committed: number;
  /** Transfers refused for lack of funds. */
  readonly refused: number;
  /** Commits that failed their check and were retried. */
  readonly conflicts: number;
  /** The most queries running at once. */
  readonly maxConcurrent: number;
  /** The final balances, by account. */
  readonly balances: Record<string, number>;
}

/** Options for `main`. */
export interface BankOptions {
  /** The directory for the database file: `examples/data` by default. */
  readonly dir?: string;
  /** How many queries or transactions run at once: 4 by default. */
  readonly concurrency?: number;
  /** Each query's deadline in milliseconds: 1000 by default. */
  readonly deadline?: number;
  /** Print what happens: `true` by default. */
  readonly verbose?: boolean;
}

export const ACCOUNTS = ["alice", "bob", "carol", "dave", "erin"] as const;
const OPENING_BALANCE = 100;

/** A deterministic list of transfers: [from, to, amount]. */
export function transfers(count: number): [string, string, number][] {
  const list: [string, string, number][] = [];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  for (let i = 0; i < count; i++) {
    const from = ACCOUNTS[next() % ACCOUNTS.length];
    let to = ACCOUNTS[next() % ACCOUNTS.length];
    if (to === from) to = ACCOUNTS[(ACCOUNTS.indexOf(from) + 1) % 5];
    list.push([from, to, 10 + (next() % 60)]);
  }
  return list;
}

const key = (name: string): AccountKey => ["accounts", name];

/**
 * Opens the database, runs the queries and transfers, and closes and
 * deletes it.
 *
 * @param options Where, how many at once, deadlines.
 * @returns What happened.
 */
export async function main(options: BankOptions = {}): Promise<BankReport> {
  const dir = options.dir ??
    new URL("./data/", import.meta.url).pathname.replace(/\/$/, "");
  const slots = new Semaphore(options.concurrency ?? 4);
  const deadline = options.deadline ?? 1000;
  const log = options.verbose === false ? () => {} : console.log;
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/bank-${Deno.pid}.kv`;
  const kv = await Deno.openKv(path);
  try {
    // Every account starts with the same balance, in one atomic commit.
    const seed = kv.atomic();
    for (const name of ACCOUNTS) seed.set(key(name), OPENING_BALANCE);
    await seed.commit();

    // Concurrent queries: at most `concurrency` at once, each with a deadline.
    let running = 0;
    let maxConcurrent = 0;
    const query = async (name: string): Promise<number> => {
      using _ = await slots.hold();
      running++;
      maxConcurrent = Math.max(maxConcurrent, running);
      try {
        return await timeout(deadline, async () => {
          // ensureFuture makes the await a cancellation point: if the
          // deadline passes, timeout() cuts it short right here.
          const entry = await ensureFuture(kv.get<number>(key(name)));
          await sleep(5); // stands in for work done with the row
          return entry.value ?? 0;
        });
      } finally {
        running--;
      }
    };
    const names = [...ACCOUNTS, ...ACCOUNTS, ...ACCOUNTS];
    const results = await gather(names.map((name) => () => query(name)));
    const queried: Record<string, number> = {};
    names.forEach((name, i) => queried[name] = results[i]);
    log(`queried ${names.length} balances, at most ${maxConcurrent} at once`);

    // Transactions: read both rows, then commit only if neither changed
    // since (the versionstamp check); on conflict, read again and retry.
    let conflicts = 0;
    let committed = 0;
    let refused = 0;
    const transfer = async (
      from: string,
      to: string,
      amount: number,
    ): Promise<void> => {
      for (let attempt = 1;; attempt++) {
        const done = await timeout(deadline, async () => {
          using _ = await slots.hold();
          const [a, b] = await ensureFuture(
            kv.getMany<[number, number]>([key(from), key(to)]),
          );
          const fromBalance = a.value ?? 0;
          const toBalance = b.value ?? 0;
          if (fromBalance < amount) return "refused";
          const result = await ensureFuture(
            kv.atomic()
              .check(a, b)
              .set(key(from), fromBalance - amount)
              .set(key(to), toBalance + amount)
              .commit(),
          );
          return result.ok ? "committed" : "conflict";
        });
        if (done === "conflict") {
          conflicts++;
          await sleep(attempt); // back off a little, then read again
          continue;
        }
        if (done === "committed") committed++;
        else refused++;
        log(`${from} -> ${to}: ${amount} ${done} after ${attempt} attempt(s)`);
        return;
      }
    };
    await gather(
      transfers(20).map(([from, to, amount]) => () =>
        transfer(from, to, amount)
      ),
    );

    const balances: Record<string, number> = {};
    for await (const entry of kv.list<number>({ prefix: ["accounts"] })) {
      balances[entry.key[1] as string] = entry.value;
    }
    const total = Object.values(balances).reduce((a, b) => a + b, 0);
    log(
      `${committed} committed, ${refused} refused, ${conflicts} conflicts retried`,
    );
    log(`balances: ${JSON.stringify(balances)} (total ${total})`);
    return { queried, committed, refused, conflicts, maxConcurrent, balances };
  } finally {
    kv.close();
    for (const suffix of ["", "-wal", "-shm"]) {
      await Deno.remove(path + suffix).catch(() => {});
    }
  }
}

if (import.meta.main) await run(() => main());
