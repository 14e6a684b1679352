/**
 * The task tree of a whole loop, as `python -m asyncio ps` (a table) and
 * `pstree` (a tree): every task that is not done, with its name, state,
 * age, creator and what it awaits in words, nested under what awaits it;
 * tasks that await each other in a circle are reported as a deadlock.
 *
 * A task's creator and age are known for tasks made while debug mode or a
 * task dump (`enableTaskDump`) is on: keeping them costs a clock read per
 * task, which the module does not pay otherwise.
 *
 * @module
 */
import {
  awaitingTasks,
  describeAwait,
  hexId,
  idOf,
  stateOf,
  type TaskState,
  tasksThrough,
  waitsOf,
} from "./_awaits.ts";
import { checkOptions } from "./_checks.ts";
import { describe } from "./_describe.ts";
import {
  awaitFrames,
  creationFrames,
  formatDuration,
  siteOf,
  taskRecord,
} from "./_introspect.ts";
import { InvalidStateError } from "./errors.ts";
import { findRunningLoop } from "./_loops.ts";
import type { AbstractEventLoop } from "./abstract_event_loop.ts";
import type { Future } from "./futures.ts";
import { Task } from "./tasks.ts";

export type { TaskState } from "./_awaits.ts";

/** One await a task has in flight. */
export interface AwaitingInfo {
  /** The Task or Future awaited. */
  readonly future: Future<unknown>;
  /** What it is, in words: `sleep(500 ms), due in 120 ms`. */
  readonly description: string;
  /** Where the await began, as `file:line` (debug mode only). */
  readonly site: string | undefined;
}

/** A task in the tree. */
export interface TaskInfo {
  /** The task. */
  readonly task: Task<unknown>;
  /** Its id, as the table shows it (`0x2a`). */
  readonly id: string;
  /** Its name. */
  readonly name: string;
  /**
   * `pending` (not started), `running` (the current task), `waiting` (on
   * loop awaitables), or `suspended` (on something else, such as a plain
   * promise).
   */
  readonly state: TaskState;
  /** How many cancellation requests are pending (`task.cancelling()`). */
  readonly cancelling: number;
  /** Milliseconds of loop time since it was created, if recorded. */
  readonly age: number | undefined;
  /** The task that created it, if recorded. */
  readonly createdBy: Task<unknown> | undefined;
  /** Where it was created, as `file:line` (debug mode only). */
  readonly createdAt: string | undefined;
  /** Its awaits in flight. */
  readonly awaiting: readonly AwaitingInfo[];
  /** The tasks it awaits, directly or through gather, wait, shield, … */
  readonly awaits: readonly Task<unknown>[];
  /** The tasks awaiting it (a TaskGroup's parent awaits the group's tasks). */
  readonly awaitedBy: readonly Task<unknown>[];
  /** The tasks nested under it in the tree. */
  readonly children: readonly TaskInfo[];
  /** Nested because it created the task, not because it awaits it. */
  readonly spawned: boolean;
}

/** A snapshot of a loop's tasks. */
export interface TaskTree {
  /** The loop's time when the snapshot was taken. */
  readonly time: number;
  /** Every task not done, in the order they were created. */
  readonly tasks: readonly TaskInfo[];
  /** The tasks nothing awaits or created (that is still there). */
  readonly roots: readonly TaskInfo[];
  /**
   * Await cycles: each a list of tasks where each awaits the next and the
   * last awaits the first (through futures, combinators, or a lock the
   * next one holds). None of them can ever go on.
   */
  readonly deadlocks: readonly (readonly TaskInfo[])[];
}

/** Options for `captureTaskTree`. */
export interface TaskTreeOptions {
  /** The loop; the running loop by default. */
  loop?: AbstractEventLoop;
}

interface MutableInfo extends TaskInfo {
  children: TaskInfo[];
  spawned: boolean;
}

