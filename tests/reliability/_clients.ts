/**
 * Abusive loopback clients for the server tests: connections reset before
 * the server accepts them, and a count of this process's open descriptors.
 * Loopback only; every helper bounds its own work.
 */

const RST_SCRIPT = `
import socket, struct, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    # SO_LINGER {on, 0 s}: close() sends RST instead of FIN.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
`;

/**
 * Opens `count` connections to `127.0.0.1:port` and resets each (RST, by
 * `SO_LINGER` 0) as soon as the kernel has completed it, before the server
 * can accept it. A Deno client cannot set `SO_LINGER`, so this runs
 * `python3` (needs `--allow-run=python3`).
 *
 * @param port The server's port.
 * @param count How many connections.
 */
export async function resetClients(port: number, count: number): Promise<void> {
  const out = await new Deno.Command("python3", {
    args: ["-c", RST_SCRIPT, String(port), String(count)],
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

/**
 * How many descriptors this process has open (needs
 * `--allow-read=/proc/self/fd`).
 *
 * @returns The count.
 */
export function openDescriptors(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}
