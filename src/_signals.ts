/**
 * The Deno adapter for OS signals: the loop's `addSignalHandler` and
 * `run()`'s Ctrl-C handling listen through it, so the rest of the core
 * never touches `Deno.*` (and still loads on Node and Bun).
 */
import { requireDeno } from "./_deno.ts";
import { describe } from "./_describe.ts";

/**
 * A signal name, such as `"SIGINT"` or `"SIGTERM"`: the names
 * `Deno.Signal` accepts, spelled out so the type needs no Deno namespace.
 */
export type Signal =
  | "SIGABRT"
  | "SIGALRM"
  | "SIGBREAK"
  | "SIGBUS"
  | "SIGCHLD"
  | "SIGCONT"
  | "SIGEMT"
  | "SIGFPE"
  | "SIGHUP"
  | "SIGILL"
  | "SIGINFO"
  | "SIGINT"
  | "SIGIO"
  | "SIGPOLL"
  | "SIGPROF"
  | "SIGPWR"
  | "SIGQUIT"
  | "SIGSEGV"
  | "SIGSTKFLT"
  | "SIGSTOP"
  | "SIGSYS"
  | "SIGTERM"
  | "SIGTRAP"
  | "SIGTSTP"
  | "SIGTTIN"
  | "SIGTTOU"
  | "SIGURG"
  | "SIGUSR1"
  | "SIGUSR2"
  | "SIGVTALRM"
  | "SIGWINCH"
  | "SIGXCPU"
  | "SIGXFSZ";

// Every name once: the Record type makes the compiler check none is missing.
const SIGNAL_NAMES: Readonly<Record<Signal, true>> = {
  SIGABRT: true,
  SIGALRM: true,
  SIGBREAK: true,
  SIGBUS: true,
  SIGCHLD: true,
  SIGCONT: true,
  SIGEMT: true,
  SIGFPE: true,
  SIGHUP: true,
  SIGILL: true,
  SIGINFO: true,
  SIGINT: true,
  SIGIO: true,
  SIGPOLL: true,
  SIGPROF: true,
  SIGPWR: true,
  SIGQUIT: true,
  SIGSEGV: true,
  SIGSTKFLT: true,
  SIGSTOP: true,
  SIGSYS: true,
  SIGTERM: true,
  SIGTRAP: true,
  SIGTSTP: true,
  SIGTTIN: true,
  SIGTTOU: true,
  SIGURG: true,
  SIGUSR1: true,
  SIGUSR2: true,
  SIGVTALRM: true,
  SIGWINCH: true,
  SIGXCPU: true,
  SIGXFSZ: true,
};

/**
 * Checks that `signal` is a signal name, as asyncio's `_check_signal`.
 *
 * @throws {TypeError} If it is not one.
 */
export function checkSignalName(action: string, signal: unknown): void {
  if (typeof signal !== "string" || !Object.hasOwn(SIGNAL_NAMES, signal)) {
    throw new TypeError(
      `Cannot ${action}: expected signal as a name such as "SIGTERM", got ${
        typeof signal === "string" ? JSON.stringify(signal) : describe(signal)
      }`,
    );
  }
}

/**
 * Calls `handler` whenever `signal` arrives, until the returned function is
 * called.
 *
 * @throws {TypeError} For an unknown signal, or one that cannot be caught
 * (SIGKILL, SIGSTOP), as `Deno.addSignalListener` does.
 */
export function listenForSignal(
  signal: Signal,
  handler: () => void,
): () => void {
  if (typeof signal !== "string") {
    throw new TypeError(
      `Cannot listen for signal: expected signal as a name such as "SIGTERM", got ${
        describe(signal)
      }`,
    );
  }
  requireDeno("listen for signals", "addSignalListener");
  try {
    Deno.addSignalListener(signal, handler);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    // Deno's "Invalid signal: SIGFOO" does not say which argument.
    throw new TypeError(
      `Cannot listen for signal: expected signal as a signal name this system can catch, got ${
        JSON.stringify(signal)
      } (${error.message})`,
      { cause: error },
    );
  }
  return () => Deno.removeSignalListener(signal, handler);
}

/** Whether this runtime can listen for signals at all. */
export function canListenForSignals(): boolean {
  return typeof Deno !== "undefined" &&
    typeof Deno.addSignalListener === "function";
}

/** Ends the process with `code`, as an uncaught KeyboardInterrupt does in Python. */
export function exitProcess(code: number): never {
  Deno.exit(code);
}
