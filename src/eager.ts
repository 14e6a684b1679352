/**
 * Eager task factories, as asyncio 3.12's `eager_task_factory` and
 * `create_eager_task_factory`: with one set on a loop, every task starts
 * running inside `createTask` instead of on the next loop iteration.
 *
 * @module
 */
import { describe } from "./_describe.ts";
import type {
  AbstractEventLoop,
  CoroutineFunction,
  TaskFactory,
} from "./abstract_event_loop.ts";
import { Task, type TaskOptions } from "./tasks.ts";

/** A Task class (or compatible constructor) for `createEagerTaskFactory`. */
export type TaskConstructor = new <T>(
  fn: CoroutineFunction<T>,
  options: TaskOptions,
) => Task<T>;

/**
 * Makes a task factory that constructs tasks with `taskConstructor` and
 * starts them eagerly. asyncio: `asyncio.create_eager_task_factory()`.
 *
 * @param taskConstructor `Task` or a subclass; it receives the coroutine
 * function and the options, with `eager: true` and the loop.
 * @returns A factory for `loop.setTaskFactory`.
 * @throws {TypeError} If `taskConstructor` is not a function.
 *
 * @example Eager tasks of a Task subclass
 * ```ts
 * import {
 *   createEagerTaskFactory,
 *   createTask,
 *   getRunningLoop,
 *   run,
 *   Task,
 * } from "@aio/asyncio";
 * import assert from "node:assert/strict";
 *
 * const created: string[] = [];
 * class LoggedTask<T> extends Task<T> {
 *   constructor(...args: ConstructorParameters<typeof Task<T>>) {
 *     super(...args);
 *     created.push(this.getName());
 *   }
 * }
 *
 * await run(async () => {
 *   getRunningLoop().setTaskFactory(createEagerTaskFactory(LoggedTask));
 *   const order: string[] = [];
 *   const task = createTask(async () => {
 *     order.push("body");
 *   }, { name: "job" });
 *   order.push("after createTask");
 *   await task;
 *   assert.deepEqual(order, ["body", "after createTask"]);
 * });
 * assert.ok(created.includes("job"));
 * ```
 */
export function createEagerTaskFactory(
  taskConstructor: TaskConstructor,
): TaskFactory {
  if (typeof taskConstructor !== "function") {
    throw new TypeError(
      `Cannot create eager task factory: expected taskConstructor as a Task class, got ${
        describe(taskConstructor)
      }`,
    );
  }
  return <T>(
    loop: AbstractEventLoop,
    fn: CoroutineFunction<T>,
    options: TaskOptions,
  ): Task<T> => new taskConstructor(fn, { ...options, loop, eager: true });
}

/**
 * A task factory that starts every task eagerly: `createTask` runs the
 * body at once, up to its first await that suspends, instead of on the
 * next loop iteration. Work that often finishes without waiting (a cache
 * hit) then skips a loop iteration. Set it with
 * `loop.setTaskFactory(eagerTaskFactory)`. asyncio:
 * `asyncio.eager_task_factory`.
 *
 * Unlike asyncio, a task whose body is an `async` function is never done
 * when `createTask` returns, even if it did not await anything: an async
 * function's promise settles a microtask later. A body that is a plain
 * function returning a value is.
 *
 * @example Starting tasks eagerly
 * ```ts
 * import {
 *   createTask,
 *   eagerTaskFactory,
 *   getRunningLoop,
 *   run,
 *   sleep,
 * } from "@aio/asyncio";
 * import { VirtualClock } from "@aio/asyncio/testing";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   getRunningLoop().setTaskFactory(eagerTaskFactory);
 *   const order: string[] = [];
 *   const task = createTask(async () => {
 *     order.push("started");
 *     await sleep(10);
 *     order.push("finished");
 *   });
 *   order.push("createTask returned");
 *   await task;
 *   assert.deepEqual(order, ["started", "createTask returned", "finished"]);
 * }, { clock: new VirtualClock() });
 * ```
 */
export const eagerTaskFactory: TaskFactory = createEagerTaskFactory(Task);
