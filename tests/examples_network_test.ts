import assert from "node:assert/strict";
import { run, sleep } from "../mod.ts";
import { VirtualClock } from "../src/testing.ts";
import { captureLog } from "./_capture.ts";
import {
  crawl,
  main as webScraping,
  serveSite,
} from "../examples/web_scraping.ts";
import {
  ChatClient,
  ChatRoom,
  main as chat,
  startChatServer,
} from "../examples/chat.ts";

/** Virtual time; loopback I/O gets 50 ms of real idleness to arrive. */
function virtual<T>(fn: () => Promise<T>): Promise<T> {
  return run(fn, { clock: new VirtualClock({ autojumpThreshold: 50 }) });
}

Deno.test("examples/web_scraping crawls breadth-first, times out the slow page", async () => {
  const lines = await captureLog(() => virtual(webScraping));
  assert.deepEqual(lines, [
    "/ (depth 0): 3 links, 3 new",
    "  /news (depth 1): 3 links, 2 new",
    "  /products (depth 1): 4 links, 4 new",
    "  /about (depth 1): 2 links, 0 new",
    "    /news/1 (depth 2): 1 links, 0 new",
    "    /news/2 (depth 2): 2 links, 0 new",
    "    /products/a (depth 2): 1 links, 0 new",
    "    /products/b (depth 2): 0 links, 0 new",
    "    /slow (depth 2): timed out after 500 ms",
    "    /missing (depth 2): failed: HTTP 404",
    "10 pages visited",
  ]);
});

Deno.test("examples/web_scraping crawl() never runs more fetches than its semaphore allows", async () => {
  // A site whose pages each take a moment, counting requests in flight.
  let inFlight = 0;
  let most = 0;
  const site = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      const n = Number(new URL(req.url).pathname.slice(1) || 0);
      const links = n < 4
        ? [1, 2, 3].map((i) => `<a href="/${n * 3 + i}">`).join("")
        : "";
      return new Response(links);
    },
  );
  try {
    const results = await virtual(() =>
      crawl(`http://127.0.0.1:${site.addr.port}/`, {
        concurrency: 2,
        pageTimeout: 60_000,
        maxPages: 10,
      })
    );
    assert.equal(results.length, 10);
    assert.deepEqual(
      results.map((r) => r.depth),
      [0, 1, 1, 1, 2, 2, 2, 2, 2, 2],
    );
    assert.ok(most <= 2, `${most} requests at once`);
  } finally {
    await site.shutdown();
  }
});

Deno.test("examples/web_scraping serveSite() serves the site's pages", async () => {
  const site = serveSite();
  try {
    const response = await fetch(`http://127.0.0.1:${site.addr.port}/news`);
    assert.match(await response.text(), /href="\/news\/1"/);
    const missing = await fetch(`http://127.0.0.1:${site.addr.port}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await site.shutdown();
  }
});

Deno.test("examples/chat prints the conversation in order", async () => {
  const lines = await captureLog(() => virtual(chat));
  assert.match(lines[0], /^Chat server on 127\.0\.0\.1:\d+$/);
  assert.deepEqual(lines.slice(1), [
    "alice joins",
    "  alice <- * alice joined (alice)",
    "bob joins",
    "  alice <- * bob joined (alice, bob)",
    "  bob <- * bob joined (alice, bob)",
    'alice says "hi bob"',
    "  alice <- alice: hi bob",
    "  bob <- alice: hi bob",
    "carol joins",
    "  alice <- * carol joined (alice, bob, carol)",
    "  bob <- * carol joined (alice, bob, carol)",
    "  carol <- * carol joined (alice, bob, carol)",
    'bob says "hello both"',
    "  alice <- bob: hello both",
    "  bob <- bob: hello both",
    "  carol <- bob: hello both",
    'carol says "bye for now"',
    "  alice <- carol: bye for now",
    "  bob <- carol: bye for now",
    "  carol <- carol: bye for now",
    "carol leaves",
    "  alice <- * carol left",
    "  bob <- * carol left",
    "bob hangs up without a word",
    "  alice <- * bob left",
    "alice leaves",
    "Room empty: true",
  ]);
});

Deno.test("examples/chat drops a client that stops reading, and the others go on", async () => {
  await virtual(async () => {
    const room = new ChatRoom();
    const server = await startChatServer(room);
    const { port } = server.addr as Deno.NetAddr;
    const talker = await ChatClient.join(port, "talker");
    await talker.next(); // its own join
    const sleeper = await ChatClient.join(port, "sleeper"); // never reads
    await talker.next();
    const line = "z".repeat(4000);
    // Talk until the sleeper's kernel buffers and then its outbox are full.
    let sent = 0;
    while (room.names.includes("sleeper") && sent < 20_000) {
      await talker.say(line);
      assert.equal(await talker.next(), `talker: ${line}`);
      sent++;
    }
    assert.deepEqual(room.names, ["talker"]);
    assert.ok(sent > 100, `dropped after ${sent} lines`);
    sleeper.writer.abort();
    await sleeper.writer.waitClosed();
    await talker.say("still here");
    assert.equal(await talker.next(), "talker: still here");
    await talker.leave();
    server.close();
    await server.waitClosed();
    await sleep(0);
  });
});
