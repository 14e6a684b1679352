/**
 * Abusive clients on loopback against startServer(): each attack runs
 * while a well-behaved client connects, sends a line and reads its echo,
 * a few times; the test asserts how fast it is served, that nothing but
 * the expected reports reaches the loop's exception handler, and that the
 * process's open descriptors return to where they were once the attackers
 * leave. Real time throughout: latency is what is measured.
 *
 * The fast slice (`deno task test`) uses tens of attackers and small caps;
 * the long one (`deno task test:reliability`) the full attacks, 1,100
 * connections against the default caps. Each attack prints one line of
 * figures. Needs `--allow-run=python3,sh`.
 */
import assert from "node:assert/strict";
import {
  type ExceptionContext,
  getRunningLoop,
  InvalidStateError,
  LimitOverrunError,
  openConnection,
  run,
  type Server,
  sleep,
  startServer,
  type StartServerOptions,
  type StreamReader,
  type StreamWriter,
  timeout,
} from "../../mod.ts";
import { LONG, scale } from "./_budget.ts";
import { openDescriptors } from "../_descriptors.ts";
import { HOST } from "../_net.ts";
import { closeAll, connectMany, resetClients, trickle } from "./_clients.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const TLS = {
  cert: fixture("tls_server.pem"),
  key: fixture("tls_server.key"),
};
const CA = fixture("tls_ca.pem");

/** A good client must be served within this many ms (TCP; TLS twice). */
const BOUND = scale(200, 500);
const PROBES = scale(5, 10);
const FLOOD = new Uint8Array(256 * 1024);
const encoder = new TextEncoder();

/**
 * Echoes lines; answers an over-long line with "too long"; on "flood",
 * writes until the connection is closed. A peer that resets, or a
 * connection the server closes to make room, ends it quietly.
 */
async function handler(reader: StreamReader, writer: StreamWriter) {
  try {
    for (;;) {
      let line: Uint8Array;
      try {
        line = await reader.readLine();
      } catch (error) {
        if (!(error instanceof LimitOverrunError)) throw error;
        writer.write("too long\n");
        await writer.drain();
        continue;
      }
      if (line.length === 0) return;
      if (new TextDecoder().decode(line) === "flood\n") {
        for (;;) {
          writer.write(FLOOD);
          await writer.drain();
        }
      }
      writer.write(line);
      await writer.drain();
    }
  } catch (error) {
    if (
      error instanceof Deno.errors.ConnectionReset ||
      error instanceof Deno.errors.BrokenPipe ||
      (error instanceof InvalidStateError && writer.isClosing())
    ) {
      return;
    }
    throw error;
  }
}

interface Figures {
  readonly latencies: number[];
  peak: number;
}

/** One good client: connect, a line, its echo; resolves to the ms taken. */
async function probe(server: Server, tls: boolean): Promise<number> {
  const { port } = server.addr as Deno.NetAddr;
  const start = performance.now();
  const [reader, writer] = await timeout(
    10_000,
    () =>
      tls
        ? openConnection({ hostname: HOST, port, tls: true, caCerts: [CA] })
        : openConnection({ hostname: HOST, port }),
  );
  try {
    writer.write("ping\n");
    const line = await timeout(10_000, () => reader.readLine());
    assert.equal(new TextDecoder().decode(line), "ping\n");
    return performance.now() - start;
  } finally {
    writer.close();
    await writer.waitClosed().catch(() => {});
  }
}

/** PROBES good clients, 20 ms apart, each within `bound` ms. */
async function probes(
  server: Server,
  tls: boolean,
  figures: Figures,
  bound = tls ? 2 * BOUND : BOUND,
): Promise<void> {
  for (let i = 0; i < PROBES; i++) {
    const ms = await probe(server, tls);
    figures.latencies.push(ms);
    figures.peak = Math.max(figures.peak, await openDescriptors());
    assert.ok(ms < bound, `good client ${i} took ${ms.toFixed(1)} ms`);
    await sleep(20);
  }
}

/** Waits (2 s at most) until the open descriptors are back to `baseline`. */
async function settle(baseline: number): Promise<number> {
  let now = await openDescriptors();
  for (let i = 0; i < 100 && now > baseline; i++) {
    await sleep(20);
    now = await openDescriptors();
  }
  assert.ok(now <= baseline, `${now} descriptors open, ${baseline} before`);
  return now;
}

/**
 * Runs one attack: starts a server, measures the baseline after a first
 * good client, runs `attack` (which probes while it attacks and returns
 * how many attackers it used), waits for the descriptors to return to the
 * baseline, and prints the figures. Reports other than `allowed` fail.
 */
