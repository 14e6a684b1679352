/**
 * What the Deno adapters need from a StreamWriter beyond its public API,
 * filled in by streams.ts: the server tracks its connections with plain
 * callbacks, not Futures, so that nothing it watches belongs to a task.
 */
import type { StreamWriter } from "./streams.ts";

/** Internal operations on a StreamWriter. */
export interface WriterHooks {
  /**
   * Calls `listener` once the writer's connection is closed and every
   * operation on it has settled (at once if that already happened).
   */
  onClosed(writer: StreamWriter, listener: () => void): void;
}

export const writerHooks: WriterHooks = {
  onClosed() {
    throw new Error("Cannot watch writer: streams.ts is not loaded");
  },
};
