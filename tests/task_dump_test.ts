/**
 * The live task dump, as an operator uses it: a service enables it in
 * one line, and the `ps` command asks it over a Unix socket that only its
 * owner can use; SIGUSR1 prints the tree to stderr. Both processes run
 * with exactly the permissions the README gives (the socket needs its
 * absolute path in `--allow-net=unix:`, so they are separate processes).
 */
import assert from "node:assert/strict";
import {
  captureTaskTree,
  createTask,
  enableTaskDump,
  gather,
  run,
  sleep,
} from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { assertRefuses } from "./_bad_args.ts";
import { withTempDir } from "./_tmp.ts";

const fixture = new URL("./fixtures/task_dump_service.ts", import.meta.url)
  .pathname;
const psCli = new URL("../src/ps_cli.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

function socketFlags(socket: string): string[] {
  return [
    `--allow-read=${socket}`,
    `--allow-write=${socket}`,
    `--allow-net=unix:${socket}`,
  ];
}

/** Runs the `ps` command against `socket`. */
async function ps(
  socket: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command("deno", {
    args: ["run", "--quiet", ...socketFlags(socket), psCli, ...args, socket],
    stdin: "null",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("enableTaskDump({ socket }) serves the table and the tree to the ps command, owner-only, while tasks come and go", async () => {
  await withTempDir(async (dir) => {
    const socket = `${dir}/tasks.sock`;
    const service = new Deno.Command("deno", {
      args: [
        "run",
        "--quiet",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        `--allow-net=unix:${socket}`,
        fixture,
        socket,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(service.stderr).text();
    const reader = service.stdout.getReader();
    let stdout = "";
    while (!stdout.includes("ready\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      stdout += decoder.decode(value, { stream: true });
    }
    try {
      assert.equal(stdout, "ready\n");
      const info = await Deno.lstat(socket);
      assert.ok(info.isSocket);
      assert.equal(info.mode! & 0o777, 0o600);

      // Several operators at once, while the service churns.
      const [table, tree, again] = await Promise.all([
        ps(socket),
        ps(socket, "--tree"),
        ps(socket, "--table"),
      ]);
      for (const result of [table, tree, again]) {
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stderr, "");
        assert.match(
          result.stdout,
          /^Tasks of process \d+ at \d{4}-\d\d-\d\dT[\d:.]+Z, loop time \d+ ms: \d+ tasks\n/,
        );
      }
      const rows = table.stdout.split("\n");
      assert.match(
        rows[1],
        /^id +name +state +age +created by +awaited by +awaits$/,
      );
      const row = (name: string) =>
        rows.find((line) => line.split(/ {2,}/)[1] === name);
      assert.match(
        row("worker")!,
        /waiting +\d+ ms +Task-1 +- +Queue\.get\(\) on <Queue maxsize=0 getters\[1\]>$/,
      );
      assert.match(
        row("locked-out")!,
        /Lock\.acquire\(\) on <Lock \[locked, waiters:1\]> held by 'Task-1'$/,
      );
      assert.match(row("sleeper")!, /sleep\(60000 ms\), due in \d+\.\d s$/);
      assert.match(
        tree.stdout,
        /\n└── \(T\) Task-1 \[0x[0-9a-f]+, waiting\] awaits /,
      );
      assert.match(
        tree.stdout,
        /\n {4}├── \(T\) worker \[spawned, 0x[0-9a-f]+, waiting, age \d+ ms\] awaits Queue\.get\(\)/,
      );

      // SIGUSR1: the tree, on the service's stderr.
      service.kill("SIGUSR1");
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await service.stdin.close();
    }
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stdout += decoder.decode(value, { stream: true });
    }
    const status = await service.status;
    const errors = await stderr;
    assert.equal(status.code, 0, errors);
    assert.equal(stdout, "ready\nsocket removed: true\n");
    assert.match(
      errors,
      /^Tasks of process \d+ at .*: \d+ tasks\n└── \(T\) Task-1 /,
    );
    assert.match(
      errors,
      /\(T\) locked-out \[spawned, 0x[0-9a-f]+, waiting, age \d+ ms\] awaits Lock\.acquire\(\)/,
    );
  });
});

Deno.test("ps says why it cannot ask, and how to call it", async () => {
  await withTempDir(async (dir) => {
    const socket = `${dir}/none.sock`;
    const missing = await ps(socket);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^ps: No such file or directory/);
    const usage = await ps(socket, "extra");
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr, "usage: ps [--tree | --table] <socket>\n");
    const option = await ps(socket, "--json");
    assert.equal(option.code, 2);
    assert.match(option.stderr, /^ps: unknown option --json\n/);
  });
});

Deno.test("enableTaskDump() refuses bad options, and a file in the socket's way", async () => {
  await assertRefuses("enableTaskDump", "options", enableTaskDump, {
    TypeError: [undefined, null, "5", 5],
  });
  await assertRefuses(
    "enableTaskDump",
    "signal",
    (v) => enableTaskDump({ signal: v }),
    { TypeError: ["SIGNOPE", 5, null] },
  );
  await assertRefuses(
    "enableTaskDump",
    "socket",
    (v) => enableTaskDump({ socket: v }),
    { TypeError: ["", 5, null, new URL("http://example.com/s")] },
  );
  await assertRefuses(
    "enableTaskDump",
    "loop",
    (v) => enableTaskDump({ signal: "SIGUSR2", loop: v }),
    { TypeError: ["5", {}, null] },
  );
  assert.throws(
    () => enableTaskDump({}),
    /^TypeError: Cannot enable task dump: expected options with a signal, a socket or both/,
  );
  await withTempDir(async (dir) => {
    const path = `${dir}/not-a-socket`;
    await Deno.writeTextFile(path, "keep me");
    assert.throws(
      () => enableTaskDump({ socket: path }),
      new Deno.errors.AlreadyExists(
        `Cannot enable task dump: ${path} exists and is not a socket`,
      ),
    );
    assert.equal(await Deno.readTextFile(path), "keep me");
  });
});

Deno.test("enableTaskDump() turns recording on for the tasks made while it is on", async () => {
  await run(async () => {
    const before = createTask(() => sleep(100), { name: "before" });
    const dump = enableTaskDump({ signal: "SIGUSR2" });
    const during = createTask(() => sleep(100), { name: "during" });
    dump.close();
    const after = createTask(() => sleep(100), { name: "after" });
    await sleep(10);
    const ages = Object.fromEntries(
      captureTaskTree().tasks.map((info) => [info.name, info.age]),
    );
    assert.deepEqual(
      [ages.before, ages.during, ages.after],
      [undefined, 10, undefined],
    );
    await gather(before, during, after);
  }, { clock: new VirtualClock(), handleSigint: false });
});
