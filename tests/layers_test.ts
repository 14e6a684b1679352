/**
 * The architecture, enforced: every runtime import in src/ points to the
 * same layer or a lower one, and there is no import cycle. `import type` may
 * point anywhere (it vanishes at run time). src/README.md maps the same
 * layers, with the same numbers and names, saying what each file is: a new
 * file is given its layer in both. `deno task layers` runs this file alone.
 */
import assert from "node:assert/strict";

const LAYERS: readonly (readonly string[])[] = [
  // 0: errors and private data structures
  [
    "errors.ts",
    "_deque.ts",
    "_ready_queue.ts",
    "_heap.ts",
    "_current.ts",
    "_loops.ts",
    "_priority_heap.ts",
    "_bytes.ts",
    "_stream_hooks.ts",
    "_read_buffer.ts",
    "_write_buffer.ts",
    "_describe.ts",
    "_checks.ts",
    "_introspect.ts",
  ],
  // 1: the clock and the loop's interface
  ["clock.ts", "virtual_clock.ts", "abstract_event_loop.ts"],
  // 2: futures
  ["futures.ts"],
  // 3: tasks and sleep
  ["tasks.ts", "sleep.ts"],
  // 4: composition, locks, queues and streams
  [
    "gather.ts",
    "wait.ts",
    "shield.ts",
    "as_completed.ts",
    "timeouts.ts",
    "taskgroups.ts",
    "eager.ts",
    "_children.ts",
    "_waiters.ts",
    "lock.ts",
    "event.ts",
    "condition.ts",
    "semaphore.ts",
    "barrier.ts",
    "queues.ts",
    "stream_reader.ts",
    "stream_writer.ts",
    "_awaits.ts",
    "graph.ts",
    "tree.ts",
  ],
  // 5: the Deno adapters (the only files that may touch Deno.*)
  [
    "_deno.ts",
    "_signals.ts",
    "_held.ts",
    "_conn.ts",
    "net.ts",
    "server.ts",
    "executor.ts",
    "_executor_worker.ts",
    "files.ts",
    "subprocess.ts",
    "_env.ts",
    "_dump_socket.ts",
    "task_dump.ts",
    "ps_cli.ts",
    "_kv_envelope.ts",
    "_kv_dispatch.ts",
    "kv.ts",
  ],
  // 6: the concrete loop and the runners
  ["base_events.ts", "runners.ts"],
  // 7: entry points beside mod.ts: testing helpers, for users' tests, and
  // the core without the adapters, for every runtime
  ["testing.ts", "core.ts"],
];

const ADAPTER_LAYER = 5;
const srcDir = new URL("../src/", import.meta.url);

function layerOf(file: string): number {
  return LAYERS.findIndex((layer) => layer.includes(file));
}

async function sources(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(srcDir)) {
    if (entry.isFile && entry.name.endsWith(".ts")) {
      files.set(
        entry.name,
        await Deno.readTextFile(new URL(entry.name, srcDir)),
      );
    }
  }
  return files;
}

function runtimeImports(source: string): string[] {
  const imports: string[] = [];
  const pattern =
    /^\s*(import|export)\s+(type\s+)?[^;]*?from\s+"\.\/([^"]+)";/gms;
  for (const match of source.matchAll(pattern)) {
    if (match[2] === undefined) imports.push(match[3]);
  }
  return imports;
}

Deno.test("src/ files each have a layer", async () => {
  const unplaced = [...(await sources()).keys()].filter((f) => layerOf(f) < 0);
  assert.deepEqual(
    unplaced,
    [],
    "add these files to LAYERS in tests/layers_test.ts",
  );
});

Deno.test("src/README.md maps every file in the layer the test gives it", async () => {
  // Each "**Layer N: ...**" section of the map names its files in
  // backticks; a file named in two sections counts in the first.
  const map = await Deno.readTextFile(
    new URL("../src/README.md", import.meta.url),
  );
  const sections = map.split(/^\*\*Layer (\d+):/m).slice(1);
  const mapped = new Map<string, number>();
  for (let i = 0; i < sections.length; i += 2) {
    const layer = Number(sections[i]);
    const body = sections[i + 1].split(/^#+ /m)[0];
    for (const [, file] of body.matchAll(/`([a-z_]+\.ts)`/g)) {
      if (!mapped.has(file)) mapped.set(file, layer);
    }
  }
  const wrong = LAYERS.flatMap((files, layer) =>
    files.filter((file) => mapped.get(file) !== layer).map((file) =>
      `${file}: layer ${layer} here, ${mapped.get(file) ?? "absent"} in the map`
    )
  );
  assert.deepEqual(wrong, [], "make src/README.md's map agree with LAYERS");
});

Deno.test("src/ runtime imports point to the same layer or below", async () => {
  const upward: string[] = [];
  for (const [file, source] of await sources()) {
    for (const target of runtimeImports(source)) {
      if (layerOf(target) > layerOf(file)) upward.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(upward, []);
});

Deno.test("src/ has no import cycle", async () => {
  const files = await sources();
  const graph = new Map([...files].map(([f, s]) => [f, runtimeImports(s)]));
  const state = new Map<string, "visiting" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "visiting");
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

Deno.test("only the adapter layer touches Deno.*", async () => {
  const offenders: string[] = [];
  for (const [file, source] of await sources()) {
    if (layerOf(file) === ADAPTER_LAYER) continue;
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    if (/\bDeno\./.test(code)) offenders.push(file);
  }
  assert.deepEqual(offenders, []);
});

Deno.test("mod.ts exports nothing from _-prefixed files", async () => {
  const mod = await Deno.readTextFile(new URL("../mod.ts", import.meta.url));
  assert.doesNotMatch(mod, /from "\.\/src\/_/);
});

Deno.test("src/core.ts reaches only the adapters the loop itself calls, and no Deno type", async () => {
  const files = await sources();
  const pattern = /^\s*(?:import|export)\s[^;]*?from\s+"\.\/([^"]+)";/gms;
  const reached = new Set<string>();
  const visit = (file: string) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const match of (files.get(file) ?? "").matchAll(pattern)) {
      visit(match[1]);
    }
  };
  visit("core.ts");
  const adapters = [...reached].filter((f) => layerOf(f) === ADAPTER_LAYER);
  // The loop's runInExecutor and addSignalHandler, its debug-mode
  // variable (read only where Deno is), and the Deno check.
  assert.deepEqual(adapters.sort(), [
    "_deno.ts",
    "_env.ts",
    "_executor_worker.ts",
    "_signals.ts",
    "executor.ts",
  ]);
  // A `Deno.X` type in a declaration would not resolve for a Node user.
  const typed = [...reached].filter((file) =>
    /\bDeno\.[A-Z]/.test(
      files.get(file)!.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ""),
    )
  );
  assert.deepEqual(typed, []);
});
