/**
 * What introspection — call graphs, the task tree, debug mode — reads from
 * futures and tasks, without their public classes growing methods for it.
 *
 * - futures.ts and tasks.ts register accessors here (as tasks.ts registers
 *   its await hooks in `_current.ts`): a future's done-callbacks and its
 *   awaits (`Wait`s), a task's waits in flight.
 * - Private Future subclasses (a sleep's future, a lock's waiter, gather's
 *   outer future) say what waiting on them means with the symbol-named
 *   methods below; a plain Future made by a primitive gets the same from
 *   `labelFuture`, and a combinator's done-callback names the future it
 *   belongs to with `setCallbackOwner`, so "awaited by" follows gather,
 *   shield, wait, asCompleted and TaskGroup as asyncio 3.14's does.
 * - Two switches keep the cost nil until asked: `recording` (each task's
 *   creator and creation time; turned on by debug mode and by a task dump)
 *   and `tracing` (call sites: where each future and task was made and
 *   where each await began; debug mode only). The hot paths read one
 *   module binding each.
 *
 * JavaScript has no frames to walk for a suspended async function: the
 * place a task waits is only known if it was captured when the await
 * began. V8 includes the awaiting async functions in a stack captured
 * inside a thenable's `then`, so with `tracing` on, `Future.then` keeps
 * an `Error` whose stack is the task's coroutine stack at that await.
 */

/** Each task's creator and creation time are recorded. */
export let recording = false;
/** Call sites are recorded: implies `recording`. */
export let tracing = false;
/** Tracing was on at some point: finishing tasks must unregister. */
export let everTraced = false;

let recordRequests = 0;
let traceRequests = 0;

function update(): void {
  tracing = traceRequests > 0;
  recording = tracing || recordRequests > 0;
  if (tracing) everTraced = true;
}

/**
 * Asks for (`+1`) or withdraws (`-1`) recording; on while any request is
 * outstanding.
 */
export function requestRecording(delta: 1 | -1): void {
  recordRequests = Math.max(0, recordRequests + delta);
  update();
}

/** As `requestRecording`, for call sites (debug mode). */
export function requestTracing(delta: 1 | -1): void {
  traceRequests = Math.max(0, traceRequests + delta);
  update();
}

// ---------------------------------------------------------------------------
// What a future waits on, in words.

/** Describes what waiting on a future means: `sleep(500 ms), due in 120 ms`. */
export const DESCRIBE: unique symbol = Symbol("aio.describe");
/** The futures a future waits on in turn (a gather's children). */
export const AWAITS: unique symbol = Symbol("aio.awaits");
/** The task that must act before a future can finish (a lock's holder). */
export const BLOCKED_BY: unique symbol = Symbol("aio.blockedBy");

/** What introspection asks of a future it finds a task waiting on. */
export interface Describable {
  /**
   * What waiting on it means, for a person.
   *
   * @param now The loop's time.
   */
  [DESCRIBE](now: number): string;
  /** The futures it waits on in turn, followed by the tree and the graph. */
  [AWAITS]?(): Iterable<object>;
  /** The task it waits for without awaiting it, for deadlock detection. */
  [BLOCKED_BY]?(): object | undefined;
}

/**
 * On a Condition or Event that another primitive uses inside (a Barrier's
 * condition, a Queue's `join()` event): what its waiters wait for, in the
 * outer primitive's words (`Barrier.wait() on <Barrier ...>`).
 */
export const DESCRIBE_AS: unique symbol = Symbol("aio.describeAs");

/** A primitive that may be described as part of another. */
export interface DescribedAs {
  [DESCRIBE_AS]?: () => string;
}

const labels = new WeakMap<object, Describable>();

/**
 * Describes a plain Future that a primitive waits on, for one that is made
 * rarely enough that a WeakMap entry costs nothing that matters
 * (`Process.wait()`, a TaskGroup's exit). Hot paths use a Future subclass
 * with the `Describable` methods instead.
 */
export function labelFuture(future: object, label: Describable): void {
  labels.set(future, label);
}

/** The description of `future`, if it has one. */
export function describableOf(future: object): Describable | undefined {
  if (DESCRIBE in future) return future as Describable;
  return labels.get(future);
}

/**
 * What a done-callback belongs to: the future that waits through it (a
 * gather's outer future), or a function listing the futures or tasks that
 * do (a TaskGroup's parent task).
 */
export type CallbackOwner = object | (() => Iterable<object>);

const owners = new WeakMap<object, CallbackOwner>();

/**
 * Says that `callback`, added with `addDoneCallback` to the futures a
 * combinator waits on, belongs to `owner`: once per combinator, not per
 * child, so a gather of many costs one WeakMap entry.
 */
export function setCallbackOwner(callback: object, owner: CallbackOwner): void {
  owners.set(callback, owner);
}

/** The owner `setCallbackOwner` gave `callback`. */
export function callbackOwner(callback: object): CallbackOwner | undefined {
  return owners.get(callback);
}