async function underAttack(
  name: string,
  options: Partial<StartServerOptions>,
  attack: (server: Server, figures: Figures) => Promise<number>,
  allowed: RegExp[] = [],
): Promise<void> {
  await run(async () => {
    const reports: ExceptionContext[] = [];
    getRunningLoop().setExceptionHandler((_l, c) => reports.push(c));
    const tls = "cert" in options;
    const server = await startServer(handler, {
      hostname: HOST,
      port: 0,
      ...options,
    } as StartServerOptions);
    const started = performance.now();
    try {
      await probe(server, tls); // warm: lazily opened descriptors now
      const baseline = await openDescriptors();
      const figures: Figures = { latencies: [], peak: baseline };
      const attackers = await attack(server, figures);
      const after = await settle(baseline);
      const sorted = figures.latencies.toSorted((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
      console.log(
        `${name}: ${attackers} attackers, ${sorted.length} good clients ` +
          `served in ${median.toFixed(1)} ms median, ` +
          `${(sorted.at(-1) ?? NaN).toFixed(1)} ms max; descriptors ` +
          `${baseline} before, ${figures.peak} at peak, ${after} after; ` +
          `${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      const unexpected = reports.filter((r) =>
        !allowed.some((pattern) => pattern.test(r.message))
      );
      assert.deepEqual(
        unexpected.map((r) => `${r.message}: ${r.exception}`),
        [],
      );
    } finally {
      server.close();
      server.abortClients();
      await timeout(10_000, () => server.waitClosed());
    }
  });
}

Deno.test("reliability: connections reset before accept do not stall the server", async () => {
  const count = scale(20, 500);
  await underAttack("resets before accept", {}, async (server, figures) => {
    const { port } = server.addr as Deno.NetAddr;
    const resets = resetClients(port, count);
    await probes(server, false, figures);
    await resets;
    await probes(server, false, figures);
    return count;
  });
});

Deno.test("reliability: resets in the middle of a line", async () => {
  const count = scale(20, 500);
  await underAttack("resets mid-write", {}, async (server, figures) => {
    const { port } = server.addr as Deno.NetAddr;
    const resets = resetClients(port, count, "half a li");
    await probes(server, false, figures);
    await resets;
    return count;
  });
});

Deno.test("reliability: idle connections at the cap make room for a good client", async () => {
  // Long: 1,100 idle connections against the default cap of 1,024.
  const count = scale(50, 1100);
  const options = LONG ? {} : { maxConnections: 20 };
  await underAttack(
    "idle connections at the cap",
    options,
    async (server, figures) => {
      const { port } = server.addr as Deno.NetAddr;
      const idle = await connectMany(port, count);
      try {
        await sleep(100); // all idle for a while
        figures.peak = Math.max(figures.peak, await openDescriptors());
        await probes(server, false, figures);
      } finally {
        closeAll(idle);
      }
      return idle.length;
    },
    [/^Server at maxConnections \(\d+\): closing the connection idle longest/],
  );
});

Deno.test("reliability: slowloris (a byte at a time, never a line end) at the cap", async () => {
  const count = scale(50, 1100);
  const options = LONG ? {} : { maxConnections: 20 };
  await underAttack("slowloris", options, async (server, figures) => {
    const { port } = server.addr as Deno.NetAddr;
    const slow = await connectMany(port, count);
    const stop = new AbortController();
    const trickling = trickle(
      slow,
      encoder.encode("x"),
      scale(50, 500),
      stop.signal,
      30_000,
    );
    try {
      await sleep(100);
      await probes(server, false, figures);
    } finally {
      stop.abort();
      await trickling;
      closeAll(slow);
    }
    return slow.length;
  }, [
    /^Server at maxConnections \(\d+\): closing the connection idle longest/,
  ]);
});

Deno.test("reliability: peers that never read what they asked for", async () => {
  const count = scale(30, 200);
  await underAttack(
    "never-reading peers",
    { maxConnections: scale(20, 100) },
    async (server, figures) => {
      const { port } = server.addr as Deno.NetAddr;
      const greedy = await connectMany(port, count);
      try {
        await Promise.all(
          greedy.map((conn) => conn.write(encoder.encode("flood\n"))),
        );
        // Every served one fills its buffers, then waits on its peer.
        await sleep(scale(200, 1000));
        figures.peak = Math.max(figures.peak, await openDescriptors());
        await probes(server, false, figures);
      } finally {
        closeAll(greedy);
      }
      return greedy.length;
    },
    [/^Server at maxConnections \(\d+\): closing the connection idle longest/],
  );
});

Deno.test("reliability: over-long lines", async () => {
  const count = scale(10, 100);
  const line = encoder.encode("x".repeat(1 << 20)); // 16 × the limit
  await underAttack("over-long lines", {}, async (server, figures) => {
    const { port } = server.addr as Deno.NetAddr;
    const long = await connectMany(port, count);
    try {
      const sending = Promise.allSettled(long.map((conn) => conn.write(line)));
      await probes(server, false, figures);
      await sending;
    } finally {
      closeAll(long);
    }
    return long.length;
  });
});

Deno.test("reliability: silent TLS handshakes within maxHandshakes", async () => {
  // Long: 1,100 silent connections, with room for them.
  const count = scale(50, 1100);
  await underAttack(
    "silent TLS handshakes, under maxHandshakes",
    { ...TLS, maxHandshakes: scale(256, 2048), maxConnections: 20 },
    async (server, figures) => {
      const { port } = server.addr as Deno.NetAddr;
      const silent = await connectMany(port, count);
      try {
        await sleep(100);
        figures.peak = Math.max(figures.peak, await openDescriptors());
        await probes(server, true, figures);
      } finally {
        closeAll(silent);
      }
      return silent.length;
    },
  );
});

Deno.test("reliability: stalled TLS handshakes (a partial ClientHello, a byte at a time)", async () => {
  const count = scale(50, 1100);
  // A TLS record header announcing a 512-byte handshake message.
  const header = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00]);
  await underAttack(
    "stalled TLS handshakes, under maxHandshakes",
    {
      ...TLS,
      maxHandshakes: scale(256, 2048),
      maxConnections: 20,
      tlsHandshakeTimeout: 300,
    },
    async (server, figures) => {
      const { port } = server.addr as Deno.NetAddr;
      const stalled = await connectMany(port, count);
      const stop = new AbortController();
      await Promise.allSettled(stalled.map((conn) => conn.write(header)));
      const trickling = trickle(
        stalled,
        new Uint8Array([1]),
        scale(50, 500),
        stop.signal,
        30_000,
      );
      try {
        await sleep(100);
        await probes(server, true, figures);
        await sleep(400); // past the timeout: given up, still open
        figures.peak = Math.max(figures.peak, await openDescriptors());
        await probes(server, true, figures);
      } finally {
        stop.abort();
        await trickling;
        closeAll(stalled);
      }
      return stalled.length;
    },
  );
});

Deno.test("reliability: silent TLS handshakes beyond maxHandshakes are bounded and released", async () => {
  // Long: the default maxHandshakes (256) and 500 more. Deno listens with
  // a backlog of 512: connections past it are not established (they sit
  // in SYN retries for minutes) and cost the server nothing, so 1,100
  // attackers would open no more than this.
  const max = scale(10, 256);
  const count = max + scale(20, 500);
  const handshakeTimeout = 200;
  await underAttack(
    "silent TLS handshakes, beyond maxHandshakes",
    { ...TLS, maxHandshakes: max, tlsHandshakeTimeout: handshakeTimeout },
    async (server, figures) => {
      const { port } = server.addr as Deno.NetAddr;
      // A client served before the attack goes on being served.
      const [reader, writer] = await openConnection({
        hostname: HOST,
        port,
        tls: true,
        caCerts: [CA],
      });
      const before = await openDescriptors();
      const silent = await connectMany(port, count);
      try {
        // Several timeouts pass: each given-up handshake keeps its slot,
        // so the server's descriptors stay bounded by maxHandshakes.
        await sleep(3 * handshakeTimeout);
        const open = await openDescriptors();
        figures.peak = Math.max(figures.peak, open);
        assert.ok(
          open <= before + silent.length + max,
          `${open} open: ${before} + ${silent.length} clients + ${
            open - before - silent.length
          } accepted, more than maxHandshakes (${max})`,
        );
        for (let i = 0; i < PROBES; i++) {
          const start = performance.now();
          writer.write("still served\n");
          assert.equal(
            new TextDecoder().decode(await reader.readLine()),
            "still served\n",
          );
          const ms = performance.now() - start;
          figures.latencies.push(ms);
          assert.ok(ms < BOUND, `served client took ${ms.toFixed(1)} ms`);
        }
        // A new client waits: Deno does not let the server close them.
        const late = probe(server, true);
        const early = await Promise.race([late, sleep(300)]);
        assert.equal(early, undefined);
        const left = performance.now();
        closeAll(silent);
        await late;
        console.log(
          `  a new client waited, then was served ${
            (performance.now() - left).toFixed(1)
          } ms after the attackers left`,
        );
      } finally {
        closeAll(silent);
        writer.close();
        await writer.waitClosed();
      }
      return silent.length;
    },
    [/^Server at maxHandshakes \(\d+\): accepting paused$/],
  );
});
