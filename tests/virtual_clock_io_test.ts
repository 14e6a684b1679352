/**
 * Virtual time with real sockets, the pattern the README shows: a read
 * that waits for a peer does not hold a `VirtualClock` (a server waiting
 * for clients would stop time forever), so a deadline around it passes as
 * soon as the loop is idle, unless `autojumpThreshold` gives the peer's
 * bytes some real milliseconds to arrive before time jumps.
 */
import assert from "node:assert/strict";
import { openConnection, run, TimeoutError, waitFor } from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { HOST, text } from "./_net.ts";

/**
 * A peer outside the loop (as another process would be): it answers each
 * connection's first line after `delayMs` of real time.
 */
function slowPeer(delayMs: number): { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    const buffer = new Uint8Array(64);
    await conn.read(buffer);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    try {
      await conn.write(new TextEncoder().encode("pong\n"));
      await conn.read(buffer); // until the client closes
    } catch {
      // The client left first.
    }
    conn.close();
  })();
  return { port: (listener.addr as Deno.NetAddr).port, done };
}

async function ask(port: number): Promise<string> {
  const [reader, writer] = await openConnection({ hostname: HOST, port });
  try {
    writer.write("ping\n");
    await writer.drain();
    return text(await waitFor(() => reader.readLine(), 5000));
  } finally {
    writer.close();
    await writer.waitClosed();
  }
}

Deno.test("VirtualClock: a read waiting for a peer does not hold time, so its deadline passes at once", async () => {
  const peer = slowPeer(30);
  await assert.rejects(
    run(() => ask(peer.port), { clock: new VirtualClock() }),
    TimeoutError,
  );
  await peer.done;
});

Deno.test("VirtualClock: autojumpThreshold lets a real peer answer before time jumps", async () => {
  const peer = slowPeer(30);
  const clock = new VirtualClock({ autojumpThreshold: 200 });
  const answer = await run(() => ask(peer.port), { clock });
  assert.equal(answer, "pong\n");
  assert.equal(clock.now(), 0); // no timer came due: time never moved
  await peer.done;
});
