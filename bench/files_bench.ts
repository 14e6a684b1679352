/**
 * File throughput: the file streams against raw `Deno.open` loops, and
 * the whole-file helper against `Deno.readFile`, in one run, so the
 * ratios compare like with like.
 *
 * 1. Copy a 256 MiB file: `openReader` + `openWriter` (`write`, `drain`,
 *    default water marks) reading with `readInto(buffer)` (one
 *    reused buffer, as the raw loop) and with `read(n)` (a new array per
 *    chunk, as asyncio's `bytes`), vs a raw `file.read(buf)` /
 *    `file.write` loop with the same 256 KiB chunks.
 * 2. Read 2,000 small files (4 KiB) concurrently: `gather` of `readFile`
 *    vs `Promise.all` of `Deno.readFile` (without and with the abort
 *    signal that makes `readFile` cancellable), and `gather` of
 *    `openReader(...).read()` vs `Promise.all` of the same `Deno.open` +
 *    read loop.
 *
 * Run from the repository root (it writes only under `bench/.tmp`):
 *
 *     deno run --allow-read=bench/.tmp --allow-write=bench/.tmp bench/files_bench.ts
 *
 * Each case runs 5 times, interleaved, so that load elsewhere on the
 * machine hits them alike; the best time counts.
 *
 * `compare.ts` runs each case as a cell of its own instead, in a fresh
 * process: `files_bench.ts prepare DIR [--quick]` writes the files once,
 * then `files_bench.ts cell CASE DIR [--quick]` runs one case once to warm
 * up and once measured, and prints `{ "value": MiB/s or files/s }`.
 * `--quick` copies 32 MiB and reads 200 small files.
 */
import { gather, openReader, openWriter, readFile, run } from "../mod.ts";

const MiB = 1024 * 1024;
const BIG = 256 * MiB;
const CHUNK = 256 * 1024;
const SMALL_COUNT = 2000;
const SMALL_SIZE = 4096;
const ROUNDS = 5;

async function makeBig(path: string, size: number = BIG): Promise<void> {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const block = new Uint8Array(MiB).map((_, i) => i % 251);
  for (let written = 0; written < size; written += MiB) {
    let off = 0;
    while (off < block.length) off += await file.write(block.subarray(off));
  }
}

async function rawCopy(src: string, dst: string): Promise<number> {
  using input = await Deno.open(src);
  using output = await Deno.open(dst, {
    write: true,
    create: true,
    truncate: true,
  });
  const buf = new Uint8Array(CHUNK);
  let total = 0;
  for (;;) {
    const n = await input.read(buf);
    if (n === null) break;
    let off = 0;
    while (off < n) off += await output.write(buf.subarray(off, n));
    total += n;
  }
  return total;
}

