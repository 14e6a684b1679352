/**
 * What the Node and Bun runs leave out, and why: the tests of the Deno
 * adapters (they open sockets, files, processes, workers and signal
 * listeners through `Deno.*`), the few core tests that start a `deno`
 * process to watch it from outside, and the source checks that read the
 * repository rather than run the module. `run.ts` prints this list before
 * every run, checks that each entry still names an existing file and test,
 * and runs every other `*_test.ts` file; the shim marks the listed tests
 * skipped with their reason, so they show in each runtime's report.
 */

/** Test files that need Deno, by path from the repository root. */
export const DENO_ONLY_FILES: Readonly<Record<string, string>> = {
  "tests/net_test.ts": "streams over Deno.connect and Deno.listen",
  "tests/server_test.ts": "servers over Deno.listen",
  "tests/tls_test.ts": "TLS over Deno.connectTls and Deno.listenTls",
  "tests/virtual_clock_io_test.ts": "virtual time with Deno.listen sockets",
  "tests/files_test.ts": "files over Deno.open",
  "tests/subprocess_test.ts": "subprocesses over Deno.Command",
  "tests/signals_test.ts": "signals over Deno.addSignalListener",
  "tests/executor_test.ts":
    "a Web Worker pool running module files (Node has no Worker global)",
  "tests/examples_http_test.ts": "the HTTP example serves over Deno.listen",
  "tests/examples_network_test.ts":
    "the scraping and chat examples use Deno.serve and sockets",
  "tests/examples_io_test.ts":
    "the file, subprocess and database examples use Deno.open and Deno.Command",
  "tests/layers_test.ts":
    "reads the source tree to check the import layers; not a runtime test",
  "tests/reliability/adapters_test.ts":
    "FIFOs, connects and handshakes through Deno",
  "tests/reliability/clients_test.ts": "abusive clients over Deno sockets",
  "tests/reliability/soak_test.ts":
    "echo clients over Deno sockets and Deno.memoryUsage",
  "tests/task_dump_test.ts":
    "the live dump listens for signals and on a Unix socket through Deno",
  "tests/examples_introspection_test.ts":
    "watches a `deno run` of the introspection example through Deno.Command",
  "tests/kv_test.ts": "KvQueue is a Deno adapter over Deno.openKv",
  "tests/kv_processes_test.ts":
    "KvQueue across `deno` worker processes sharing a Deno KV file",
};

/**
 * Tests inside otherwise runtime-agnostic files that need Deno, by name,
 * with the file that holds each (names are unique across those files).
 */
export const DENO_ONLY_TESTS: Readonly<
  Record<string, {
    readonly file: string;
    readonly reason: string;
    /** Left out on Bun only: it runs on Node. */
    readonly bunOnly?: true;
  }>
> = {
  "EventLoop on the real clock idles under far timers: few host timers, none past 2³¹−1 ms, no TimeoutOverflowWarning":
    {
      file: "tests/events_test.ts",
      reason: "watches a `deno run` of a fixture through Deno.Command",
    },
  "TaskGroup with await using: an uncaught failure shows every child error and its stack":
    {
      file: "tests/taskgroups_test.ts",
      reason: "reads what Deno prints for an uncaught error, via Deno.Command",
    },
  "AIO_ASYNCIO_DEBUG turns debug mode on, if the program may read it; without the permission it is ignored, with no prompt":
    {
      file: "tests/debug_test.ts",
      reason:
        "starts `deno run` with and without --allow-env, via Deno.Command",
    },
  "formatCallGraph() names the peer a stream read or drain waits on": {
    file: "tests/graph_test.ts",
    reason: "a stream over Deno.listen and Deno.connect",
  },
  "formatCallGraph() names the process Process.wait() waits for": {
    file: "tests/graph_test.ts",
    reason: "a subprocess through Deno.Command",
  },
  "captureCallGraph() in debug mode gives a suspended task the coroutine stack of its await":
    {
      file: "tests/graph_test.ts",
      reason:
        "await sites come from V8's async stack traces, whose frames differ in older V8 (Node 20)",
    },
  "captureTaskTree() records creators, ages and sites in debug mode, and nests spawned tasks":
    {
      file: "tests/tree_test.ts",
      reason:
        "await sites come from V8's async stack traces, whose frames differ in older V8 (Node 20)",
    },
  // Known differences on Bun (JavaScriptCore), not fixed yet: its stack
  // traces keep captureCallGraph's own frame and name frames otherwise, and
  // a slow step's next await is not found in them.
  "EventLoop debug mode: a slow task step is named with its task and what it awaits next":
    {
      file: "tests/debug_test.ts",
      reason: "reads V8's stack traces; JavaScriptCore's differ",
      bunOnly: true,
    },
  "formatCallGraph() of the running task shows its live call stack, from the caller down":
    {
      file: "tests/graph_test.ts",
      reason: "reads V8's stack traces; JavaScriptCore's differ",
      bunOnly: true,
    },
  "captureCallGraph() depth skips frames from the top and limit keeps some of each stack":
    {
      file: "tests/graph_test.ts",
      reason: "reads V8's stack traces; JavaScriptCore's differ",
      bunOnly: true,
    },
};