/**
 * Takes a snapshot of every task of a loop that is not done: what each
 * awaits, what awaits it, who created it, and the await cycles among
 * them. The snapshot is taken at once, so it is consistent even if tasks
 * move on (or are cancelled) right after.
 *
 * @param options The loop; the running loop by default.
 * @returns The tree.
 * @throws {TypeError} If `options` is not an object.
 * @throws {InvalidStateError} If no loop is given and none is running.
 *
 * @example Finding a deadlock
 * ```ts
 * import { captureTaskTree, newEventLoop, sleep, type Task } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const loop = newEventLoop();
 * const tasks: Task<unknown>[] = [];
 * tasks[0] = loop.createTask(async () => { await sleep(1); await tasks[1]; }, { name: "a" });
 * tasks[1] = loop.createTask(async () => { await sleep(1); await tasks[0]; }, { name: "b" });
 * await loop.runUntilComplete(() => sleep(10));
 * const tree = captureTaskTree({ loop });
 * assert.deepEqual(tree.deadlocks.map((cycle) => cycle.map((t) => t.name)), [["a", "b"]]);
 * loop.close(); // a deadlock never ends: not even cancel() can end it
 * ```
 */
export function captureTaskTree(options?: TaskTreeOptions): TaskTree {
  checkOptions("capture task tree", options);
  const loop = options?.loop ?? findRunningLoop();
  if (loop === undefined) {
    throw new InvalidStateError(
      "Cannot capture task tree: no event loop is running; pass { loop }",
    );
  }
  const now = loop.time();
  const tasks = [...loop._tasks()].filter((task) => !task.done());
  const live = new Set(tasks);
  const infos = new Map<Task<unknown>, MutableInfo>();
  for (const task of tasks) {
    const record = taskRecord(task);
    const creator = record?.creator?.deref() as Task<unknown> | undefined;
    const waits = waitsOf(task);
    const awaits = new Set<Task<unknown>>();
    for (const wait of waits) {
      for (const t of tasksThrough(wait.future, false)) awaits.add(t);
    }
    infos.set(task, {
      task,
      id: hexId(task),
      name: task.getName(),
      state: stateOf(task),
      cancelling: task.cancelling(),
      age: record === undefined ? undefined : now - record.createdAt,
      createdBy: creator instanceof Task ? creator : undefined,
      createdAt: siteOf(creationFrames(task)),
      awaiting: waits.map((wait) => ({
        future: wait.future as Future<unknown>,
        description: describeAwait(wait.future, now),
        site: siteOf(awaitFrames(wait)),
      })),
      awaits: [...awaits],
      awaitedBy: awaitingTasks(task),
      children: [],
      spawned: false,
    });
  }
  // Nest each task under a task awaiting it, else under its creator, as
  // long as that makes no loop among the chosen parents.
  const parentOf = new Map<Task<unknown>, Task<unknown>>();
  const wouldLoop = (task: Task<unknown>, parent: Task<unknown>): boolean => {
    for (let p: Task<unknown> | undefined = parent; p; p = parentOf.get(p)) {
      if (p === task) return true;
    }
    return false;
  };
  const roots: TaskInfo[] = [];
  for (const task of tasks) {
    const info = infos.get(task)!;
    let parent = info.awaitedBy.find((p) => live.has(p) && !wouldLoop(task, p));
    if (
      parent === undefined && info.createdBy !== undefined &&
      live.has(info.createdBy) && !wouldLoop(task, info.createdBy)
    ) {
      parent = info.createdBy;
      info.spawned = true;
    }
    if (parent === undefined) roots.push(info);
    else {
      parentOf.set(task, parent);
      infos.get(parent)!.children.push(info);
    }
  }
  return {
    time: now,
    tasks: [...infos.values()],
    roots,
    deadlocks: findCycles(tasks, live).map((cycle) =>
      cycle.map((task) => infos.get(task)!)
    ),
  };
}

