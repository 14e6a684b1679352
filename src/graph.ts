/**
 * Call graphs, as asyncio 3.14's `asyncio.graph`: for the current task or
 * any Task or Future, where it is (its call stack) and who awaits it
 * (`awaitedBy`, followed through `gather`, `shield`, `wait`, `waitFor`,
 * `asCompleted`, `TaskGroup` and tasks awaiting tasks).
 *
 * Where JavaScript gives less than Python: a suspended async function
 * exposes no frames, so the call stack of a task that is not running is
 * the one captured when its await began — which debug mode does
 * (`run(main, { debug: true })`): V8 puts the awaiting async functions in
 * that stack, so it reads as Python's coroutine stack. Outside debug mode
 * a suspended task's call stack is empty, and the graph says what it
 * awaits instead. The running task's own stack is always there.
 *
 * @module
 */
import {
  awaitersOf,
  describeAwait,
  hexId,
  stateOf,
  waitsOf,
} from "./_awaits.ts";
import { checkOptions } from "./_checks.ts";
import { describe } from "./_describe.ts";
import {
  awaitFrames,
  displayPath,
  parseStack,
  type StackFrame,
} from "./_introspect.ts";
import { InvalidStateError } from "./errors.ts";
import { findRunningLoop } from "./_loops.ts";
import { Future } from "./futures.ts";
import { currentTask, Task } from "./tasks.ts";

/**
 * One frame of a call stack: a function and the place in its source.
 * asyncio: `asyncio.FrameCallGraphEntry` (which holds a frame object;
 * JavaScript has none, so the frame's parts are given instead).
 */
export interface FrameCallGraphEntry {
  /** The function's name; `""` for a module's top level. */
  readonly functionName: string;
  /** The module's URL (a `file:` URL for a local file). */
  readonly fileName: string;
  /** The line, from 1. */
  readonly lineNumber: number;
  /** The column, from 1. */
  readonly columnNumber: number;
  /** An async function suspended at an await (V8's `at async` frames). */
  readonly isAsync: boolean;
}

/**
 * A future, its call stack, and the call graphs of what awaits it.
 * asyncio: `asyncio.FutureCallGraph`.
 */
export interface FutureCallGraph {
  /** The Task or Future. */
  readonly future: Future<unknown>;
  /**
   * Its call stack, innermost frame first: the running task's live stack,
   * or where a suspended task's await began (debug mode only; empty
   * otherwise, and for a Future that is not a Task).
   */
  readonly callStack: readonly FrameCallGraphEntry[];
  /** The call graphs of the tasks and futures awaiting it. */
  readonly awaitedBy: readonly FutureCallGraph[];
}

/** Options for `captureCallGraph`, `formatCallGraph` and `printCallGraph`. */
export interface CallGraphOptions {
  /**
   * For the running task: how many frames to skip from the top, counting
   * the caller of `captureCallGraph` as 1 (the default).
   */
  depth?: number;
  /**
   * Keep at most `|limit|` frames of each call stack: the outermost ones
   * (nearest where the task began) for a positive limit, the innermost for
   * a negative one, none for 0. All by default.
   */
  limit?: number | null;
}

function checkCallGraphArgs(
  action: string,
  future: unknown,
  options: CallGraphOptions | undefined,
): { depth: number; limit: number | null } {
  if (future !== undefined && !(future instanceof Future)) {
    throw new TypeError(
      `Cannot ${action}: expected future as a Future or Task, got ${
        describe(future)
      }`,
    );
  }
  checkOptions(action, options);
  const depth = options?.depth === undefined ? 1 : options.depth;
  if (typeof depth !== "number") {
    throw new TypeError(
      `Cannot ${action}: expected depth as a number, got ${describe(depth)}`,
    );
  }
  if (!Number.isInteger(depth) || depth < 1) {
    throw new RangeError(
      `Cannot ${action}: expected depth as an integer >= 1, got ${depth}`,
    );
  }
  const limit = options?.limit ?? null;
  if (limit !== null && typeof limit !== "number") {
    throw new TypeError(
      `Cannot ${action}: expected limit as a number or null, got ${
        describe(limit)
      }`,
    );
  }
  if (limit !== null && !Number.isInteger(limit)) {
    throw new RangeError(
      `Cannot ${action}: expected limit as an integer, got ${limit}`,
    );
  }
  return { depth, limit };
}

