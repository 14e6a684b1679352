/**
 * The live task dump: one line of code lets an operator see what every
 * task of a running process waits for, without restarting it — on a
 * signal (the tree goes to stderr) or on a Unix socket (ask it with the
 * `ps` command: `deno run … jsr:@aio/asyncio/ps <socket>`). Nothing
 * listens unless asked. asyncio's nearest equivalents are
 * `python -m asyncio ps PID` and `pstree PID`, which read another
 * process's memory; a JavaScript runtime has no such door, so the process
 * opens one itself.
 *
 * @module
 */
import { currentTaskStore } from "./_current.ts";
import { checkOptions } from "./_checks.ts";
import { describe } from "./_describe.ts";
import { type DumpServer, type DumpView, serveDumps } from "./_dump_socket.ts";
import { requestRecording } from "./_introspect.ts";
import { checkSignalName, listenForSignal, type Signal } from "./_signals.ts";
import { findRunningLoop } from "./_loops.ts";
import type { AbstractEventLoop } from "./abstract_event_loop.ts";
import { captureTaskTree, formatTaskTable, formatTaskTree } from "./tree.ts";

/** Options for `enableTaskDump`: a signal, a socket, or both. */
export interface TaskDumpOptions {
  /**
   * Print the task tree to stderr when this signal arrives, e.g.
   * `"SIGUSR1"` (`kill -USR1 <pid>`). Replaces no handler of the loop's,
   * and keeps no process alive.
   */
  signal?: Signal;
  /**
   * Serve the task table and tree on a Unix socket created at this path,
   * that only the owner can connect to (mode 0600). Needs
   * `--allow-read`, `--allow-write` and `--allow-net=unix:` for the path
   * (and `--allow-sys=umask` to create it owner-only from the start,
   * rather than right after it is bound). A socket left there by an
   * earlier run is replaced.
   */
  socket?: string | URL;
  /**
   * The loop to dump; by default the loop running when the dump is asked
   * for (so it can be enabled before `run(main)`).
   */
  loop?: AbstractEventLoop;
}

/**
 * A live task dump, from `enableTaskDump`. `close()` (or `using`) stops
 * it: the signal is no longer handled and the socket is removed.
 *
 * @example For the length of a block
 * ```ts
 * import { enableTaskDump, run, sleep } from "@aio/asyncio";
 *
 * await run(async () => {
 *   using _dump = enableTaskDump({ signal: "SIGUSR1" });
 *   await sleep(10); // kill -USR1 <pid> now prints the tree
 * }); // and from here on, SIGUSR1 is no longer handled
 * ```
 */
export class TaskDump implements Disposable {
  #stopSignal: (() => void) | undefined;
  #server: DumpServer | undefined;
  #closed = false;

  /**
   * Not for direct use: `enableTaskDump` makes task dumps.
   *
   * @param stopSignal Stops handling the signal.
   * @param server The socket server.
   */
  constructor(
    stopSignal: (() => void) | undefined,
    server: DumpServer | undefined,
  ) {
    this.#stopSignal = stopSignal;
    this.#server = server;
  }

  /** The socket's path, if the dump serves one. */
  get socket(): string | undefined {
    return this.#server?.path;
  }

