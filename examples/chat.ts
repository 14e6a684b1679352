/**
 * A network server and its clients: a TCP chat server. Each client gets
 * an outbox `Queue` and a task that writes it out, so one slow client
 * never holds up the others: broadcasting only puts lines into queues,
 * and a client whose queue overflows is dropped. Clients join with a
 * name, talk, and leave (`/quit`, or by hanging up).
 *
 * The asyncio original would be:
 *
 * ```python
 * async def handle(reader, writer):
 *     name = (await reader.readline()).decode().strip()
 *     outbox = asyncio.Queue(100)
 *     clients[name] = outbox
 *     async with asyncio.TaskGroup() as group:
 *         group.create_task(send_all(outbox, writer))
 *         async for line in reader:
 *             broadcast(f"{name}: {line.decode().strip()}")
 *         outbox.shutdown()
 * ```
 *
 * Run: `deno run --allow-net=127.0.0.1 examples/chat.ts`.
 */
import {
  openConnection,
  Queue,
  QueueFull,
  run,
  type Server,
  startServer,
  type StreamReader,
  type StreamWriter,
  taskGroup,
} from "../mod.ts";

const decoder = new TextDecoder();
const HOST = "127.0.0.1";
/** Lines a client may fall behind by before it is dropped. */
const OUTBOX_SIZE = 100;

interface Member {
  readonly outbox: Queue<string>;
  readonly writer: StreamWriter;
}

/** The chat room: who is in it, and how a line reaches everyone. */
export class ChatRoom {
  readonly #members = new Map<string, Member>();

  /** The names of the members, in the order they joined. */
  get names(): string[] {
    return [...this.#members.keys()];
  }

  /** Puts `line` in every member's outbox; drops members too far behind. */
  broadcast(line: string): void {
    for (const [name, member] of this.#members) {
      try {
        member.outbox.putNowait(line);
      } catch (error) {
        if (!(error instanceof QueueFull)) throw error;
        // Too slow to keep up: hang up on it rather than buffer forever.
        this.#members.delete(name);
        member.outbox.shutdown(true);
        member.writer.abort();
      }
    }
  }

  /** Serves one client: the `onClient` of `startServer`. */
  handle = async (reader: StreamReader, writer: StreamWriter) => {
    writer.write("Welcome! Your name?\n");
    const name = decoder.decode(await reader.readLine()).trim();
    if (name === "" || this.#members.has(name)) {
      writer.write("That name is taken\n");
      return; // returning closes the connection
    }
    const outbox = new Queue<string>(OUTBOX_SIZE);
    this.#members.set(name, { outbox, writer });
    this.broadcast(`* ${name} joined (${this.names.join(", ")})`);
    try {
      await taskGroup(async (group) => {
        // The sender: writes the outbox out until it is shut down.
        group.createTask(async () => {
          for await (const line of outbox) {
            writer.write(line + "\n");
            await writer.drain();
          }
        });
        for await (const raw of reader) {
          const text = decoder.decode(raw).trim();
          if (text === "/quit") break;
          if (text !== "") this.broadcast(`${name}: ${text}`);
        }
        outbox.shutdown(); // the sender sends what is queued, then ends
      });
    } catch {
      // The client vanished (a reset, say): it leaves all the same.
    } finally {
      if (this.#members.get(name)?.outbox === outbox) {
        this.#members.delete(name);
        this.broadcast(`* ${name} left`);
      }
    }
  };
}

/** Starts a chat server on 127.0.0.1; port 0 picks a free one. */
export function startChatServer(
  room: ChatRoom,
  port = 0,
): Promise<Server> {
  return startServer(room.handle, { hostname: HOST, port, limit: 4096 });
}

/** A chat client over `openConnection`. */
export class ChatClient {
  private constructor(
    readonly name: string,
    readonly reader: StreamReader,
    readonly writer: StreamWriter,
  ) {}

  /** Connects and joins with `name`. */
  static async join(port: number, name: string): Promise<ChatClient> {
    const [reader, writer] = await openConnection({ hostname: HOST, port });
    await reader.readLine(); // the welcome
    writer.write(`${name}\n`);
    await writer.drain();
    return new ChatClient(name, reader, writer);
  }

  /** Sends a line to the room. */
  async say(text: string): Promise<void> {
    this.writer.write(`${text}\n`);
    await this.writer.drain();
  }

  /** The next line from the room. */
  async next(): Promise<string> {
    return decoder.decode(await this.reader.readLine()).trimEnd();
  }

  /** Says `/quit` and hangs up once the server has closed its end. */
  async leave(): Promise<void> {
    await this.say("/quit");
    await this.reader.read(); // whatever is left, until the server hangs up
    this.writer.close();
    await this.writer.waitClosed();
  }
}

export async function main(): Promise<void> {
  const room = new ChatRoom();
  const server = await startChatServer(room);
  const { port } = server.addr as Deno.NetAddr;
  console.log(`Chat server on ${HOST}:${port}`);

  const present: ChatClient[] = [];
  // Every member present receives each line; print them in a fixed order.
  const everyoneHears = async () => {
    for (const client of present) {
      console.log(`  ${client.name} <- ${await client.next()}`);
    }
  };
  const join = async (name: string) => {
    console.log(`${name} joins`);
    present.push(await ChatClient.join(port, name));
    await everyoneHears();
  };
  const say = async (client: ChatClient, text: string) => {
    console.log(`${client.name} says "${text}"`);
    await client.say(text);
    await everyoneHears();
  };

  await join("alice");
  await join("bob");
  const [alice, bob] = present;
  await say(alice, "hi bob");
  await join("carol");
  const carol = present[2];
  await say(bob, "hello both");
  await say(carol, "bye for now");
  console.log("carol leaves");
  present.splice(present.indexOf(carol), 1);
  await carol.leave();
  await everyoneHears();
  console.log("bob hangs up without a word");
  present.splice(present.indexOf(bob), 1);
  bob.writer.close();
  await bob.writer.waitClosed();
  await everyoneHears();
  console.log("alice leaves");
  present.length = 0;
  await alice.leave();

  server.close();
  await server.waitClosed();
  console.log(`Room empty: ${room.names.length === 0}`);
}

if (import.meta.main) await run(main);
