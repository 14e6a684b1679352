/**
 * Runs the examples: `deno task example` runs them all, `deno task example
 * NAME` runs one. Each example runs in its own Deno process with only the
 * permissions it needs, printed before it starts.
 */
interface Example {
  readonly name: string;
  readonly about: string;
  /** The narrowest permissions the example needs. */
  readonly flags: readonly string[];
}

export const EXAMPLES: readonly Example[] = [
  { name: "hello_world", about: "a basic coroutine", flags: [] },
  { name: "two_tasks", about: "two tasks running concurrently", flags: [] },
  { name: "event_loop", about: "the event loop used directly", flags: [] },
  {
    name: "structured_concurrency",
    about: "fetches under one deadline with a TaskGroup",
    flags: [],
  },
  {
    name: "job_queue",
    about: "a job queue with a bounded worker pool",
    flags: [],
  },
  {
    name: "file_io",
    about: "a directory of files counted concurrently, line by line",
    flags: ["--allow-read=examples/data", "--allow-write=examples/data"],
  },
  {
    name: "database",
    about: "concurrent Deno KV queries and retried transactions",
    flags: [
      "--unstable-kv",
      "--allow-read=examples/data",
      "--allow-write=examples/data",
    ],
  },
  {
    name: "distributed_jobs",
    about: "the job queue over Deno KV, across three worker processes",
    flags: [
      "--unstable-kv",
      "--allow-read=examples/data",
      "--allow-write=examples/data",
      "--allow-run=deno",
    ],
  },
  {
    name: "subprocess",
    about: "several commands at once, their output streamed",
    flags: ["--allow-run=deno"],
  },
  {
    name: "web_scraping",
    about: "a local site crawled breadth-first, fetches bounded and timed",
    flags: ["--allow-net=127.0.0.1"],
  },
  {
    name: "http_server",
    about: "an HTTP/1.1 server over startServer, queried two ways",
    flags: ["--allow-net=127.0.0.1"],
  },
  {
    name: "chat",
    about: "a TCP chat server broadcasting through per-client queues",
    flags: ["--allow-net=127.0.0.1"],
  },
  {
    name: "introspection",
    about: "a stuck service, and the task dump that shows why",
    flags: ["--allow-net=127.0.0.1"],
  },
];

async function runExample(example: Example): Promise<boolean> {
  const file = new URL(`./${example.name}.ts`, import.meta.url).pathname;
  const args = ["run", ...example.flags, file];
  console.log(
    `\n$ deno ${
      ["run", ...example.flags, `examples/${example.name}.ts`].join(" ")
    }`,
  );
  const child = new Deno.Command("deno", {
    args,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const status = await child.status;
  return status.success;
}

if (import.meta.main) {
  const wanted = Deno.args;
  const unknown = wanted.filter((name) =>
    !EXAMPLES.some((e) => e.name === name)
  );
  if (unknown.length > 0) {
    console.error(`Unknown example: ${unknown.join(", ")}`);
    console.error(
      `Available: ${EXAMPLES.map((e) => `${e.name} (${e.about})`).join(", ")}`,
    );
    Deno.exit(2);
  }
  const chosen = wanted.length === 0
    ? EXAMPLES
    : EXAMPLES.filter((e) => wanted.includes(e.name));
  let failed = 0;
  for (const example of chosen) if (!(await runExample(example))) failed++;
  if (failed > 0) {
    console.error(`\n${failed} example(s) failed`);
    Deno.exit(1);
  }
}