  /**
   * Stops the dump: the signal is no longer handled, the socket stops
   * listening and its file is removed. Closing twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopSignal?.();
    this.#server?.close();
    requestRecording(-1);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The report for one view: a header naming the process and the time,
 * then the task tree or table of the loop.
 */
function report(loop: AbstractEventLoop | undefined, view: DumpView): string {
  // Taken from outside every task: the signal and socket callbacks may
  // run in the context of the task that enabled the dump, which would
  // then look like the running one.
  return currentTaskStore.exit(() => reportNow(loop, view));
}

function reportNow(
  loop: AbstractEventLoop | undefined,
  view: DumpView,
): string {
  const target = loop ?? findRunningLoop();
  const header = `Tasks of process ${Deno.pid} at ${new Date().toISOString()}`;
  if (target === undefined) return `${header}: no event loop is running`;
  if (target.isClosed()) return `${header}: the event loop is closed`;
  const tree = captureTaskTree({ loop: target });
  const body = view === "table" ? formatTaskTable(tree) : formatTaskTree(tree);
  const count = tree.tasks.length;
  return `${header}, loop time ${Math.round(tree.time)} ms: ${count} task${
    count === 1 ? "" : "s"
  }\n${body}`;
}

/**
 * Lets an operator see what every task waits for while the process runs:
 * on `signal`, the task tree is printed to stderr; on `socket`, a Unix
 * socket serves the table and the tree to the `ps` command
 * (`deno run --allow-read=S --allow-write=S --allow-net=unix:S
 * jsr:@aio/asyncio/ps S`, with `S` the socket's path). While the dump is
 * on, each new task's creator and creation time are recorded, so the
 * tree can show them. asyncio: `python -m asyncio ps/pstree PID`.
 *
 * @param options `signal` and/or `socket`, and the `loop` to dump.
 * @returns The dump; `close()` it to stop.
 * @throws {TypeError} If neither `signal` nor `socket` is given, the
 * signal is unknown, or the socket path is not a string or file URL.
 * @throws {Deno.errors.AlreadyExists} If a file that is not a socket is
 * at the socket's path (it is left alone).
 * @throws {Deno.errors.NotCapable} Without the permissions the socket needs.
 *
 * @example The tree on SIGUSR1
 * ```ts
 * import { enableTaskDump, run, sleep } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * // One line at startup; then `kill -USR1 <pid>` prints the tree.
 * const dump = enableTaskDump({ signal: "SIGUSR1" });
 * assert.equal(dump.socket, undefined);
 * await run(() => sleep(10));
 * dump.close();
 * ```
 *
 * @example Serving the dump on a socket, and asking it
 * ```ts ignore
 * // deno run --allow-read=/run/app --allow-write=/run/app \
 * //   --allow-net=unix:/run/app/tasks.sock --allow-sys=umask app.ts
 * import { enableTaskDump, run } from "@aio/asyncio";
 *
 * enableTaskDump({ socket: "/run/app/tasks.sock" });
 * await run(main);
 * // Elsewhere: deno run --allow-read=/run/app/tasks.sock \
 * //   --allow-write=/run/app/tasks.sock --allow-net=unix:/run/app/tasks.sock \
 * //   jsr:@aio/asyncio/ps /run/app/tasks.sock
 * ```
 */
export function enableTaskDump(options: TaskDumpOptions): TaskDump {
  checkOptions("enable task dump", options);
  const { signal, socket, loop } = options ?? {};
  if (signal === undefined && socket === undefined) {
    throw new TypeError(
      "Cannot enable task dump: expected options with a signal, a socket or both, " +
        'e.g. enableTaskDump({ signal: "SIGUSR1" })',
    );
  }
  if (signal !== undefined) checkSignalName("enable task dump", signal);
  let path: string | undefined;
  if (socket !== undefined) {
    if (socket instanceof URL && socket.protocol === "file:") {
      path = decodeURIComponent(socket.pathname);
    } else if (typeof socket === "string" && socket !== "") path = socket;
    else {
      throw new TypeError(
        `Cannot enable task dump: expected socket as a path or file URL, got ${
          describe(socket)
        }`,
      );
    }
  }
  if (
    loop !== undefined &&
    (loop === null || typeof loop !== "object" ||
      typeof (loop as AbstractEventLoop)._tasks !== "function")
  ) {
    throw new TypeError(
      `Cannot enable task dump: expected loop as an event loop, got ${
        describe(loop)
      }`,
    );
  }
  const server = path === undefined
    ? undefined
    : serveDumps(path, (view) => report(loop, view));
  let stopSignal: (() => void) | undefined;
  if (signal !== undefined) {
    try {
      stopSignal = listenForSignal(signal, () => {
        console.error(report(loop, "tree"));
      });
    } catch (error) {
      server?.close();
      throw error;
    }
  }
  requestRecording(1);
  return new TaskDump(stopSignal, server);
}