function truncate(
  stack: readonly FrameCallGraphEntry[],
  limit: number | null,
): readonly FrameCallGraphEntry[] {
  if (limit === null) return stack;
  if (limit === 0) return [];
  // Innermost first: a positive limit keeps the outermost frames.
  return limit > 0 ? stack.slice(-limit) : stack.slice(0, -limit);
}

function suspendedStack(future: Future<unknown>): StackFrame[] {
  if (!(future instanceof Task)) return [];
  const wait = waitsOf(future)[0];
  return wait === undefined ? [] : awaitFrames(wait);
}

function build(
  future: Future<unknown>,
  callStack: readonly FrameCallGraphEntry[],
  limit: number | null,
  path: Set<Future<unknown>>,
): FutureCallGraph {
  path.add(future);
  const awaitedBy: FutureCallGraph[] = [];
  for (const awaiter of awaitersOf(future)) {
    // An await cycle (a deadlock) ends the walk where it closes.
    if (path.has(awaiter)) {
      awaitedBy.push({ future: awaiter, callStack: [], awaitedBy: [] });
      continue;
    }
    awaitedBy.push(
      build(awaiter, truncate(suspendedStack(awaiter), limit), limit, path),
    );
  }
  path.delete(future);
  return { future, callStack, awaitedBy };
}

/**
 * Captures the call graph of the current task, or of `future`: its call
 * stack and, recursively, the call graphs of what awaits it. asyncio:
 * `asyncio.capture_call_graph()`.
 *
 * @param future A Task or Future; the current task by default.
 * @param options `depth` (frames to skip, for the current task) and
 * `limit` (frames to keep per stack).
 * @returns The graph, or `undefined` if no future was given and no task
 * is running.
 * @throws {TypeError} If `future` is not a Future, or an option has the
 * wrong type.
 * @throws {RangeError} If `depth` or `limit` is not an integer in range.
 * @throws {InvalidStateError} If no future is given and no loop is
 * running.
 *
 * @example Who awaits a task
 * ```ts
 * import { captureCallGraph, createTask, run, sleep } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const child = createTask(() => sleep(10), { name: "child" });
 *   const parent = createTask(() => child, { name: "parent" });
 *   await sleep(0);
 *   const graph = captureCallGraph(child)!;
 *   assert.equal(graph.future, child);
 *   assert.equal(graph.awaitedBy[0].future, parent);
 *   await parent;
 * });
 * ```
 */
export function captureCallGraph(
  future?: Future<unknown>,
  options?: CallGraphOptions,
): FutureCallGraph | undefined {
  const { depth, limit } = checkCallGraphArgs(
    "capture call graph",
    future,
    options,
  );
  const current = currentTask();
  if (future === undefined) {
    if (findRunningLoop() === undefined) {
      throw new InvalidStateError(
        "Cannot capture call graph: no event loop is running and no future " +
          "was given; pass the Task or Future to look at",
      );
    }
    if (current === undefined) return undefined;
    future = current;
  }
  let stack: FrameCallGraphEntry[];
  if (future === current) {
    // The running task: its live stack, from the caller down (V8 adds
    // the async functions awaiting this one).
    stack = parseStack(new Error().stack ?? "").slice(depth - 1);
  } else {
    stack = suspendedStack(future);
  }
  return build(future, truncate(stack, limit), limit, new Set());
}

function formatEntry(frame: FrameCallGraphEntry): string {
  const name = frame.functionName === "" ? "<module>" : frame.functionName;
  return `File '${displayPath(frame.fileName)}', line ${frame.lineNumber}, ` +
    `in ${frame.isAsync ? "async " : ""}${name}()`;
}

