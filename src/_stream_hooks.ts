/**
 * What other files need from a StreamReader and a StreamWriter beyond
 * their public API, set by `stream_reader.ts` and `stream_writer.ts` when
 * they load (as `tasks.ts` sets its await hooks in `_current.ts`):
 *
 * - the writer of the same connection links to its reader, and tells it
 *   when the connection is gone;
 * - a reader's waiters say what their task waits for, in the reader's
 *   words;
 * - the server tracks its connections with plain callbacks, not Futures,
 *   so that nothing it watches belongs to a task.
 */
import type { StreamReader } from "./stream_reader.ts";
import type { StreamWriter } from "./stream_writer.ts";

/** Internal operations on a StreamReader. */
export interface ReaderHooks {
  /**
   * Links `reader` to the writer of the same connection if it reads from
   * `sink` itself (one `Deno.Conn`): then `onError` gets the reader's
   * source errors, which close the writer.
   *
   * @returns Whether they were linked.
   */
  link(
    reader: StreamReader,
    sink: object,
    onError: (error: unknown) => void,
  ): boolean;
  /**
   * The linked writer closed the connection: the reader sees the end (or
   * `error`, if `failed`), and takes its source's errors as the end.
   */
  lost(reader: StreamReader, error: unknown, failed: boolean): void;
  /** What a task waiting on `reader` waits for: `StreamReader.read() from …`. */
  describeWait(reader: StreamReader): string;
}

/** Internal operations on a StreamWriter. */
export interface WriterHooks {
  /**
   * Calls `listener` once the writer's connection is closed and every
   * operation on it has settled (at once if that already happened).
   */
  onClosed(writer: StreamWriter, listener: () => void): void;
}

function notLoaded(): never {
  throw new Error("Cannot use stream: stream_reader.ts is not loaded");
}

export const readerHooks: ReaderHooks = {
  link: notLoaded,
  lost: notLoaded,
  describeWait: notLoaded,
};

export const writerHooks: WriterHooks = {
  onClosed() {
    throw new Error("Cannot watch writer: stream_writer.ts is not loaded");
  },
};
