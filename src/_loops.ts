/**
 * Which loop is running and which is current: the state behind
 * `getRunningLoop`, `getEventLoop` and `setEventLoop` (in
 * abstract_event_loop.ts), kept here so that the concrete loop
 * (base_events.ts) and tasks can update it without that file exporting
 * anything but public API. Also the hooks the layers above set at load:
 * how tasks find their loop, how a loop makes a Handle's callback run, and
 * which loop `getEventLoop` makes.
 */
import { InvalidStateError } from "./errors.ts";
import type { AbstractEventLoop, Handle } from "./abstract_event_loop.ts";

// The loops running now, and the one whose callback is executing. A task's
// loop is found through the task; these cover plain callbacks and promise
// chains outside any task.
const runningLoops = new Set<AbstractEventLoop>();
let executingLoop: AbstractEventLoop | undefined;
let currentTaskLoop: () => AbstractEventLoop | undefined = () => undefined;

/** For the concrete loop: marks it running or not. */
export function setRunning(loop: AbstractEventLoop, running: boolean): void {
  if (running) runningLoops.add(loop);
  else runningLoops.delete(loop);
}

/** For the concrete loop: the loop whose callback is executing, if any. */
export function setExecuting(loop: AbstractEventLoop | undefined): void {
  executingLoop = loop;
}

/** For tasks (a layer above): how to find the current task's loop. */
export function setCurrentTaskLoop(
  find: () => AbstractEventLoop | undefined,
): void {
  currentTaskLoop = find;
}

/**
 * The loop running the caller, if any: the current task's, else the one
 * whose callback is executing, else the only loop running.
 */
export function findRunningLoop(): AbstractEventLoop | undefined {
  const fromTask = currentTaskLoop();
  if (fromTask !== undefined && fromTask.isRunning()) return fromTask;
  if (executingLoop !== undefined) return executingLoop;
  if (runningLoops.size === 1) {
    for (const loop of runningLoops) return loop;
  }
  return undefined;
}

let currentLoop: AbstractEventLoop | undefined;
// `setEventLoop(undefined)` was called: no loop is made on demand then.
let unsetByUser = false;
let loopFactory: (() => AbstractEventLoop) | undefined;

/** For the concrete loop: how `getEventLoop` makes a loop. */
export function setLoopFactory(factory: () => AbstractEventLoop): void {
  loopFactory = factory;
}

/**
 * `getEventLoop()` outside a running loop: the current loop, made anew if
 * there is none or it was closed.
 *
 * @throws {InvalidStateError} After `setEventLoop(undefined)`.
 */
export function currentOrNewLoop(): AbstractEventLoop {
  if (currentLoop === undefined || currentLoop.isClosed()) {
    if (unsetByUser) {
      throw new InvalidStateError(
        "There is no current event loop: setEventLoop(undefined) cleared it; " +
          "call setEventLoop(newEventLoop()), or run the code with run(main)",
      );
    }
    if (loopFactory === undefined) {
      throw new InvalidStateError("No event loop implementation is loaded");
    }
    currentLoop = loopFactory();
  }
  return currentLoop;
}

/** `setEventLoop(loop)`: `undefined` stops `getEventLoop` making one. */
export function setCurrentLoop(loop: AbstractEventLoop | undefined): void {
  currentLoop = loop ?? undefined;
  unsetByUser = currentLoop === undefined;
}

/** For the concrete loop: `close()` clears the current loop if it is this one. */
export function clearCurrentLoop(loop: AbstractEventLoop): void {
  if (currentLoop === loop) currentLoop = undefined;
}

/**
 * Runs a handle's callback unless it was cancelled. `Handle` (in
 * abstract_event_loop.ts) sets it at load (the fields are its own); the
 * concrete loop queues it, with the handle as its argument, for every
 * `callSoon` and due timer.
 */
export let runHandle: (handle: Handle) => void = (): void => {};

/** For abstract_event_loop.ts's `Handle`: sets `runHandle`. */
export function setHandleRunner(run: (handle: Handle) => void): void {
  runHandle = run;
}