/** What `openReader(path).read()` does, with Deno alone. */
async function rawReadAll(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const chunk = new Uint8Array(16 * 1024);
    const n = await file.read(chunk);
    if (n === null) break;
    chunks.push(chunk.subarray(0, n));
    size += n;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

function streamCopy(
  src: string,
  dst: string,
  reuse: boolean,
): Promise<number> {
  return run(async () => {
    const reader = await openReader(src);
    // The default water marks: drain() waits for each 256 KiB chunk, as
    // the raw loop does. A high-water mark above the chunk lets the next
    // read overlap the last write; on 2 cores that made runs no faster at
    // best and far slower at the median (the three threads compete).
    const writer = await openWriter(dst);
    const buffer = new Uint8Array(CHUNK);
    let total = 0;
    for (;;) {
      let chunk: Uint8Array;
      if (reuse) {
        const n = await reader.readInto(buffer);
        if (n === null) break;
        chunk = buffer.subarray(0, n);
      } else {
        chunk = await reader.read(CHUNK);
        if (chunk.length === 0) break;
      }
      writer.write(chunk);
      await writer.drain();
      total += chunk.length;
    }
    writer.close();
    await writer.waitClosed();
    return total;
  });
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function row(name: string, ms: number, unit: string, value: number): string {
  return `${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms  ${
    value.toFixed(0).padStart(8)
  } ${unit}`;
}

/** The cases `compare.ts` runs, each in its own process. */
export const CASES: Record<
  string,
  (dir: string, quick: boolean) => Promise<number>
> = {
  "copy-raw": (dir, quick) => copyRate(dir, quick, rawCopy),
  "copy-readinto": (dir, quick) =>
    copyRate(dir, quick, (src, dst) => streamCopy(src, dst, true)),
  "copy-read": (dir, quick) =>
    copyRate(dir, quick, (src, dst) => streamCopy(src, dst, false)),
  "readfile-raw": (dir, quick) =>
    smallRate(
      dir,
      quick,
      (names) => Promise.all(names.map((n) => Deno.readFile(n))),
    ),
  "readfile-signal": (dir, quick) =>
    smallRate(dir, quick, (names) =>
      Promise.all(
        names.map((n) =>
          Deno.readFile(n, { signal: new AbortController().signal })
        ),
      )),
  "readfile-module": (dir, quick) =>
    smallRate(
      dir,
      quick,
      (names) => run(() => gather(names.map((n) => readFile(n)))),
    ),
  "open-raw": (dir, quick) =>
    smallRate(dir, quick, (names) => Promise.all(names.map(rawReadAll))),
  "open-module": (dir, quick) =>
    smallRate(dir, quick, (names) =>
      run(() =>
        gather(names.map(async (n) => {
          await using reader = await openReader(n);
          return await reader.read();
        }))
      )),
};

function sizes(quick: boolean): { big: number; count: number } {
  return quick
    ? { big: BIG / 8, count: SMALL_COUNT / 10 }
    : { big: BIG, count: SMALL_COUNT };
}

/** Writes the big file and the small ones under `dir`. */
export async function prepare(dir: string, quick: boolean): Promise<void> {
  const { big, count } = sizes(quick);
  await makeBig(`${dir}/big.bin`, big);
  const small = new Uint8Array(SMALL_SIZE).fill(7);
  for (let i = 0; i < count; i++) {
    await Deno.writeFile(`${dir}/small-${i}.bin`, small);
  }
}

async function copyRate(
  dir: string,
  quick: boolean,
  copy: (src: string, dst: string) => Promise<number>,
): Promise<number> {
  const src = `${dir}/big.bin`;
  const dst = `${dir}/copy.bin`;
  try {
    await copy(src, dst); // warm-up
    const bytes = sizes(quick).big;
    return (bytes / MiB) / (await timeIt(() => copy(src, dst)) / 1000);
  } finally {
    await Deno.remove(dst).catch(() => {});
  }
}

async function smallRate(
  dir: string,
  quick: boolean,
  read: (names: string[]) => Promise<unknown>,
): Promise<number> {
  const { count } = sizes(quick);
  const names = Array.from(
    { length: count },
    (_, i) => `${dir}/small-${i}.bin`,
  );
  await read(names); // warm-up
  return count / (await timeIt(() => read(names)) / 1000);
}

export async function main(): Promise<void> {
  const root = new URL("./.tmp/", import.meta.url).pathname;
  await Deno.mkdir(root, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: root, prefix: "files_bench-" });
  try {
    const src = `${dir}/big.bin`;
    const dst = `${dir}/copy.bin`;
    await makeBig(src);
    let raw = Infinity;
    let reuse = Infinity;
    let fresh = Infinity;
    for (let i = 0; i < ROUNDS; i++) {
      raw = Math.min(raw, await timeIt(() => rawCopy(src, dst)));
      reuse = Math.min(reuse, await timeIt(() => streamCopy(src, dst, true)));
      fresh = Math.min(fresh, await timeIt(() => streamCopy(src, dst, false)));
    }
    const mibs = (ms: number) => (BIG / MiB) / (ms / 1000);
    console.log(
      `Copy ${BIG / MiB} MiB in ${CHUNK / 1024} KiB chunks (best of ${ROUNDS})`,
    );
    console.log(row("raw Deno.open read/write loop", raw, "MiB/s", mibs(raw)));
    console.log(
      row("streams, readInto(buffer) + write", reuse, "MiB/s", mibs(reuse)),
    );
    console.log(row("streams, read(n) + write", fresh, "MiB/s", mibs(fresh)));
    console.log(`  readInto / raw throughput: ${(raw / reuse).toFixed(3)}`);
    console.log(`  read(n) / raw throughput: ${(raw / fresh).toFixed(3)}`);
    await Deno.remove(src);
    await Deno.remove(dst);

    const names: string[] = [];
    const small = new Uint8Array(SMALL_SIZE).fill(7);
    for (let i = 0; i < SMALL_COUNT; i++) {
      const name = `${dir}/small-${i}.bin`;
      await Deno.writeFile(name, small);
      names.push(name);
    }
    let rawAll = Infinity;
    let rawSignal = Infinity;
    let helper = Infinity;
    let rawOpen = Infinity;
    let readers = Infinity;
    for (let i = 0; i < ROUNDS; i++) {
      rawAll = Math.min(
        rawAll,
        await timeIt(() => Promise.all(names.map((n) => Deno.readFile(n)))),
      );
      rawSignal = Math.min(
        rawSignal,
        await timeIt(() =>
          Promise.all(
            names.map((n) =>
              Deno.readFile(n, { signal: new AbortController().signal })
            ),
          )
        ),
      );
      helper = Math.min(
        helper,
        await timeIt(() => run(() => gather(names.map((n) => readFile(n))))),
      );
      rawOpen = Math.min(
        rawOpen,
        await timeIt(() => Promise.all(names.map(rawReadAll))),
      );
      readers = Math.min(
        readers,
        await timeIt(() =>
          run(() =>
            gather(names.map(async (n) => {
              await using reader = await openReader(n);
              return await reader.read();
            }))
          )
        ),
      );
    }
    const perSec = (ms: number) => SMALL_COUNT / (ms / 1000);
    console.log(
      `\nRead ${SMALL_COUNT} files of ${
        SMALL_SIZE / 1024
      } KiB concurrently (best of ${ROUNDS})`,
    );
    console.log(
      row("Promise.all(Deno.readFile)", rawAll, "files/s", perSec(rawAll)),
    );
    console.log(
      row(
        "Promise.all(Deno.readFile + signal)",
        rawSignal,
        "files/s",
        perSec(rawSignal),
      ),
    );
    console.log(
      row("gather(readFile) in run()", helper, "files/s", perSec(helper)),
    );
    console.log(
      row(
        "Promise.all(Deno.open + read loop)",
        rawOpen,
        "files/s",
        perSec(
          rawOpen,
        ),
      ),
    );
    console.log(
      row(
        "gather(openReader().read()) in run()",
        readers,
        "files/s",
        perSec(readers),
      ),
    );
    console.log(`  readFile / raw throughput: ${(rawAll / helper).toFixed(3)}`);
    console.log(
      `  readFile / raw with signal throughput: ${
        (rawSignal / helper).toFixed(3)
      }`,
    );
    console.log(
      `  openReader / Deno.open loop throughput: ${
        (rawOpen / readers).toFixed(3)
      }`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const [mode, name, dir] = Deno.args;
  const quick = Deno.args.includes("--quick");
  if (mode === "prepare") {
    await prepare(name, quick);
  } else if (mode === "cell") {
    const measure = CASES[name];
    if (measure === undefined) {
      throw new TypeError(`Cannot run a cell: unknown case: ${name}`);
    }
    console.log(JSON.stringify({ value: await measure(dir, quick) }));
  } else {
    await main();
  }
}
