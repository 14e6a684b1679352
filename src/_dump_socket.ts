/**
 * The Deno plumbing of the live task dump: a Unix socket that only its
 * owner can connect to, answering each connection with a report and
 * closing it. It runs on the host's event loop, not as a task: it shows
 * in no task tree, holds no virtual clock, keeps no process alive, and
 * still answers when the loop is idle, deadlocked or stopped (though not
 * while a synchronous step blocks the thread, as nothing can).
 */

/** A view of the task dump: the table (`ps`) or the tree (`pstree`). */
export type DumpView = "table" | "tree";

/** Requests the server understands: one line, then the report. */
export const VIEWS: readonly DumpView[] = ["table", "tree"];

/** The longest request line read, in bytes. */
const MAX_REQUEST = 64;
/** How long a client may take to send its request. */
const REQUEST_TIMEOUT_MS = 5_000;

/** A running dump server. */
export interface DumpServer {
  /** The socket's path. */
  readonly path: string;
  /** Stops listening, drops clients, removes the socket file. */
  close(): void;
}

/**
 * Binds a Unix socket at `path` that only the owner can connect to: with
 * `--allow-sys=umask` it is created with mode 0600 from the start (the
 * umask is changed around the bind, a synchronous call); without it, it
 * is made 0600 right after the bind, before any connection is accepted —
 * a directory only the owner can enter (such as `$XDG_RUNTIME_DIR`)
 * closes that window too. A socket left at `path` by an earlier run is
 * replaced; any other file is not.
 */
function listenPrivately(path: string): Deno.UnixListener {
  let existing: Deno.FileInfo | undefined;
  try {
    existing = Deno.lstatSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (existing !== undefined) {
    if (!existing.isSocket) {
      throw new Deno.errors.AlreadyExists(
        `Cannot enable task dump: ${path} exists and is not a socket`,
      );
    }
    Deno.removeSync(path);
  }
  let restore: number | undefined;
  if (umaskAllowed()) restore = Deno.umask(0o177);
  let listener: Deno.UnixListener;
  try {
    listener = Deno.listen({ transport: "unix", path });
  } finally {
    if (restore !== undefined) Deno.umask(restore);
  }
  try {
    Deno.chmodSync(path, 0o600);
  } catch (error) {
    listener.close();
    throw error;
  }
  return listener;
}

/**
 * Serves `report(view)` on a new owner-only Unix socket at `path`: a
 * client sends a line naming the view (`table` or `tree`; an empty line
 * means `tree`), gets the report, and the connection closes.
 *
 * @param path Where to create the socket.
 * @param report Makes the report for a view, synchronously.
 * @returns The server.
 */
export function serveDumps(
  path: string,
  report: (view: DumpView) => string,
): DumpServer {
  const listener = listenPrivately(path);
  listener.unref();
  const inode = Deno.lstatSync(path).ino;
  const clients = new Set<Deno.Conn>();
  let closed = false;

  const answer = async (conn: Deno.Conn): Promise<void> => {
    clients.add(conn);
    conn.unref();
    const timer = setTimeout(() => conn.close(), REQUEST_TIMEOUT_MS);
    Deno.unrefTimer(timer);
    try {
      const request = await readRequest(conn);
      clearTimeout(timer);
      const view = request === "" ? "tree" : request;
      let text: string;
      if ((VIEWS as readonly string[]).includes(view)) {
        try {
          text = report(view as DumpView);
        } catch (error) {
          text = `Cannot dump tasks: ${String(error)}`;
        }
      } else {
        text = `Cannot dump tasks: unknown view ${JSON.stringify(view)}; ` +
          `ask for one of ${VIEWS.join(", ")}`;
      }
      await writeAll(conn, new TextEncoder().encode(`${text}\n`));
    } catch {
      // The client went away (or timed out): nothing to tell it.
    } finally {
      clearTimeout(timer);
      clients.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed by the timeout or by close().
      }
    }
  };

  (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed
      }
      if (closed) {
        conn.close();
        return;
      }
      answer(conn);
    }
  })();

  return {
    path,
    close(): void {
      if (closed) return;
      closed = true;
      listener.close();
      for (const conn of clients) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      clients.clear();
      // Deno removes the file with the listener; make sure, but only if it
      // is still ours (another process may have taken the path since).
      try {
        if (Deno.lstatSync(path).ino === inode) Deno.removeSync(path);
      } catch {
        // Gone already.
      }
    },
  };
}

/** Whether `--allow-sys=umask` was given (asking never prompts). */
function umaskAllowed(): boolean {
  try {
    return Deno.permissions.querySync({
      name: "sys",
      kind: "umask",
    } as Deno.PermissionDescriptor).state === "granted";
  } catch {
    return false;
  }
}

/** Reads one request line, at most `MAX_REQUEST` bytes, up to EOF. */
async function readRequest(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(MAX_REQUEST);
  let length = 0;
  while (length < MAX_REQUEST) {
    const n = await conn.read(buffer.subarray(length));
    if (n === null) break;
    length += n;
    if (buffer.subarray(0, length).includes(10)) break;
  }
  const text = new TextDecoder().decode(buffer.subarray(0, length));
  return text.split("\n")[0].trim();
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await conn.write(bytes.subarray(offset));
  }
}
