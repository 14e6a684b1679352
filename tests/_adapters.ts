/**
 * What the adapters' tests share: FIFOs (named pipes), made and probed
 * with `sh`, which the test task may run; a TCP server that never says a
 * word. Descriptors are counted by `_descriptors.ts`.
 */
import assert from "node:assert/strict";

const decoder = new TextDecoder();

/**
 * Makes a FIFO at `path`.
 *
 * @param path Where.
 */
export async function mkfifo(path: string): Promise<void> {
  const { success } = await new Deno.Command("sh", {
    args: ["-c", 'mkfifo "$1"', "sh", path],
  }).output();
  assert.ok(success, `mkfifo ${path} failed`);
}

/**
 * Whether a reader (or writer) is left on the FIFO: a shell that opens
 * the other end gets through at once if so, and is stopped after 50 ms
 * if not. A reader left behind takes the byte the shell writes.
 *
 * @param path The FIFO.
 * @param side What to look for.
 * @returns `true` if one is there.
 */
export async function peerLeft(
  path: string,
  side: "reader" | "writer",
): Promise<boolean> {
  const open = side === "reader" ? 'printf x > "$1"' : 'cat "$1" > /dev/null';
  const { stdout } = await new Deno.Command("sh", {
    args: ["-c", `timeout 0.05 sh -c '${open}' sh "$1"; echo $?`, "sh", path],
  }).output();
  return decoder.decode(stdout).trim() !== "124";
}

/** A listening server that accepts and never answers; see `silentServer`. */
export interface SilentServer extends AsyncDisposable {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** How many connections it holds. */
  readonly accepted: number;
  /** Closes the connections it holds: the peers see the end. */
  letGo(): void;
}

/**
 * A TCP server on 127.0.0.1 that accepts and never says a word: to a TLS
 * client, a server that never answers its ClientHello.
 *
 * @returns The server; dispose of it to close everything.
 */
export function silentServer(): SilentServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) conns.push(conn);
    } catch {
      // Closed.
    }
  })();
  const letGo = () => {
    for (const conn of conns.splice(0)) conn.close();
  };
  return {
    port: listener.addr.port,
    get accepted(): number {
      return conns.length;
    },
    letGo,
    async [Symbol.asyncDispose](): Promise<void> {
      letGo();
      listener.close();
      await accepting;
    },
  };
}
