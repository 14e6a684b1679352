/**
 * Web scraping: crawl a small site breadth-first, fetching several pages
 * at once. A `Queue` holds the links to visit (FIFO, so breadth-first); a
 * `Semaphore` bounds how many fetches run at once; each page gets its own
 * deadline with `timeout()`, and `fetch` gets the task's `signal`, so a
 * page that times out is really aborted. The site is served locally by
 * `Deno.serve`, so the example runs offline; one of its pages never
 * answers, and one link is broken.
 *
 * The asyncio original (with aiohttp) would be:
 *
 * ```python
 * async def fetch_page(session, url):
 *     async with semaphore:
 *         async with asyncio.timeout(1):
 *             async with session.get(url) as response:
 *                 return await response.text()
 * ```
 *
 * Run: `deno run --allow-net=127.0.0.1 examples/web_scraping.ts`.
 */
import {
  currentTask,
  Queue,
  run,
  Semaphore,
  taskGroup,
  timeout,
  TimeoutError,
} from "../mod.ts";

/** The local site: page path -> the links on it. */
export const SITE: Readonly<Record<string, readonly string[]>> = {
  "/": ["/news", "/products", "/about"],
  "/news": ["/news/1", "/news/2", "/"],
  "/products": ["/products/a", "/products/b", "/slow", "/missing"],
  "/about": ["/", "https://example.com/elsewhere"],
  "/news/1": ["/news/2"],
  "/news/2": ["/news/1", "/products/a"],
  "/products/a": ["/products/b"],
  "/products/b": [],
};

/** Serves SITE on 127.0.0.1; `/slow` sends its headers, never its body. */
export function serveSite(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/slow") {
        // A body that never comes: the stream is cancelled when the client
        // aborts.
        return new Response(new ReadableStream({ start() {} }));
      }
      const links = SITE[path];
      if (links === undefined) {
        return new Response("Not found", { status: 404 });
      }
      const anchors = links.map((href) => `<a href="${href}">${href}</a>`);
      return new Response(
        `<html><title>${path}</title><body>${anchors.join(" ")}</body></html>`,
        { headers: { "content-type": "text/html" } },
      );
    },
  );
}

/** What happened to one page. */
export interface PageResult {
  readonly url: string;
  readonly depth: number;
  readonly outcome: string;
}

/** Options for `crawl`. */
export interface CrawlOptions {
  /** Fetches at once. */
  concurrency?: number;
  /** The deadline of each page, in ms. */
  pageTimeout?: number;
  /** Stop adding pages after this many. */
  maxPages?: number;
}

const LINK = /href="([^"]+)"/g;

/**
 * Crawls the pages of `start`'s origin breadth-first and returns what
 * happened to each, in the order they were queued.
 */
export async function crawl(
  start: string,
  options?: CrawlOptions,
): Promise<PageResult[]> {
  const { concurrency = 3, pageTimeout = 1000, maxPages = 50 } = options ?? {};
  const origin = new URL(start).origin;
  const queue = new Queue<{ url: string; depth: number }>();
  const semaphore = new Semaphore(concurrency);
  const seen = new Set([start]);
  const results = new Map<string, PageResult>();
  queue.putNowait({ url: start, depth: 0 });

  const visit = async (url: string, depth: number) => {
    let outcome: string;
    try {
      using _permit = await semaphore.hold();
      const html = await timeout(pageTimeout, async () => {
        // The task's signal aborts the request when the deadline cancels it.
        const response = await fetch(url, { signal: currentTask()!.signal });
        const body = await response.text();
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return body;
      });
      const links = [...html.matchAll(LINK)].map((m) => new URL(m[1], url));
      let added = 0;
      for (const link of links) {
        if (link.origin !== origin || seen.has(link.href)) continue;
        if (seen.size >= maxPages) break;
        seen.add(link.href);
        queue.putNowait({ url: link.href, depth: depth + 1 });
        added++;
      }
      outcome = `${links.length} links, ${added} new`;
    } catch (error) {
      if (error instanceof TimeoutError) {
        outcome = `timed out after ${pageTimeout} ms`;
      } else if (error instanceof Error) outcome = `failed: ${error.message}`;
      else throw error;
    } finally {
      queue.taskDone();
    }
    results.set(url, { url, depth, outcome });
  };

  await taskGroup(async (group) => {
    // When every queued page is done, nothing more can come: stop.
    group.createTask(async () => {
      await queue.join();
      queue.shutdown();
    });
    for await (const { url, depth } of queue) {
      group.createTask(() => visit(url, depth));
    }
  });
  return [...seen].map((url) => results.get(url)!);
}

export async function main(): Promise<void> {
  const site = serveSite();
  const start = `http://127.0.0.1:${site.addr.port}/`;
  try {
    const results = await crawl(start, { concurrency: 3, pageTimeout: 500 });
    for (const { url, depth, outcome } of results) {
      const path = new URL(url).pathname;
      console.log(`${"  ".repeat(depth)}${path} (depth ${depth}): ${outcome}`);
    }
    console.log(`${results.length} pages visited`);
  } finally {
    await site.shutdown();
  }
}

if (import.meta.main) await run(main);
