/**
 * `ps`: asks a running process for its task dump, as
 * `python -m asyncio ps PID` / `pstree PID` do. The process must have
 * called `enableTaskDump({ socket })`; give this command the same path.
 *
 * ```sh
 * S=/run/app/tasks.sock
 * deno run --allow-read=$S --allow-write=$S --allow-net=unix:$S \
 *   jsr:@aio/asyncio/ps $S          # the table
 * deno run … jsr:@aio/asyncio/ps --tree $S   # the tree
 * ```
 *
 * @module
 */
import { checkOptions } from "./_checks.ts";
import { describe } from "./_describe.ts";
import { type DumpView, VIEWS } from "./_dump_socket.ts";

export type { DumpView } from "./_dump_socket.ts";

/** Options for `requestTaskDump`. */
export interface RequestTaskDumpOptions {
  /** `"tree"` (the default) or `"table"`. */
  view?: DumpView;
  /** Give up after this many milliseconds; 5000 by default. */
  timeout?: number;
}

/** The most a report may be, in bytes: ample for thousands of tasks. */
const MAX_REPORT = 64 * 1024 * 1024;

/**
 * Asks the process serving a task dump at `socket` for its task tree or
 * table, and returns the text.
 *
 * @param socket The socket's path (or file URL).
 * @param options The view, and a timeout in milliseconds.
 * @returns The report.
 * @throws {TypeError} If `socket` or an option has the wrong type.
 * @throws {RangeError} If `view` is unknown or `timeout` not a number >= 0.
 * @throws {Deno.errors.TimedOut} If no answer comes in time: the
 * process's thread is busy (a synchronous step blocks it).
 * @throws {Deno.errors.NotFound} If nothing serves at `socket`.
 *
 * @example Asking a process for its table
 * ```ts ignore
 * import { requestTaskDump } from "@aio/asyncio/ps";
 *
 * console.log(await requestTaskDump("/run/app/tasks.sock", { view: "table" }));
 * ```
 */
export async function requestTaskDump(
  socket: string | URL,
  options?: RequestTaskDumpOptions,
): Promise<string> {
  const path = socket instanceof URL
    ? decodeURIComponent(socket.pathname)
    : socket;
  if (typeof path !== "string" || path === "") {
    throw new TypeError(
      `Cannot request task dump: expected socket as a path or file URL, got ${
        describe(socket)
      }`,
    );
  }
  checkOptions("request task dump", options);
  const view = options?.view ?? "tree";
  if (!(VIEWS as readonly unknown[]).includes(view)) {
    throw new RangeError(
      `Cannot request task dump: expected view as ${
        VIEWS.map((v) => JSON.stringify(v)).join(" or ")
      }, got ${JSON.stringify(view)}`,
    );
  }
  const ms = options?.timeout ?? 5000;
  if (typeof ms !== "number" || !(ms >= 0)) {
    throw new (typeof ms === "number" ? RangeError : TypeError)(
      `Cannot request task dump: expected timeout as a number of milliseconds >= 0, got ${
        typeof ms === "number" ? ms : describe(ms)
      }`,
    );
  }
  const conn = await Deno.connect({ transport: "unix", path });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, ms);
  try {
    await conn.write(new TextEncoder().encode(`${view}\n`));
    const chunks: Uint8Array[] = [];
    let size = 0;
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      size += n;
      if (size > MAX_REPORT) {
        throw new RangeError(
          `Cannot request task dump: the report is over ${MAX_REPORT} bytes`,
        );
      }
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return new TextDecoder().decode(bytes).replace(/\n$/, "");
  } catch (error) {
    if (timedOut) {
      throw new Deno.errors.TimedOut(
        `Cannot request task dump: no answer from ${path} within ${ms} ms; ` +
          "its thread may be blocked by a long synchronous step",
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
    if (!timedOut) conn.close();
  }
}

const USAGE = "usage: ps [--tree | --table] <socket>";

/** The command line: prints the report, or why it could not. */
async function main(args: readonly string[]): Promise<number> {
  let view: DumpView = "table";
  const paths: string[] = [];
  for (const arg of args) {
    if (arg === "--tree") view = "tree";
    else if (arg === "--table") view = "table";
    else if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      return 0;
    } else if (arg.startsWith("-")) {
      console.error(`ps: unknown option ${arg}\n${USAGE}`);
      return 2;
    } else paths.push(arg);
  }
  if (paths.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  try {
    console.log(await requestTaskDump(paths[0], { view }));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`ps: ${message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