/**
 * The await cycles among `tasks`: depth-first search for back edges over
 * "awaits" (through futures and combinators) and "waits for the holder of"
 * (a lock), each cycle reported once, starting at its oldest task.
 */
function findCycles(
  tasks: readonly Task<unknown>[],
  live: ReadonlySet<Task<unknown>>,
): Task<unknown>[][] {
  const edges = new Map<Task<unknown>, Task<unknown>[]>();
  for (const task of tasks) {
    const next = new Set<Task<unknown>>();
    for (const wait of waitsOf(task)) {
      for (const t of tasksThrough(wait.future, true)) {
        if (live.has(t)) next.add(t);
      }
    }
    edges.set(task, [...next]);
  }
  const color = new Map<Task<unknown>, "grey" | "black">();
  const path: Task<unknown>[] = [];
  const cycles: Task<unknown>[][] = [];
  const seen = new Set<string>();
  const visit = (task: Task<unknown>): void => {
    color.set(task, "grey");
    path.push(task);
    for (const next of edges.get(task) ?? []) {
      const c = color.get(next);
      if (c === undefined) visit(next);
      else if (c === "grey") {
        const cycle = path.slice(path.indexOf(next));
        // Start at the oldest task, so a cycle reads the same every time.
        let first = 0;
        for (let i = 1; i < cycle.length; i++) {
          if (idOf(cycle[i]) < idOf(cycle[first])) first = i;
        }
        const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
        const key = rotated.map(idOf).join(",");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(rotated);
        }
      }
    }
    path.pop();
    color.set(task, "black");
  };
  for (const task of tasks) if (!color.has(task)) visit(task);
  return cycles;
}

function treeFrom(tree: TaskTree | undefined, action: string): TaskTree {
  if (tree === undefined) return captureTaskTree();
  if (
    tree === null || typeof tree !== "object" || !Array.isArray(tree.tasks) ||
    !Array.isArray(tree.roots) || !Array.isArray(tree.deadlocks)
  ) {
    throw new TypeError(
      `Cannot ${action}: expected a TaskTree from captureTaskTree(), got ${
        describe(tree)
      }`,
    );
  }
  return tree;
}

function stateText(info: TaskInfo): string {
  return info.cancelling > 0 ? `${info.state}, cancelling` : info.state;
}

function awaitingText(info: TaskInfo, withSites: boolean): string {
  if (info.awaiting.length === 0) {
    switch (info.state) {
      case "pending":
        return "not started yet";
      case "running":
        return "running now";
      default:
        return "a promise that is not a loop awaitable";
    }
  }
  return info.awaiting.map((a) =>
    withSites && a.site !== undefined
      ? `${a.description} (at ${a.site})`
      : a.description
  ).join("; ");
}

function deadlockLines(tree: TaskTree): string[] {
  const lines: string[] = [];
  for (const cycle of tree.deadlocks) {
    const names = [...cycle, cycle[0]].map((t) => `'${t.name}' (${t.id})`);
    lines.push(`Deadlock: these tasks await each other in a circle:`);
    lines.push(`  ${names.join(" → ")}`);
    for (const info of cycle) {
      lines.push(`  '${info.name}' awaits ${awaitingText(info, true)}`);
    }
  }
  if (lines.length > 0) lines.push("");
  return lines;
}

/**
 * The tasks as a table, one per line, as `python -m asyncio ps`: id,
 * name, state, age, creator, the tasks awaiting it, and what it awaits in
 * words. Deadlocks come first.
 *
 * @param tree A snapshot from `captureTaskTree`; the running loop's now by
 * default.
 * @returns The text.
 * @throws {TypeError} If `tree` is not a TaskTree.
 * @throws {InvalidStateError} If no tree is given and no loop is running.
 *
 * @example A worker waiting on a queue
 * ```ts
 * import { createTask, formatTaskTable, Queue, run, sleep } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const jobs = new Queue<string>();
 *   const worker = createTask(() => jobs.get(), { name: "worker" });
 *   await sleep(0);
 *   const table = formatTaskTable();
 *   assert.match(table, /worker +waiting .* Queue\.get\(\) on <Queue maxsize=0 getters\[1\]>/);
 *   worker.cancel();
 * });
 * ```
 */
