/**
 * `held`: awaits a runtime operation (open, connect, ...) through a loop
 * Future, so that cancellation is delivered at the await, holding a
 * virtual clock meanwhile (the operation finishes without a peer's help).
 * Shared by the adapters.
 */
import { CancelledError } from "./errors.ts";
import type { AbstractEventLoop } from "./events.ts";

/** How `held` treats the operation when the awaiting task is cancelled. */
export interface HeldOptions<T> {
  /**
   * Receives a result that arrives after the cancellation, or that was
   * there when the cancellation was delivered, so it can be closed.
   */
  dispose?: (value: T) => void;
  /**
   * Abort the operation's signal and wait for it to settle before
   * throwing, so that no operation outlives the call. Without it the
   * CancelledError is thrown at once and a late result goes to `dispose`.
   */
  settleOnCancel?: boolean;
}

export async function held<T>(
  loop: AbstractEventLoop,
  start: (signal: AbortSignal) => Promise<T>,
  options: HeldOptions<T>,
): Promise<T> {
  const { dispose, settleOnCancel = false } = options;
  const controller = new AbortController();
  const future = loop.createFuture<T>();
  loop._ioStarted();
  let operation: Promise<T>;
  try {
    operation = start(controller.signal);
  } catch (error) {
    loop._ioFinished();
    throw error;
  }
  const settled = operation.then(
    (value) => {
      loop._ioFinished();
      if (future.done() || loop.isClosed()) dispose?.(value);
      else future.setResult(value);
    },
    (error) => {
      loop._ioFinished();
      if (!future.done() && !loop.isClosed()) future.setException(error);
    },
  );
  try {
    return await future;
  } catch (error) {
    if (error instanceof CancelledError) {
      if (
        future.done() && !future.cancelled() &&
        future.exception() === undefined
      ) {
        dispose?.(future.result());
      }
      if (settleOnCancel) {
        controller.abort(error);
        await settled;
      }
    }
    throw error;
  }
}
