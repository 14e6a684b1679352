/**
 * `held`: a runtime operation (open, connect, read a file, ...) as a loop
 * Future, so that awaiting it is a cancellation point and the loop's
 * virtual clock is held while it runs (it finishes without a peer's help).
 * Shared by the adapters.
 *
 * A cancelled await must never wait for an operation that may block
 * forever (`Deno.open` on a FIFO with no peer takes no signal), and no
 * operation should outlive its await when it can be stopped. So an
 * operation that honours its `AbortSignal` is aborted and awaited
 * (`settleOnCancel`), one that `release` unblocks is awaited too, and any
 * other is given up at once; whatever it produces later goes to
 * `dispose`.
 */
import { CancelledError } from "./errors.ts";
import type { AbstractEventLoop } from "./abstract_event_loop.ts";
import { Future } from "./futures.ts";

/** How `held` treats the operation when its awaiter is cancelled. */
export interface HeldOptions<T> {
  /**
   * Receives a result nobody will get — one that arrives after the
   * cancellation, or that was there when the cancellation was delivered —
   * so it can be closed. For futures awaited once (adapters' internals).
   */
  dispose?: (value: T) => void;
  /**
   * Abort the operation's signal and let the future be cancelled only once
   * the operation has settled, so that no operation outlives the await.
   * Only for operations that settle promptly once aborted. Without it the
   * future is cancelled at once (the signal is aborted all the same) and a
   * late result goes to `dispose`.
   */
  settleOnCancel?: boolean;
  /**
   * Called once, after the abort, when the awaiter is cancelled while the
   * operation is still pending: a last means to unblock an operation that
   * ignores its signal. If it did unblock it, it returns a cleanup, run
   * once the operation has settled, and the future waits for that as with
   * `settleOnCancel`; if it returns nothing, the future is cancelled at
   * once.
   */
  release?: () => (() => void) | undefined;
}

/**
 * Starts `start(signal)` and returns a Future for its outcome. An error
 * `start` throws becomes the future's exception, as for a promise.
 */
export function held<T>(
  loop: AbstractEventLoop,
  start: (signal: AbortSignal) => Promise<T>,
  options: HeldOptions<T>,
): Future<T> {
  return new HeldFuture(loop, start, options);
}

class HeldFuture<T> extends Future<T> {
  readonly #controller = new AbortController();
  readonly #options: HeldOptions<T>;
  #pending = true;
  #holding = true;
  #cancelRequested = false;
  #cancelMessage: string | undefined = undefined;
  #cleanup: (() => void) | undefined = undefined;

  constructor(
    loop: AbstractEventLoop,
    start: (signal: AbortSignal) => Promise<T>,
    options: HeldOptions<T>,
  ) {
    super({ loop });
    this.#options = options;
    let operation: Promise<T>;
    try {
      operation = start(this.#controller.signal);
    } catch (error) {
      operation = Promise.reject(error);
    }
    loop._ioStarted();
    operation.then(
      (value) => this.#settle(true, value),
      (error) => this.#settle(false, error),
    );
  }

  override cancel(message?: string): boolean {
    if (this.done()) return super.cancel(message); // marks an error retrieved
    if (!this.#cancelRequested) {
      this.#cancelRequested = true;
      this.#cancelMessage = message;
      this.#controller.abort(new CancelledError(message));
      if (this.#pending && this.#options.release !== undefined) {
        this.#cleanup = this.#options.release();
      }
    }
    // Wait for an operation that stops once aborted or released, so that
    // none outlives its await; give up on one that may block forever.
    if (this.#options.settleOnCancel || this.#cleanup !== undefined) {
      return true; // cancelled once it settles
    }
    // Nobody waits for the operation now: it must not hold the clock.
    this.#unhold();
    return super.cancel(message);
  }

  protected override _resultDropped(result: T): void {
    this.#options.dispose?.(result);
  }

  #unhold(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.getLoop()._ioFinished();
  }

  #settle(ok: boolean, outcome: unknown): void {
    this.#pending = false;
    this.#unhold();
    const cleanup = this.#cleanup;
    this.#cleanup = undefined;
    cleanup?.();
    const loop = this.getLoop();
    if (this.#cancelRequested || this.done() || loop.isClosed()) {
      if (ok) this.#options.dispose?.(outcome as T);
      if (!this.done() && !loop.isClosed()) super.cancel(this.#cancelMessage);
      return;
    }
    if (ok) this.setResult(outcome as T);
    else this._fail(outcome);
  }
}