export function formatTaskTable(tree?: TaskTree): string {
  const snapshot = treeFrom(tree, "format task table");
  const header = [
    "id",
    "name",
    "state",
    "age",
    "created by",
    "awaited by",
    "awaits",
  ];
  const rows = snapshot.tasks.map((info) => [
    info.id,
    info.name,
    stateText(info),
    info.age === undefined ? "-" : formatDuration(info.age),
    info.createdBy === undefined ? "-" : info.createdBy.getName(),
    info.awaitedBy.length === 0
      ? "-"
      : info.awaitedBy.map((t) => t.getName()).join(", "),
    awaitingText(info, true),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length))
  );
  const line = (cells: string[]): string =>
    cells.map((cell, i) =>
      i === cells.length - 1 ? cell : cell.padEnd(widths[i])
    )
      .join("  ").trimEnd();
  return [
    ...deadlockLines(snapshot),
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}

/**
 * The tasks as a tree, as `python -m asyncio pstree`: each task under
 * the task that awaits it (or, failing that, the task that created it,
 * marked `spawned`), with its state, age and what it awaits. Deadlocks
 * come first; a task in one is shown once, where the walk meets it first.
 *
 * @param tree A snapshot from `captureTaskTree`; the running loop's now by
 * default.
 * @returns The text.
 * @throws {TypeError} If `tree` is not a TaskTree.
 * @throws {InvalidStateError} If no tree is given and no loop is running.
 *
 * @example A task awaiting two others
 * ```ts
 * import { createTask, currentTask, formatTaskTree, gather, run, sleep } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   currentTask()!.setName("main");
 *   const a = createTask(() => sleep(500), { name: "a" });
 *   const b = createTask(() => sleep(900), { name: "b" });
 *   const both = createTask(() => gather(a, b), { name: "both" });
 *   await sleep(100);
 *   const lines = formatTaskTree().split("\n").map((l) => l.replace(/0x[0-9a-f]+/, "id"));
 *   assert.deepEqual(lines, [
 *     "├── (T) main [id, running] running now", // the task calling this
 *     "└── (T) both [id, waiting] awaits gather of 2 (0 done)",
 *     "    ├── (T) a [id, waiting] awaits sleep(500 ms), due in 400 ms",
 *     "    └── (T) b [id, waiting] awaits sleep(900 ms), due in 800 ms",
 *   ]);
 *   await both;
 * }, { clock: new VirtualClock() });
 * ```
 */
export function formatTaskTree(tree?: TaskTree): string {
  const snapshot = treeFrom(tree, "format task tree");
  const lines = deadlockLines(snapshot);
  const render = (info: TaskInfo, prefix: string, last: boolean): void => {
    const details = [info.id, stateText(info)];
    if (info.spawned) details.unshift("spawned");
    if (info.age !== undefined) details.push(`age ${formatDuration(info.age)}`);
    let text = `(T) ${info.name} [${details.join(", ")}] `;
    text += info.awaiting.length > 0 ? "awaits " : "";
    text += awaitingText(info, true);
    if (info.createdAt !== undefined) text += `; created at ${info.createdAt}`;
    lines.push(`${prefix}${last ? "└── " : "├── "}${text}`);
    const inner = prefix + (last ? "    " : "│   ");
    info.children.forEach((child, i) => {
      render(child, inner, i === info.children.length - 1);
    });
  };
  snapshot.roots.forEach((root, i) => {
    render(root, "", i === snapshot.roots.length - 1);
  });
  return lines.join("\n");
}
