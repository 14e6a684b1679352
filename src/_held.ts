/**
 * `held`: a runtime operation (open, connect, read a file, ...) as a loop
 * Future, so that awaiting it is a cancellation point and the loop's
 * virtual clock is held while it runs (it finishes without a peer's help).
 * Shared by the adapters.
 */
import { CancelledError } from "./errors.ts";
import type { AbstractEventLoop } from "./events.ts";
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
   * Without it the future is cancelled at once and a late result goes to
   * `dispose`.
   */
  settleOnCancel?: boolean;
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
  readonly #dispose: ((value: T) => void) | undefined;
  readonly #settleOnCancel: boolean;
  #cancelRequested = false;
  #cancelMessage: string | undefined = undefined;

  constructor(
    loop: AbstractEventLoop,
    start: (signal: AbortSignal) => Promise<T>,
    options: HeldOptions<T>,
  ) {
    super({ loop });
    this.#dispose = options.dispose;
    this.#settleOnCancel = options.settleOnCancel ?? false;
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
    if (!this.#settleOnCancel) return super.cancel(message);
    if (!this.#cancelRequested) {
      this.#cancelRequested = true;
      this.#cancelMessage = message;
      this.#controller.abort(new CancelledError(message));
    }
    return true; // cancelled once the operation settles
  }

  protected override _resultDropped(result: T): void {
    this.#dispose?.(result);
  }

  #settle(ok: boolean, outcome: unknown): void {
    const loop = this.getLoop();
    loop._ioFinished();
    if (this.#cancelRequested || this.done() || loop.isClosed()) {
      if (ok) this.#dispose?.(outcome as T);
      if (!this.done() && !loop.isClosed()) super.cancel(this.#cancelMessage);
      return;
    }
    if (ok) this.setResult(outcome as T);
    else this.setException(outcome);
  }
}
