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
 * Runs `fn` on a virtual clock that jumps only after `idleMs` (5) of real
 * idleness, so bytes in flight on loopback land first. A TLS handshake
 * waits on its peer, so it does not hold the clock: give such tests more
 * real idleness, or a busy machine lets the clock jump past the server's
 * handshake timeout mid-handshake.
 *
 * @param fn The main coroutine.
 * @param idleMs Real milliseconds of idleness before the clock jumps.
 * @returns What `fn` returns.
 */
export function virtual<T>(
  fn: () => Promise<T>,
  idleMs = 5,
): Promise<T> {
  return run(fn, { clock: new VirtualClock({ autojumpThreshold: idleMs }) });
}
