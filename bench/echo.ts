/**
 * The echo benchmark: one client program drives four TCP echo servers on
 * loopback, one after the other, each in its own process:
 *
 * - `startServer`: this module's streams on its event loop, twice: with
 *   `reader.read(65536)` (a new array per read, as the Python peers get
 *   new `bytes`) and with `reader.readInto(buffer)` (one reused buffer,
 *   as the raw loop); both then `writer.write(data)`, `await drain()`;
 * - raw Deno: `Deno.listen`, `conn.read`, `conn.write` — the limit;
 * - CPython 3.13 asyncio streams and uvloop streams (bench/echo_peers.py).
 *
 * 50 clients each send a message and read the echo back, over and over,
 * for a fixed time; the table gives echoed messages per second for 1 KiB
 * and 64 KiB messages. Client and server share the machine's cores.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 \
 *   --allow-run=deno,python3.13,/usr/bin/python3 \
 *   --allow-env=PYTHON,UVLOOP_PYTHON,ECHO_SECONDS,ECHO_ROUNDS bench/echo.ts
 * ```
 *
 * `PYTHON` (default `python3.13`) runs asyncio, `UVLOOP_PYTHON` (default
 * `/usr/bin/python3`, Debian's python3-uvloop) runs uvloop; all servers
 * run at once and are measured in `ECHO_ROUNDS` (default 3) interleaved
 * rounds of `ECHO_SECONDS` (default 2) per cell, the median reported, so
 * that load elsewhere on the machine hits them alike. The server
 * modes are `deno run --allow-net=127.0.0.1 bench/echo.ts serve
 * read|readinto|raw`.
 *
 * `compare.ts` runs each (server, size) pair as a cell of its own instead:
 * `echo.ts cell SERVER SIZE [--quick]` starts that one server, loads it
 * for `WARMUP_MS` to warm up and for `ECHO_SECONDS` measured (`--quick`:
 * 0.2 s and 0.5 s), stops it and prints `{ "value": msg/s, "version" }`.
 */
import { run, startServer } from "../mod.ts";

const HOST = "127.0.0.1";
const CLIENTS = 50;
const SIZES = [1024, 65536];
const WARMUP_MS = 500;
const CHUNK = 65536;

// --- servers ---

async function serveOurs(byob: boolean): Promise<void> {
  await run(async () => {
    const server = await startServer(async (reader, writer) => {
      const buffer = new Uint8Array(CHUNK);
      try {
        for (;;) {
          if (byob) {
            const n = await reader.readInto(buffer);
            if (n === null) break;
            writer.write(buffer.subarray(0, n)); // copied: buffer is free
          } else {
            const data = await reader.read(CHUNK);
            if (data.length === 0) break;
            writer.write(data);
          }
          await writer.drain();
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
      }
    }, { hostname: HOST, port: 0 });
    announce(
      `this module: startServer, ${byob ? "readInto" : "read"}`,
      server.addr as Deno.NetAddr,
    );
    await untilStdinCloses();
    server.close();
    server.abortClients();
    await server.waitClosed();
  });
}

async function serveRaw(): Promise<void> {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  announce("raw Deno.Conn", listener.addr);
  const echo = async (conn: Deno.TcpConn) => {
    conn.setNoDelay(true);
    const buf = new Uint8Array(CHUNK);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (let at = 0; at < n;) at += await conn.write(buf.subarray(at, n));
      }
    } catch {
      // The client left.
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  };
  untilStdinCloses().then(() => listener.close());
  try {
    for await (const conn of listener) echo(conn as Deno.TcpConn);
  } catch {
    // Closed.
  }
}

function announce(runtime: string, addr: Deno.NetAddr): void {
  console.log(JSON.stringify({ runtime, port: addr.port }));
}

async function untilStdinCloses(): Promise<void> {
  const buf = new Uint8Array(1);
  while ((await Deno.stdin.read(buf)) !== null);
}

// --- the client ---

