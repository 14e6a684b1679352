/**
 * The await graph, read from the live objects: what a task awaits (its
 * waits in flight, followed down through combinators), who awaits a
 * future (the tasks whose awaits are among its callbacks, and the
 * combinators whose done-callbacks are), and how to say each in words.
 * `graph.ts` (call graphs) and `tree.ts` (the task tree) are built on it.
 */
import { currentTaskStore, resumingTask } from "./_current.ts";
import {
  awaitFrames,
  type AwaitRecord,
  AWAITS,
  BLOCKED_BY,
  callbackOwner,
  creationFrames,
  describableOf,
  DESCRIBE,
  futureInspector,
  siteOf,
  taskInspector,
} from "./_introspect.ts";
import { Future } from "./futures.ts";
import { Task } from "./tasks.ts";

const ids = new WeakMap<object, number>();
let nextId = 1;

/**
 * A small number that stays the same for an object as long as it lives:
 * asyncio shows `id(task)`, a memory address; JavaScript has none, so
 * objects are numbered in the order introspection first meets them.
 */
export function idOf(object: object): number {
  let id = ids.get(object);
  if (id === undefined) {
    id = nextId++;
    ids.set(object, id);
  }
  return id;
}

/** `0x2a`, as asyncio prints ids. */
export function hexId(object: object): string {
  return `0x${idOf(object).toString(16)}`;
}

/** What a task is doing. */
export type TaskState = "pending" | "running" | "waiting" | "suspended";

/** The awaits `task` has in flight, the first one first. */
export function waitsOf(task: Task<unknown>): readonly AwaitRecord[] {
  return taskInspector.waits(task);
}

/** Whether `task` is the one running now (or its step is). */
function isRunning(task: Task<unknown>): boolean {
  return currentTaskStore.getStore() === task || resumingTask === task;
}

/**
 * `pending` (not started), `running` (the current task), `waiting` (on
 * loop awaitables), or `suspended`: started, and awaiting something that
 * is not a loop awaitable, such as a plain promise.
 */
export function stateOf(task: Task<unknown>): TaskState {
  if (!taskInspector.started(task)) return "pending";
  if (isRunning(task)) return "running";
  return waitsOf(task).length > 0 ? "waiting" : "suspended";
}

/** A task by name, as the tree and the messages name tasks. */
export function taskLabel(task: Task<unknown>): string {
  return `'${task.getName()}'`;
}

/**
 * What waiting on `future` means, for a person: `Task 'worker'`,
 * `sleep(500 ms), due in 120 ms`, `gather of 3 (1 done)`,
 * `Lock.acquire() on <Lock [locked, waiters:1]> held by 'a'`, or the
 * future itself with where it was made (in debug mode).
 */
export function describeAwait(future: object, now: number): string {
  if (future instanceof Task) {
    return `Task ${taskLabel(future)}${future.done() ? " (done)" : ""}`;
  }
  const describable = describableOf(future);
  if (describable !== undefined) {
    try {
      return describable[DESCRIBE](now);
    } catch (error) {
      return `${String(future)} (cannot describe: ${String(error)})`;
    }
  }
  const site = siteOf(creationFrames(future));
  return site === undefined ? String(future) : `${future} created at ${site}`;
}

/**
 * The tasks `future` waits on: the future itself if it is a Task, else
 * the tasks found through the futures it waits on in turn (a gather's
 * children), and with `blockers`, the tasks it waits for without awaiting
 * them (a lock's holder).
 */
export function tasksThrough(
  future: object,
  blockers: boolean,
): Task<unknown>[] {
  const found = new Set<Task<unknown>>();
  const seen = new Set<object>();
  const visit = (f: object): void => {
    if (seen.has(f)) return;
    seen.add(f);
    if (f instanceof Task) {
      found.add(f);
      return;
    }
    const describable = describableOf(f);
    if (describable === undefined) return;
    if (blockers) {
      const holder = describable[BLOCKED_BY]?.();
      if (holder instanceof Task && !holder.done()) found.add(holder);
    }
    const children = describable[AWAITS]?.();
    if (children !== undefined) { for (const child of children) visit(child); }
  };
  visit(future);
  return [...found];
}

/**
 * Who awaits `future` directly: the tasks whose awaits are among its
 * callbacks, and the futures (or, for a TaskGroup's task, the parent
 * task) that wait on it through a combinator's done-callback. In order,
 * without repeats.
 */
export function awaitersOf(future: object): Future<unknown>[] {
  const found = new Set<Future<unknown>>();
  for (const callback of futureInspector.callbacks(future)) {
    if (typeof callback === "function") {
      const owner = callbackOwner(callback);
      if (owner === undefined) continue;
      if (typeof owner === "function") {
        for (const awaiter of (owner as () => Iterable<object>)()) {
          if (awaiter instanceof Future && !awaiter.done()) found.add(awaiter);
        }
      } else if (owner instanceof Future && !owner.done()) found.add(owner);
    } else {
      const task = (callback as AwaitRecord).task;
      if (task instanceof Future && !task.done()) found.add(task);
    }
  }
  return [...found];
}

/**
 * The tasks awaiting `future`, looking up through combinators: a task
 * awaiting a gather of it, the parent of its TaskGroup.
 */
export function awaitingTasks(future: object): Task<unknown>[] {
  const found = new Set<Task<unknown>>();
  const seen = new Set<object>([future]);
  const visit = (f: object): void => {
    for (const awaiter of awaitersOf(f)) {
      if (seen.has(awaiter)) continue;
      seen.add(awaiter);
      if (awaiter instanceof Task) found.add(awaiter);
      else visit(awaiter);
    }
  };
  visit(future);
  return [...found];
}

/**
 * What `task` awaits now, in words, each await with where it began (in
 * debug mode): `sleep(10 ms), due in 10 ms (at /app/main.ts:12)`.
 */
export function describeTaskAwait(task: Task<unknown>, now: number): string {
  const waits = waitsOf(task);
  if (waits.length === 0) {
    return stateOf(task) === "pending"
      ? "nothing yet (not started)"
      : "a promise that is not a loop awaitable";
  }
  return waits.map((wait) => {
    const site = siteOf(awaitFrames(wait));
    const text = describeAwait(wait.future, now);
    return site === undefined ? text : `${text} (at ${site})`;
  }).join("; ");
}
