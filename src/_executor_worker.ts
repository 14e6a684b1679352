/**
 * The code each worker of a `WorkerExecutor` runs: it imports the module
 * a job names, calls the export with the job's arguments, and posts back
 * the result or the error (as its name, message and stack, since errors
 * do not survive structured cloning whole). One job at a time; the pool
 * terminates the worker to cancel a job. `mod.ts` never exports this file.
 *
 * The pool starts workers from `workerSource()`, a `data:` URL, rather
 * than from this file's URL: a worker started from a `file:` URL needs
 * `--allow-read` for the library's own source, a `data:` one needs no
 * permission at all.
 */

/**
 * The worker's body. It runs in the worker, alone: it must not refer to
 * anything outside itself.
 */
function workerMain(): void {
  // deno-lint-ignore no-explicit-any
  const scope = globalThis as any;

  const fail = (id: number, error: unknown): void => {
    if (error instanceof Error) {
      const record: Record<string, unknown> = {
        name: error.name,
        message: error.message,
        stack: error.stack,
      };
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" || typeof code === "number") {
        record.code = code;
      }
      scope.postMessage({ id, ok: false, error: record });
      return;
    }
    try {
      scope.postMessage({ id, ok: false, thrown: error });
    } catch {
      scope.postMessage({ id, ok: false, thrown: String(error) });
    }
  };

  scope.onmessage = async (event: MessageEvent) => {
    const { id, module, name, args } = event.data as {
      id: number;
      module: string;
      name: string;
      args: unknown[];
    };
    let value: unknown;
    try {
      const namespace = await import(module);
      const fn = namespace[name];
      if (typeof fn !== "function") {
        throw new TypeError(
          `Cannot run in worker: ${module.slice(0, 200)} has no exported ` +
            `function "${name}"${
              name in namespace ? ` (it is ${typeof fn})` : ""
            }`,
        );
      }
      value = await fn(...args);
    } catch (error) {
      fail(id, error);
      return;
    }
    try {
      scope.postMessage({ id, ok: true, value });
    } catch (error) {
      fail(
        id,
        new TypeError(
          `Cannot return from worker: the result of "${name}" cannot be ` +
            `cloned (${error instanceof Error ? error.message : error})`,
        ),
      );
    }
  };
}

let source: string | undefined;

/**
 * The worker's script as a `data:` URL, made once.
 *
 * @returns The URL.
 */
export function workerSource(): string {
  source ??= "data:text/javascript," +
    encodeURIComponent(`(${workerMain.toString()})();`);
  return source;
}
