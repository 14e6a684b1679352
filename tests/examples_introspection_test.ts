/**
 * examples/introspection.ts, run as `deno task example introspection`
 * runs it: its own process (it signals itself), with only
 * `--allow-net=127.0.0.1`. The dump on stderr must name the deadlock and
 * what each task waits on.
 */
import assert from "node:assert/strict";
import { EXAMPLES } from "../examples/main.ts";

const decoder = new TextDecoder();

Deno.test("examples/introspection: the dump names the deadlock and what every task waits on", async () => {
  const example = EXAMPLES.find((e) => e.name === "introspection")!;
  assert.deepEqual(example.flags, ["--allow-net=127.0.0.1"]);
  const file = new URL("../examples/introspection.ts", import.meta.url)
    .pathname;
  const output = await new Deno.Command("deno", {
    args: ["run", "--quiet", ...example.flags, file],
    stdin: "null",
  }).output();
  const stdout = decoder.decode(output.stdout);
  const stderr = decoder.decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.equal(
    stdout,
    [
      "The service is stuck; asking it what every task waits for:",
      "Cancelling the deadlocked transfers and shutting down",
      "Balances unchanged: alice 100, bob 100",
      "",
    ].join("\n"),
  );
  // Ids, times and ports vary from run to run.
  const lines = stderr
    .replace(/0x[0-9a-f]+/g, "ID")
    .replace(/\d+(\.\d)? (ms|s)\b/g, "T")
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT")
    .split("\n");
  assert.match(lines[0], /^Tasks of process \d+ at \S+, loop time T: 8 tasks$/);
  assert.deepEqual(lines.slice(1), [
    "Deadlock: these tasks await each other in a circle:",
    "  'alice->bob' (ID) → 'bob->alice' (ID) → 'alice->bob' (ID)",
    "  'alice->bob' awaits Lock.acquire() on <Lock [locked, waiters:1]> held by 'bob->alice'",
    "  'bob->alice' awaits Lock.acquire() on <Lock [locked, waiters:1]> held by 'alice->bob'",
    "",
    "└── (T) Task-1 [ID, waiting] awaits sleep(T), due in T",
    "    ├── (T) alice->bob [spawned, ID, waiting, age T] awaits Lock.acquire() on <Lock [locked, waiters:1]> held by 'bob->alice'",
    "    ├── (T) bob->alice [spawned, ID, waiting, age T] awaits Lock.acquire() on <Lock [locked, waiters:1]> held by 'alice->bob'",
    "    ├── (T) Server 127.0.0.1:PORT [spawned, ID, waiting, age T] awaits Server.accept() on 127.0.0.1:PORT",
    "    │   └── (T) Client 127.0.0.1:PORT [spawned, ID, waiting, age T] awaits StreamReader.readLine() from 127.0.0.1:PORT",
    "    └── (T) workers [spawned, ID, waiting, age T] awaits TaskGroup exit: waiting for 2 tasks",
    "        ├── (T) worker-1 [ID, waiting, age T] awaits Queue.get() on <Queue maxsize=0 getters[2]>",
    "        └── (T) worker-2 [ID, waiting, age T] awaits Queue.get() on <Queue maxsize=0 getters[2]>",
    "",
  ]);
});