// ---------------------------------------------------------------------------
// Accessors registered by futures.ts and tasks.ts.

/** One await of a future (futures.ts's `Wait`), as introspection sees it. */
export interface AwaitRecord {
  /** The future awaited. */
  readonly future: object;
  /** The task awaiting, if the await happened inside one. */
  readonly task: object | undefined;
}

/** What futures.ts lets introspection read. */
export interface FutureInspector {
  /** The done-callbacks not run yet: functions, and awaits. */
  callbacks(future: object): readonly (AwaitRecord | object)[];
}

/** What tasks.ts lets introspection read. */
export interface TaskInspector {
  /** The awaits in flight, the first one first. */
  waits(task: object): readonly AwaitRecord[];
  /** Whether the body has started. */
  started(task: object): boolean;
  /** Whether `signal` was handed out (so a plain promise may be cancelled through it). */
  signalInUse(task: object): boolean;
}

export let futureInspector: FutureInspector = { callbacks: () => [] };
export let taskInspector: TaskInspector = {
  waits: () => [],
  started: () => false,
  signalInUse: () => false,
};

export function setFutureInspector(inspector: FutureInspector): void {
  futureInspector = inspector;
}

export function setTaskInspector(inspector: TaskInspector): void {
  taskInspector = inspector;
}

// ---------------------------------------------------------------------------
// Records: creators, creation times and call sites.

/** What `recording` keeps about a task. */
export interface TaskRecord {
  /** The loop time it was created at. */
  readonly createdAt: number;
  /** The task running when it was created; weak, so chains of tasks are not kept alive. */
  readonly creator: WeakRef<object> | undefined;
}

const taskRecords = new WeakMap<object, TaskRecord>();
const creationSites = new WeakMap<object, Site>();
const awaitSites = new WeakMap<object, Site>();

/** Frames captured per site; the first few are this module's own. */
const SITE_FRAMES = 16;

type CaptureStackTrace = (target: object, below?: unknown) => void;
const captureStackTrace = (Error as { captureStackTrace?: CaptureStackTrace })
  .captureStackTrace;

/** A captured stack: V8 formats `stack` only when it is read. */
interface Site {
  readonly stack?: string;
}

/**
 * The stack here, from the caller of the caller down. With `below`, the
 * frames down to that function's are left out: for a creation, the
 * constructors, so that the stack holds no reference to the object being
 * made (a frame keeps its receiver) and can outlive it. One capture costs
 * a few microseconds, most of it V8 walking the (async) frames.
 */
function captureSite(below: unknown = captureSite): Site {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = SITE_FRAMES;
  let site: Site;
  if (captureStackTrace !== undefined) {
    site = {};
    captureStackTrace(site, below);
  } else site = new Error("here");
  Error.stackTraceLimit = limit;
  return site;
}

/** Records a task's creator and creation time (when `recording`). */
export function noteTaskCreated(
  task: object,
  creator: object | undefined,
  now: number,
): void {
  taskRecords.set(task, {
    createdAt: now,
    creator: creator === undefined ? undefined : new WeakRef(creator),
  });
}

/** What `recording` kept about `task`, if it was on when the task was made. */
export function taskRecord(task: object): TaskRecord | undefined {
  return taskRecords.get(task);
}

/**
 * Records where a future (or task) is being created (when `tracing`).
 *
 * @param future The future.
 * @param constructor Its class (`new.target`): the frames of its
 * constructors are left out.
 */
export function noteCreated(future: object, constructor: unknown): void {
  creationSites.set(future, captureSite(constructor));
}

/** Records where an await begins (when `tracing`). */
export function noteAwait(wait: object): void {
  awaitSites.set(wait, captureSite());
}

/** Where `future` was created, as parsed frames; empty unless traced. */
export function creationFrames(future: object): StackFrame[] {
  const site = creationSites.get(future);
  return site === undefined ? [] : userFrames(site, true);
}

/** Where the await `wait` began, as parsed frames; empty unless traced. */
export function awaitFrames(wait: object): StackFrame[] {
  const site = awaitSites.get(wait);
  return site === undefined ? [] : userFrames(site);
}

// ---------------------------------------------------------------------------
// Stack frames.

/** One frame of a V8 stack, parsed. */
export interface StackFrame {
  /** The function's name, or `""` for top-level code. */
  readonly functionName: string;
  /** The module's URL (a `file:` URL for local files). */
  readonly fileName: string;
  /** 1-based. */
  readonly lineNumber: number;
  /** 1-based. */
  readonly columnNumber: number;
  /** An async function suspended at an await (V8's `at async`). */
  readonly isAsync: boolean;
}

// This module's directory: frames from this package's own files are left
// out of the stacks users see.
const OWN_DIR = new URL("./", import.meta.url).href;
// Past one of these, frames belong to the loop that runs the task, not to
// the task: its start, the loop's callbacks, the runner.
const BOUNDARY_FILES = [
  "tasks.ts",
  "base_events.ts",
  "abstract_event_loop.ts",
  "runners.ts",
]
  .map((file) => OWN_DIR + file);

