/**
 * Abusive loopback clients for the server tests: connections reset before
 * the server accepts them, and a count of this process's open descriptors.
 * Loopback only; every helper bounds its own work.
 */

const RST_SCRIPT = `
import socket, struct, sys
port, count, data = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    # SO_LINGER {on, 0 s}: close() sends RST instead of FIN.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if data:
        s.sendall(data)
    s.close()
`;

/**
 * Opens `count` connections to `127.0.0.1:port`, one after the other, and
 * resets each (RST, by `SO_LINGER` 0) as soon as the kernel has completed
 * it (so, usually before the server accepts it), or after sending `data`.
 * A Deno client cannot set `SO_LINGER`, so this runs `python3` (needs
 * `--allow-run=python3`).
 *
 * @param port The server's port.
 * @param count How many connections.
 * @param data What each sends before its reset: nothing by default.
 */
export async function resetClients(
  port: number,
  count: number,
  data = "",
): Promise<void> {
  const out = await new Deno.Command("python3", {
    args: ["-c", RST_SCRIPT, String(port), String(count), data],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot reset connections: python3 failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

const TLS_CLIENT_SCRIPT = `
import socket, ssl, sys
port, cafile, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
context = ssl.create_default_context(cafile=cafile)
for i in range(count):
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
    tls.sendall(b"line %d\\n" % i)
    got = b""
    while not got.endswith(b"\\n"):
        chunk = tls.recv(100)
        if not chunk:
            break
        got += chunk
    sys.stdout.write(got.decode())
    # Python's default: close the socket without sending close_notify.
    tls.close()
`;

/**
 * Runs `count` Python TLS clients one after the other against
 * `127.0.0.1:port`: each sends one line, reads one line back, and closes
 * without `close_notify` (Python's and many clients' default). Needs
 * `--allow-run=python3`.
 *
 * @param port The server's port.
 * @param caFile The CA certificate's path.
 * @param count How many clients.
 * @returns What the clients read, concatenated.
 */
export async function tlsClientsWithoutCloseNotify(
  port: number,
  caFile: string,
  count: number,
): Promise<string> {
  const out = await new Deno.Command("python3", {
    args: ["-c", TLS_CLIENT_SCRIPT, String(port), caFile, String(count)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot run TLS clients: python3 failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

const TLS_SERVER_SCRIPT = `
import socket, ssl, sys
certfile, keyfile = sys.argv[1], sys.argv[2]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(certfile, keyfile)
listener = socket.create_server(("127.0.0.1", 0))
listener.settimeout(10)
print(listener.getsockname()[1], flush=True)
raw, _ = listener.accept()
tls = context.wrap_socket(raw, server_side=True)
tls.sendall(b"hello\\n")
# Python's default: close the socket without sending close_notify.
tls.close()
listener.close()
`;

/**
 * Starts a one-shot Python TLS server on `127.0.0.1` that greets its
 * first client with "hello\n" and closes without `close_notify`. Needs
 * `--allow-run=python3`.
 *
 * @param certFile The server certificate's path.
 * @param keyFile The server key's path.
 * @returns Its port, and a promise that settles when the process ends.
 */
export async function tlsServerWithoutCloseNotify(
  certFile: string,
  keyFile: string,
): Promise<{ port: number; done: Promise<Deno.CommandStatus> }> {
  const child = new Deno.Command("python3", {
    args: ["-c", TLS_SERVER_SCRIPT, certFile, keyFile],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let line = "";
  const decoder = new TextDecoder();
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    line += decoder.decode(value);
  }
  reader.releaseLock();
  await child.stdout.cancel();
  const port = Number.parseInt(line, 10);
  if (!(port > 0)) {
    child.kill();
    await child.status;
    throw new Error(`Cannot start TLS server: python3 printed ${line}`);
  }
  return { port, done: child.status };
}

/**
 * Opens `count` plain TCP connections to `127.0.0.1:port`, `batch` at a
 * time; a connection that fails (the backlog is full, say) is skipped.
 *
 * @param port The server's port.
 * @param count How many.
 * @param batch How many connect at once.
 * @returns The connections made.
 */
export async function connectMany(
  port: number,
  count: number,
  batch = 50,
): Promise<Deno.TcpConn[]> {
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i += batch) {
    const results = await Promise.allSettled(
      Array.from(
        { length: Math.min(batch, count - i) },
        () => Deno.connect({ hostname: "127.0.0.1", port }),
      ),
    );
    for (const result of results) {
      if (result.status === "fulfilled") conns.push(result.value);
    }
  }
  return conns;
}

/**
 * Writes `data` to each connection every `interval` ms until `stop` is
 * aborted or `deadline` ms have passed; a connection whose write fails
 * (closed by the server) drops out. Writes are not awaited past the
 * kernel's buffer: a stuck write skips its turn.
 *
 * @param conns The connections.
 * @param data What to send each time.
 * @param interval Milliseconds between rounds.
 * @param stop Ends the trickle.
 * @param deadline At most this many milliseconds in all.
 * @returns How many writes were made.
 */
export async function trickle(
  conns: Deno.Conn[],
  data: Uint8Array,
  interval: number,
  stop: AbortSignal,
  deadline: number,
): Promise<number> {
  const end = performance.now() + deadline;
  const live = new Set(conns);
  const busy = new Set<Deno.Conn>();
  let writes = 0;
  while (!stop.aborted && live.size > 0 && performance.now() < end) {
    for (const conn of live) {
      if (busy.has(conn)) continue;
      busy.add(conn);
      writes++;
      conn.write(data).then(
        () => busy.delete(conn),
        () => {
          busy.delete(conn);
          live.delete(conn);
        },
      );
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, interval);
      stop.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
  return writes;
}

/**
 * Closes connections, ignoring those already closed.
 *
 * @param conns The connections.
 */
export function closeAll(conns: Iterable<Deno.Conn>): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}
