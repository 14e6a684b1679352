/**
 * Seeded races between a cancel and the Deno operation it cuts short: a
 * FIFO open that a writer may reach first, a TCP connect, a TLS
 * handshake with a server that never answers. Delays are a few real
 * milliseconds, so the cancel lands before, during and after the
 * operation.
 *
 * What must hold, for every seed:
 * - the cancelled await ends promptly (no cancel is lost);
 * - an open that won the race reads the writer's byte;
 * - nothing is left open: no reader on the FIFO, no descriptor once the
 *   server lets go, no operation or resource (the sanitizers).
 */
import assert from "node:assert/strict";
import {
  CancelledError,
  createTask,
  openConnection,
  openReader,
  run,
  sleep,
  timeout,
  TimeoutError,
} from "../../mod.ts";
import { mkfifo, peerLeft, silentServer } from "../_adapters.ts";
import { openDescriptors } from "../_descriptors.ts";
import { withTempDir } from "../_tmp.ts";
import { forEachSeed, scale } from "./_budget.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("adapters: a FIFO open raced by a cancel and a writer", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/fifo`;
    await mkfifo(path);
    await forEachSeed(scale(8, 80), async (random) => {
      const writeAt = random.chance(0.7) ? random.int(8) : undefined;
      const cancelAt = random.int(8);
      await run(async () => {
        const reading = createTask(async () => {
          await using reader = await openReader(path);
          return decode(await reader.read());
        });
        let writer: Promise<Deno.CommandOutput> | undefined;
        const startWriter = () =>
          writer = new Deno.Command("sh", {
            // Gives up after 200 ms if no reader ever comes.
            args: [
              "-c",
              `timeout 0.2 sh -c 'printf x > "$1"' sh "$1"`,
              "sh",
              path,
            ],
          }).output();
        for (let ms = 0; ms <= 8; ms++) {
          if (ms === writeAt) startWriter();
          if (ms === cancelAt) reading.cancel();
          await sleep(1);
        }
        let read: string | undefined;
        try {
          read = await timeout(1_000, () => reading);
        } catch (error) {
          if (!(error instanceof CancelledError)) throw error;
        }
        const wrote = (await writer)?.code;
        // The open won the race only if a writer came; then it read the
        // byte. A writer whose reader was cancelled wrote to it, or to
        // the instant's release, or found nobody (124).
        if (read !== undefined) {
          assert.equal(read, "x");
          assert.equal(wrote, 0);
        }
      });
      assert.equal(await peerLeft(path, "reader"), false, "a reader is left");
    });
  });
});

Deno.test({
  name: "adapters: TCP connects and TLS handshakes cut short at random",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using silent = silentServer();
    const base = await openDescriptors();
    await forEachSeed(scale(10, 100), async (random) => {
      const cancelAt = random.int(6);
      const tls = random.chance(0.7);
      await run(async () => {
        const task = createTask(() =>
          openConnection(
            tls
              ? { port: silent.port, tls: true, tlsHandshakeTimeout: 4 }
              : { port: silent.port },
          )
        );
        await sleep(cancelAt);
        task.cancel();
        try {
          const [, writer] = await timeout(1_000, () => task);
          // A plain connect that finished first: close it.
          assert.ok(!tls);
          writer.close();
          await writer.waitClosed();
        } catch (error) {
          // Cut short by the cancel, or by the handshake's own timeout
          // (not the 1 s bound above: that would be a lost cancel).
          const handshakeTimedOut = error instanceof TimeoutError &&
            /TLS handshake timed out/.test(error.message);
          if (!(error instanceof CancelledError) && !handshakeTimedOut) {
            throw error;
          }
        }
      });
    });
    // Deno keeps a TLS socket given up in its handshake until the server
    // lets go; then nothing may be left.
    silent.letGo();
    let left = await openDescriptors() - base;
    for (let i = 0; i < 50 && left > 0; i++) {
      left = await openDescriptors() - base;
    }
    // Below the baseline: something an earlier test had open closed since.
    assert.ok(left <= 0, `${left} descriptors left open`);
  },
});