const FRAME =
  /^\s*at (?:(async) )?(?:(.*?) \()?((?:[a-z][\w+.-]*:)?[^()]*?):(\d+):(\d+)\)?$/;

/**
 * Parses a V8 stack trace into the frames of user code in one task. The
 * package's own frames are skipped (`Future.then`, `Lock.withLock`); the
 * walk ends where the task's code ends, at the task's start or the loop.
 * For a creation site, the package's frames at the top are the
 * constructor and factory (`new Task`, `loop.createTask`) and never end
 * the walk.
 */
export function parseStack(
  stack: string,
  creation = false,
): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const line of stack.split("\n")) {
    const match = FRAME.exec(line);
    if (match === null) continue;
    const fileName = match[3];
    if (fileName.startsWith(OWN_DIR)) {
      if (
        (frames.length > 0 || !creation) && BOUNDARY_FILES.includes(fileName)
      ) break;
      continue;
    }
    if (fileName.startsWith("ext:") || fileName.startsWith("node:")) continue;
    frames.push({
      functionName: match[2] ?? "",
      fileName,
      lineNumber: Number(match[4]),
      columnNumber: Number(match[5]),
      isAsync: match[1] === "async",
    });
  }
  return frames;
}

/** The frames of user code in a captured stack. */
export function userFrames(site: Site, creation = false): StackFrame[] {
  return parseStack(site.stack ?? "", creation);
}

/** A frame as `name (file:line:column)`, with a file URL shown as a path. */
export function formatFrame(frame: StackFrame): string {
  const place = `${
    displayPath(frame.fileName)
  }:${frame.lineNumber}:${frame.columnNumber}`;
  const name = frame.functionName;
  const prefix = frame.isAsync ? "async " : "";
  return name === "" ? `${prefix}${place}` : `${prefix}${name} (${place})`;
}

/** A `file:` URL as a path; other URLs as they are. */
export function displayPath(url: string): string {
  if (!url.startsWith("file://")) return url;
  try {
    return decodeURIComponent(new URL(url).pathname);
  } catch {
    return url;
  }
}

/** The innermost user frame of a site as `file:line`, or `undefined`. */
export function siteOf(frames: readonly StackFrame[]): string | undefined {
  const frame = frames[0];
  if (frame === undefined) return undefined;
  return `${displayPath(frame.fileName)}:${frame.lineNumber}`;
}

// ---------------------------------------------------------------------------
// Debug mode's reports.

/** What the destroyed-task report needs: the loop's exception handler. */
interface Reporter {
  callExceptionHandler(
    context: { message: string; [key: string]: unknown },
  ): void;
}

interface PendingTask {
  readonly loop: Reporter;
  readonly task: string;
  readonly site: Site | undefined;
}

// Held values never reference the task, or it could not be collected: its
// description is a string, and its creation site leaves the constructors'
// frames out (see captureSite).
const pendingTasks = new FinalizationRegistry<PendingTask>((held) => {
  const context: { message: string; [key: string]: unknown } = {
    message: "Task was destroyed but it is pending!",
    task: held.task,
  };
  const site = held.site === undefined
    ? undefined
    : formatSite(userFrames(held.site, true));
  if (site !== undefined) context.sourceTraceback = site;
  held.loop.callExceptionHandler(context);
});

/**
 * Watches a task made in debug mode: if it is collected while pending
 * (its loop was closed, or dropped, with the task still waiting), the
 * loop's exception handler hears "Task was destroyed but it is pending!",
 * as in asyncio.
 */
export function watchPendingTask(task: object, loop: Reporter): void {
  pendingTasks.register(task, {
    loop,
    task: String(task),
    site: creationSites.get(task),
  }, task);
}

/** A task finished: it can no longer be destroyed while pending. */
export function taskFinished(task: object): void {
  pendingTasks.unregister(task);
}

/** Frames as the indented lines of a traceback, or `undefined` if none. */
export function formatSite(
  frames: readonly StackFrame[],
): string | undefined {
  if (frames.length === 0) return undefined;
  return frames.map((frame) => `    at ${formatFrame(frame)}`).join("\n");
}

/**
 * Debug mode: a task was cancelled while it awaits no loop awaitable, so
 * the CancelledError waits for its next loop await. That happens when it
 * awaits a plain promise — often work started in another task, whose loop
 * awaits belong to that task, so this cancel cannot reach them.
 */
export function warnCancelNotDelivered(task: object): void {
  console.warn(
    `${task} was cancelled while it awaits no loop awaitable: it awaits a ` +
      "plain promise (perhaps work started in another task, whose awaits " +
      "belong to that task), so the CancelledError waits for its next loop " +
      "await. Give that work its own task with createTask() and await the " +
      "task, or pass task.signal to the API that makes the promise",
  );
}

/** A duration for people: `120 ms`, `4.2 s`, `3 min 5 s`, `2 h 10 min`. */
export function formatDuration(ms: number): string {
  if (ms === Infinity) return "Infinity";
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