function render(
  graph: FutureCallGraph,
  lines: string[],
  level: number,
  path: Set<Future<unknown>>,
  now: number,
): void {
  const indent = "    ".repeat(level);
  const add = (line: string): void => {
    lines.push(indent + line);
  };
  const future = graph.future;
  if (future instanceof Task) {
    add(`* Task(name='${future.getName()}', id=${hexId(future)})`);
  } else {
    add(`* Future(id=${hexId(future)}) ${describeAwait(future, now)}`);
  }
  if (path.has(future)) {
    add(
      "  + Await cycle: this task awaits itself through the tasks above (a deadlock)",
    );
    return;
  }
  if (future instanceof Task && stateOf(future) === "waiting") {
    const waits = waitsOf(future).map((wait) =>
      describeAwait(wait.future, now)
    );
    add(`  + Awaiting: ${waits.join("; ")}`);
  }
  if (graph.callStack.length > 0) {
    add("  + Call stack:");
    for (const frame of graph.callStack) add(`  |   ${formatEntry(frame)}`);
  }
  if (graph.awaitedBy.length > 0) {
    add("  + Awaited by:");
    path.add(future);
    for (const awaiter of graph.awaitedBy) {
      render(awaiter, lines, level + 1, path, now);
    }
    path.delete(future);
  }
}

/**
 * The call graph of the current task, or of `future`, as text: each
 * future with its call stack and what it awaits, then what awaits it,
 * indented. asyncio: `asyncio.format_call_graph()`.
 *
 * @param future A Task or Future; the current task by default.
 * @param options `depth` and `limit`, as for `captureCallGraph`.
 * @returns The text, or `""` if no future was given and no task runs.
 * @throws {TypeError} If `future` is not a Future, or an option has the
 * wrong type.
 * @throws {RangeError} If `depth` or `limit` is out of range.
 * @throws {InvalidStateError} If no future is given and no loop runs.
 *
 * @example A task awaited through gather
 * ```ts
 * import { createTask, formatCallGraph, gather, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const worker = createTask(() => sleep(500), { name: "worker" });
 *   const main = createTask(() => gather(worker), { name: "main" });
 *   await sleep(100);
 *   const text = formatCallGraph(worker);
 *   assert.match(text, /^\* Task\(name='worker', id=0x[0-9a-f]+\)$/m);
 *   assert.match(text, /\+ Awaiting: sleep\(500 ms\), due in 400 ms/);
 *   assert.match(text, /\* Future\(id=0x[0-9a-f]+\) gather of 1 \(0 done\)/);
 *   assert.match(text, /\* Task\(name='main', id=0x[0-9a-f]+\)/);
 *   await main;
 * }, { clock: new VirtualClock() });
 * ```
 */
export function formatCallGraph(
  future?: Future<unknown>,
  options?: CallGraphOptions,
): string {
  checkCallGraphArgs("format call graph", future, options);
  // This module's frames are left out of stacks, so `depth` counts from
  // the caller here too.
  const graph = captureCallGraph(future, options);
  if (graph === undefined) return "";
  const lines: string[] = [];
  render(graph, lines, 0, new Set(), graph.future.getLoop().time());
  return lines.join("\n");
}

/**
 * Prints `formatCallGraph(future, options)` with `console.log`. asyncio:
 * `asyncio.print_call_graph()`.
 *
 * @param future A Task or Future; the current task by default.
 * @param options `depth` and `limit`, as for `captureCallGraph`.
 * @throws {TypeError} If `future` is not a Future, or an option has the
 * wrong type.
 * @throws {RangeError} If `depth` or `limit` is out of range.
 * @throws {InvalidStateError} If no future is given and no loop runs.
 *
 * @example Printing where the current task is
 * ```ts
 * import { createTask, printCallGraph, run } from "@aio/asyncio";
 *
 * await run(async () => {
 *   await createTask(async () => printCallGraph(), { name: "reporter" });
 * });
 * // * Task(name='reporter', id=0x1)
 * //   + Call stack:
 * //   |   File '/path/to/example.ts', line 4, in …()
 * //   + Awaited by:
 * //     * Task(name='Task-1', id=0x2)
 * //       + Awaiting: Task 'reporter'
 * ```
 */
export function printCallGraph(
  future?: Future<unknown>,
  options?: CallGraphOptions,
): void {
  console.log(formatCallGraph(future, options));
}
