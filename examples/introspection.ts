/**
 * Seeing why a service is stuck: a small bank whose transfers deadlock,
 * an audit server waiting on a quiet client, and idle workers. One line,
 * `enableTaskDump({ signal: "SIGUSR1" })`, lets an operator ask the
 * running process what every task waits for (`kill -USR1 <pid>`); here
 * the example sends itself the signal, and the tree it prints to stderr
 * names the deadlock and what each task waits on.
 *
 * The asyncio tools it mirrors, for another process:
 *
 * ```sh
 * python -m asyncio pstree 4242
 * ```
 *
 * Run: `deno run --allow-net=127.0.0.1 examples/introspection.ts`. It ends
 * by itself: after the dump, the stuck transfers are cancelled.
 */
import {
  createTask,
  enableTaskDump,
  Lock,
  openConnection,
  Queue,
  run,
  type Server,
  sleep,
  startServer,
  type StreamReader,
  type StreamWriter,
  type Task,
  taskGroup,
} from "../mod.ts";

/** An account, with the lock a transfer takes to change it. */
class Account {
  readonly lock = new Lock();
  constructor(readonly name: string, public balance: number) {}
}

/**
 * Moves money between two accounts, locking the source, then the target.
 * Two transfers in opposite directions at once each hold one lock and
 * wait for the other's: the classic deadlock (lock them in one fixed
 * order, say by name, to fix it).
 */
async function transfer(from: Account, to: Account, amount: number) {
  using _from = await from.lock.hold();
  await sleep(10); // read the balance from the ledger
  using _to = await to.lock.hold();
  from.balance -= amount;
  to.balance += amount;
}

/** An audit server: each client sends one line per event. */
function startAuditServer(): Promise<Server> {
  return startServer(
    async (reader: StreamReader, writer: StreamWriter) => {
      for await (const _line of reader) writer.write("ok\n");
      writer.close();
    },
    { hostname: "127.0.0.1", port: 0 },
  );
}

/** Workers that take jobs from a queue that stays empty. */
function startWorkers(jobs: Queue<string>): Task<void> {
  return createTask(
    () =>
      taskGroup((group) => {
        for (let i = 1; i <= 2; i++) {
          group.createTask(async () => {
            for (;;) await jobs.get();
          }, { name: `worker-${i}` });
        }
      }),
    { name: "workers" },
  );
}

export async function main(): Promise<void> {
  // The one line: the task tree on SIGUSR1, for as long as `dump` lives.
  using _dump = enableTaskDump({ signal: "SIGUSR1" });

  const alice = new Account("alice", 100);
  const bob = new Account("bob", 100);
  const transfers = [
    createTask(() => transfer(alice, bob, 10), { name: "alice->bob" }),
    createTask(() => transfer(bob, alice, 20), { name: "bob->alice" }),
  ];
  const server = await startAuditServer();
  const [clientReader, clientWriter] = await openConnection({
    hostname: "127.0.0.1",
    port: (server.addr as Deno.NetAddr).port,
  });
  const jobs = new Queue<string>();
  const workers = startWorkers(jobs);

  await sleep(100); // the service runs, and gets stuck
  console.log("The service is stuck; asking it what every task waits for:");
  // What `kill -USR1 <pid>` from a shell does: the tree goes to stderr.
  Deno.kill(Deno.pid, "SIGUSR1");
  await sleep(100);

  console.log("Cancelling the deadlocked transfers and shutting down");
  for (const task of transfers) task.cancel();
  workers.cancel();
  clientWriter.close();
  await clientWriter.waitClosed();
  await clientReader.read();
  server.close();
  await server.waitClosed();
  for (const task of [...transfers, workers]) {
    await task.then(() => {}, () => {});
  }
  console.log(`Balances unchanged: alice ${alice.balance}, bob ${bob.balance}`);
}

if (import.meta.main) await run(main);
