/**
 * What the loopback network tests share: the host, decoding, and virtual
 * time that gives loopback bytes a moment to arrive before it jumps.
 */
import { run } from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";

export const HOST = "127.0.0.1";

const decoder = new TextDecoder();

/**
 * Decodes UTF-8 bytes.
 *
 * @param bytes The bytes.
 * @returns The text.
 */
export const text = (bytes: Uint8Array): string => decoder.decode(bytes);

/**
 * Runs `fn` on a virtual clock that jumps only after 5 ms of real
 * idleness, so bytes in flight on loopback land first.
 *
 * @param fn The main coroutine.
 * @returns What `fn` returns.
 */
export function virtual<T>(fn: () => Promise<T>): Promise<T> {
  return run(fn, { clock: new VirtualClock({ autojumpThreshold: 5 }) });
}