/** Echoed messages per second from `CLIENTS` connections for `ms`. */
async function load(port: number, size: number, ms: number): Promise<number> {
  const message = new Uint8Array(size).fill(0x61);
  const conns = await Promise.all(
    Array.from(
      { length: CLIENTS },
      () => Deno.connect({ hostname: HOST, port }),
    ),
  );
  for (const conn of conns) conn.setNoDelay(true);
  let count = 0;
  let stop = false;
  const timer = setTimeout(() => stop = true, ms);
  const start = performance.now();
  await Promise.all(conns.map(async (conn) => {
    const buf = new Uint8Array(Math.max(size, CHUNK));
    while (!stop) {
      for (let at = 0; at < size;) at += await conn.write(message.subarray(at));
      for (let got = 0; got < size;) {
        const n = await conn.read(buf);
        if (n === null) throw new Error("Server closed the connection");
        got += n;
      }
      count++;
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  clearTimeout(timer);
  for (const conn of conns) conn.close();
  return count / seconds;
}

interface Peer {
  readonly label: string;
  readonly command: string;
  readonly args: string[];
}

interface Running {
  readonly label: string;
  readonly runtime: string;
  readonly port: number;
  readonly stop: () => Promise<void>;
}

/** Starts a server process and reads the port it announces. */
async function start(peer: Peer): Promise<Running | undefined> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(peer.command, {
      args: peer.args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    console.error(`Cannot start ${peer.label}: ${error}`);
    return undefined;
  }
  const stdin = child.stdin.getWriter();
  const stop = async () => {
    await stdin.close().catch(() => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await child.status;
    clearTimeout(timer);
    await child.stdout.cancel().catch(() => {});
  };
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) break;
    first += value;
  }
  lines.releaseLock();
  try {
    const { runtime, port } = JSON.parse(first.split("\n")[0]);
    return { label: peer.label, runtime, port, stop };
  } catch {
    console.error(`${peer.label} did not start`);
    await stop();
    return undefined;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The servers, by label: this module's two, raw Deno, asyncio, uvloop. */
export function peers(): Peer[] {
  const script = new URL(import.meta.url).pathname;
  const peersScript = new URL("./echo_peers.py", import.meta.url).pathname;
  const deno = ["run", "--allow-net=127.0.0.1", script, "serve"];
  return [
    { label: "read", command: "deno", args: [...deno, "read"] },
    {
      label: "readinto",
      command: "deno",
      args: [...deno, "readinto"],
    },
    { label: "raw", command: "deno", args: [...deno, "raw"] },
    {
      label: "asyncio",
      command: Deno.env.get("PYTHON") ?? "python3.13",
      args: [peersScript, "asyncio"],
    },
    {
      label: "uvloop",
      command: Deno.env.get("UVLOOP_PYTHON") ?? "/usr/bin/python3",
      args: [peersScript, "uvloop"],
    },
  ];
}

/** One cell of `compare.ts`: one server, one message size. */
async function cell(label: string, size: number, quick: boolean) {
  const peer = peers().find((p) => p.label === label);
  if (peer === undefined) {
    throw new TypeError(`Cannot run a cell: unknown server: ${label}`);
  }
  if (!SIZES.includes(size)) {
    throw new RangeError(`Cannot run a cell: size must be one of ${SIZES}`);
  }
  const seconds = quick ? 0.5 : Number(Deno.env.get("ECHO_SECONDS") ?? 2);
  const server = await start(peer);
  if (server === undefined) throw new Error(`Cannot start ${label}`);
  try {
    await load(server.port, size, quick ? 200 : WARMUP_MS);
    const value = await load(server.port, size, seconds * 1000);
    console.log(JSON.stringify({ value, version: server.runtime }));
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const seconds = Number(Deno.env.get("ECHO_SECONDS") ?? 2);
  const rounds = Number(Deno.env.get("ECHO_ROUNDS") ?? 3);
  const servers: Running[] = [];
  for (const peer of peers()) {
    const running = await start(peer);
    if (running !== undefined) servers.push(running);
  }
  // Interleaved rounds, so that a burst of load elsewhere on the machine
  // hits every server alike; each cell is the median of its rounds.
  const samples = new Map(
    servers.map((s) => [s.label, SIZES.map(() => [] as number[])]),
  );
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [i, size] of SIZES.entries()) {
        for (const server of servers) {
          await load(server.port, size, WARMUP_MS);
          samples.get(server.label)![i].push(
            await load(server.port, size, seconds * 1000),
          );
        }
      }
    }
  } finally {
    for (const server of servers) await server.stop();
  }
  const results = new Map(
    servers.map((s) => [s.label, {
      runtime: s.runtime,
      rates: samples.get(s.label)!.map(median),
    }]),
  );
  const fmt = (n: number | undefined) =>
    n === undefined ? "n/a" : Math.round(n).toLocaleString("en-US");
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? "n/a" : `${(a / b).toFixed(2)}×`;
  console.log(
    `\nEcho over loopback: ${CLIENTS} clients, median of ${rounds} ` +
      `interleaved rounds of ${seconds} s per cell, ` +
      `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores ` +
      `shared by the client and the server\n`,
  );
  console.log("| server | 1 KiB msg/s | 64 KiB msg/s |");
  console.log("|---|---:|---:|");
  for (const result of results.values()) {
    console.log(
      `| ${result.runtime} | ${fmt(result.rates[0])} | ${
        fmt(result.rates[1])
      } |`,
    );
  }
  console.log(
    "\n| ratio | 1 KiB | 64 KiB |",
  );
  console.log("|---|---:|---:|");
  for (const mine of ["read", "readinto"]) {
    const ours = results.get(mine)?.rates;
    for (const label of ["raw", "asyncio", "uvloop"]) {
      const other = results.get(label);
      if (ours === undefined || other === undefined) continue;
      console.log(
        `| ${mine} / ${label} | ${ratio(ours[0], other.rates[0])} | ${
          ratio(ours[1], other.rates[1])
        } |`,
      );
    }
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "serve") {
    if (Deno.args[1] === "raw") await serveRaw();
    else await serveOurs(Deno.args[1] === "readinto");
  } else if (Deno.args[0] === "cell") {
    await cell(
      Deno.args[1],
      Number(Deno.args[2]),
      Deno.args.includes("--quick"),
    );
  } else {
    await main();
  }
}
