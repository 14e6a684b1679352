/**
 * Processing a directory of files concurrently: every file is read line
 * by line through a `FileReader` (the same stream API as a socket), at
 * most four at a time (a `Semaphore`), counting lines and words and
 * computing a checksum; then a report is written through a file
 * `StreamWriter` with `write` + `drain`.
 *
 * The Python it mirrors (with aiofiles):
 *
 * ```python
 * async def count(path, slots):
 *     async with slots:                          # at most 4 files open
 *         async with aiofiles.open(path) as f:
 *             async for line in f:
 *                 ...
 *
 * async def main(directory):
 *     slots = asyncio.Semaphore(4)
 *     async with asyncio.TaskGroup() as tg:
 *         tasks = [tg.create_task(count(p, slots)) for p in sorted(directory.iterdir())]
 *     async with aiofiles.open(directory / "report.txt", "w") as out:
 *         for t in tasks:
 *             await out.write(format(t.result()))
 * ```
 *
 * Run: `deno task example file_io`, or
 * `deno run --allow-read=examples/data --allow-write=examples/data examples/file_io.ts`
 * from the repository root. It creates a sample directory under
 * `examples/data/`, and deletes it at the end.
 */
import { openReader, openWriter, run, Semaphore, taskGroup } from "../mod.ts";

/** What is counted for one file. */
export interface FileStats {
  readonly name: string;
  readonly lines: number;
  readonly words: number;
  readonly bytes: number;
  /** FNV-1a over the file's bytes, as 8 hex digits. */
  readonly checksum: string;
}

/** Options for `main`. */
export interface FileIoOptions {
  /** Where to make the sample directory: `examples/data` by default. */
  readonly root?: string;
  /** How many files are open at once: 4 by default. */
  readonly concurrency?: number;
  /** Print the report: `true` by default. */
  readonly verbose?: boolean;
}

const WORDS = ["asyncio", "deno", "stream", "task", "loop", "future", "lock"];

/** Writes `count` sample files of different sizes into `dir`. */
export async function makeSamples(dir: string, count: number): Promise<void> {
  await taskGroup(async (tg) => {
    for (let i = 0; i < count; i++) {
      tg.createTask(async () => {
        await using out = await openWriter(`${dir}/sample-${i}.txt`);
        for (let line = 0; line < 500 * (i + 1); line++) {
          const n = 1 + ((line * 7 + i) % 6);
          const words = Array.from(
            { length: n },
            (_, w) => WORDS[(line + w + i) % WORDS.length],
          );
          out.write(words.join(" ") + "\n");
          await out.drain();
        }
      });
    }
  });
}

/** Counts one file, line by line. */
export async function countFile(path: string): Promise<FileStats> {
  let lines = 0;
  let words = 0;
  let bytes = 0;
  let hash = 0x811c9dc5;
  const decoder = new TextDecoder();
  await using reader = await openReader(path);
  for await (const line of reader) {
    lines++;
    bytes += line.length;
    for (const byte of line) hash = Math.imul(hash ^ byte, 0x01000193);
    const text = decoder.decode(line).trim();
    if (text !== "") words += text.split(/\s+/).length;
  }
  return {
    name: path.slice(path.lastIndexOf("/") + 1),
    lines,
    words,
    bytes,
    checksum: (hash >>> 0).toString(16).padStart(8, "0"),
  };
}

/**
 * Makes a sample directory, counts its files concurrently, writes
 * `report.txt` into it, and deletes it.
 *
 * @param options Where, how many at once, and whether to print.
 * @returns The stats, sorted by name, and the report's text.
 */
export async function main(
  options: FileIoOptions = {},
): Promise<{ stats: FileStats[]; report: string; maxOpen: number }> {
  const root = options.root ??
    new URL("./data/", import.meta.url).pathname.replace(/\/$/, "");
  const slots = new Semaphore(options.concurrency ?? 4);
  await Deno.mkdir(root, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: root, prefix: "file_io-" });
  try {
    await makeSamples(dir, 8);
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile) names.push(entry.name);
    }
    names.sort();

    let open = 0;
    let maxOpen = 0;
    const stats = await taskGroup(async (tg) => {
      const tasks = names.map((name) =>
        tg.createTask(async () => {
          using _ = await slots.hold();
          maxOpen = Math.max(maxOpen, ++open);
          try {
            return await countFile(`${dir}/${name}`);
          } finally {
            open--;
          }
        })
      );
      return tasks;
    }).then((tasks) => tasks.map((task) => task.result()));

    const lines = stats.map((s) =>
      `${s.name.padEnd(16)} ${String(s.lines).padStart(6)} lines ` +
      `${String(s.words).padStart(7)} words ${
        String(s.bytes).padStart(8)
      } bytes  ${s.checksum}`
    );
    const total = stats.reduce((sum, s) => sum + s.words, 0);
    lines.push(
      `${stats.length} files, ${total} words, at most ${maxOpen} open at once`,
    );
    {
      await using out = await openWriter(`${dir}/report.txt`);
      for (const line of lines) {
        out.write(line + "\n");
        await out.drain();
      }
    }
    const report = await Deno.readTextFile(`${dir}/report.txt`);
    if (options.verbose !== false) console.log(report.trimEnd());
    return { stats, report, maxOpen };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await run(() => main());
