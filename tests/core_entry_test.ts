/**
 * `@aio/asyncio/core` (`src/core.ts`) is `mod.ts` without the I/O
 * adapters, and an adapter reached anyway on a runtime without Deno's API
 * says what it needs. Runs on Deno, Node and Bun.
 */
import assert from "node:assert/strict";
import * as mod from "../mod.ts";
import * as core from "../src/core.ts";
import * as executor from "../src/executor.ts";
import * as files from "../src/files.ts";
import * as net from "../src/net.ts";
import * as server from "../src/server.ts";
import * as subprocess from "../src/subprocess.ts";
import * as taskDump from "../src/task_dump.ts";
import { VirtualClock } from "../src/testing.ts";

const ADAPTERS = [net, server, files, subprocess, executor, taskDump];

Deno.test("src/core.ts exports what mod.ts does, less the I/O adapters", () => {
  const adapterNames = new Set(ADAPTERS.flatMap((m) => Object.keys(m)));
  const expected = Object.keys(mod).filter((name) => !adapterNames.has(name));
  assert.deepEqual(Object.keys(core).sort(), expected.sort());
  for (const name of Object.keys(core)) {
    assert.equal(
      (core as Record<string, unknown>)[name],
      (mod as Record<string, unknown>)[name],
      name,
    );
  }
});

/**
 * Runs `fn` with the named globals (members of `Deno`, or of globalThis
 * for "Worker") undefined, as on a runtime that lacks them; on Node and
 * Bun most are absent already.
 */
async function without(
  names: readonly string[],
  fn: () => Promise<void>,
): Promise<void> {
  const deno = Deno as unknown as Record<string, unknown>;
  const owner = (name: string): object => name === "Worker" ? globalThis : deno;
  const saved = names.map((name) =>
    Object.getOwnPropertyDescriptor(owner(name), name)
  );
  for (const name of names) {
    Object.defineProperty(owner(name), name, {
      value: undefined,
      configurable: true,
      writable: true,
    });
  }
  try {
    await fn();
  } finally {
    names.forEach((name, i) => {
      const descriptor = saved[i];
      if (descriptor === undefined) {
        delete (owner(name) as Record<string, unknown>)[name];
      } else Object.defineProperty(owner(name), name, descriptor);
    });
  }
}

Deno.test("adapters called where Deno's API is missing throw a TypeError that names it", async () => {
  const needsDeno = (action: string, api: string) => (error: unknown) => {
    assert.ok(error instanceof TypeError, String(error));
    assert.equal(
      error.message,
      `Cannot ${action}: this runtime has no Deno.${api} (the stream, file, ` +
        `subprocess and signal adapters need Deno; on Node and Bun, import ` +
        `the core from "@aio/asyncio/core")`,
    );
    return true;
  };
  const hidden = [
    "connect",
    "connectTls",
    "listen",
    "listenTls",
    "open",
    "readFile",
    "readTextFile",
    "writeFile",
    "writeTextFile",
    "Command",
    "addSignalListener",
    "Worker",
  ];
  await without(hidden, () =>
    mod.run(async () => {
      const address = { hostname: "127.0.0.1", port: 1 };
      await assert.rejects(
        mod.openConnection(address),
        needsDeno("open connection", "connect"),
      );
      await assert.rejects(
        mod.openConnection({ ...address, tls: true }),
        needsDeno("open connection", "connectTls"),
      );
      await assert.rejects(
        mod.startServer(() => {}, { ...address, port: 0 }),
        needsDeno("start server", "listen"),
      );
      const path = "tests/.tmp/never_created";
      for (const open of [mod.openReader, mod.openWriter, mod.openFile]) {
        await assert.rejects(open(path), needsDeno("open file", "open"));
      }
      assert.throws(
        () => mod.readFile(path),
        needsDeno("read file", "readFile"),
      );
      assert.throws(
        () => mod.readTextFile(path),
        needsDeno("read file", "readTextFile"),
      );
      assert.throws(
        () => mod.writeFile(path, new Uint8Array()),
        needsDeno("write file", "writeFile"),
      );
      assert.throws(
        () => mod.writeTextFile(path, ""),
        needsDeno("write file", "writeTextFile"),
      );
      await assert.rejects(
        mod.createSubprocessExec("true", []),
        needsDeno("spawn", "Command"),
      );
      await assert.rejects(
        mod.createSubprocessShell("true"),
        needsDeno("spawn", "Command"),
      );
      assert.throws(
        () => mod.getRunningLoop().addSignalHandler("SIGINT", () => {}),
        needsDeno("listen for signals", "addSignalListener"),
      );
      assert.throws(
        () => new mod.WorkerExecutor(),
        /^TypeError: Cannot create executor: this runtime has no Web Worker global/,
      );
    }, { clock: new VirtualClock() }));
});
